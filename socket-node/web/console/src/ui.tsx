// Small pieces every page uses: labelled fields, a form's error line, page frames, an action that
// keeps its error, a copy button, a confirmation, a redraw on what the live connection hears.

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { sentence } from "./errors";
import { live } from "./live";
import { strings } from "./strings";

export function Field(
  props: {
    label: string;
    hint?: string;
    error?: string | undefined;
  } & JSX.InputHTMLAttributes<HTMLInputElement>,
) {
  const { label, hint, error, id, ...input } = props;
  const name = id ?? `f-${label.toLowerCase().replace(/\W+/g, "-")}`;
  const described = [hint && `${name}-hint`, error && `${name}-error`].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <input
        id={name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      {hint && (
        <p class="hint" id={`${name}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${name}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** What went wrong with the whole form, announced to screen readers. */
export function FormError({ text }: { text: string | null }) {
  return text ? (
    <p class="form-error" role="alert">
      {text}
    </p>
  ) : null;
}

export function AuthFrame({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth">
      <div class="auth-card">
        <p class="brand">{strings.common.brand}</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** A labelled multi-line field (one entry per line, say), with its hint and its error. */
export function Area(
  props: {
    label: string;
    hint?: string;
    error?: string | undefined;
  } & JSX.TextareaHTMLAttributes<HTMLTextAreaElement>,
) {
  const { label, hint, error, id, ...area } = props;
  const name = id ?? `f-${label.toLowerCase().replace(/\W+/g, "-")}`;
  const described = [hint && `${name}-hint`, error && `${name}-error`].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={name}>{label}</label>
      {hint && (
        <p class="hint" id={`${name}-hint`}>
          {hint}
        </p>
      )}
      <textarea
        id={name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
        {...area}
      />
      {error && (
        <p class="field-error" id={`${name}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * Runs an action, keeping whether it is busy and what went wrong, as a sentence. The error is the
 * thrown value itself too, so a form can put a refused field's sentence next to that field.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (...args: A) => {
    setBusy(true);
    setFailure(null);
    try {
      await action(...args);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, failure, clear: () => setFailure(null) };
}

/** A button that copies `text`; says so when it did (or how to, when the browser refused). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <span class="copy">
      <button type="button" class="small" onClick={copy}>
        {label}
      </button>
      <span role="status" class="muted">
        {copied === true ? strings.common.copied : copied === false ? strings.common.copyFailed : ""}
      </span>
    </span>
  );
}

/** Asks before something that cannot be undone; the question names what will happen. */
export function Confirm(props: {
  question: string;
  yes: string;
  onYes: () => void;
  onNo: () => void;
  busy?: boolean;
}) {
  const id = `q-${props.yes.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <div class="confirm" role="alertdialog" aria-labelledby={id}>
      <p id={id}>{props.question}</p>
      <button type="button" class="danger" onClick={props.onYes} disabled={props.busy}>
        {props.yes}
      </button>
      <button type="button" onClick={props.onNo}>
        {strings.common.cancel}
      </button>
    </div>
  );
}

/** A page of the admin area: its title and what it is for. */
export function AdminFrame(props: { title: string; intro: string; children: ComponentChildren }) {
  return (
    <main class="admin">
      <h1>{props.title}</h1>
      <p class="intro muted">{props.intro}</p>
      {props.children}
    </main>
  );
}

/** An admin page while what it shows loads, or the reason it could not. */
export function AdminPending(props: { title: string; intro: string; failure: unknown }) {
  return (
    <AdminFrame title={props.title} intro={props.intro}>
      {props.failure ? (
        <FormError text={sentence(props.failure)} />
      ) : (
        <p class="muted">{strings.common.loading}</p>
      )}
    </AdminFrame>
  );
}

/** Loads what a page shows; `reload` loads it again, `set` replaces it after a change. */
export function useLoad<T>(load: () => Promise<T>) {
  const [data, setData] = useState<T | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setData(value),
      (error) => current && setFailure(error),
    );
    return () => {
      current = false;
    };
  }, [round]);
  return { data, failure, reload: () => setRound((n) => n + 1), set: setData };
}

/** Draws again whenever the live connection hears something (and every `tickMs`, if given). */
export function useLive(tickMs?: number) {
  const [, redraw] = useState(0);
  useEffect(() => {
    const unsubscribe = live.subscribe(() => redraw((n) => n + 1));
    redraw((n) => n + 1); // what arrived before this effect ran
    return () => {
      unsubscribe();
    };
  }, []);
  useEffect(() => {
    if (!tickMs) return;
    const tick = window.setInterval(() => redraw((n) => n + 1), tickMs);
    return () => clearInterval(tick);
  }, [tickMs]);
}
