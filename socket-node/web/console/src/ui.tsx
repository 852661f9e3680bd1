// Small pieces every page uses: a labelled field, a form's error line, a page frame.

import type { ComponentChildren, JSX } from "preact";

export function Field(
  props: { label: string; error?: string | undefined } & JSX.InputHTMLAttributes<HTMLInputElement>,
) {
  const { label, error, id, ...input } = props;
  const name = id ?? `f-${label.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <input
        id={name}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${name}-error` : undefined}
        {...input}
      />
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
        <p class="brand">Parley</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
