// The chat panel: header, pre-chat form, the conversation, the composer, and the notices. It is
// built once and updated in place on every change, so focus, scroll and what a screen reader
// has announced are kept; new messages are appended to an ARIA live log.

import type { ChatMessage } from "../../../shared/chat";
import { RULES, type WidgetConfig } from "../protocol";
import { format, type Strings } from "../strings";
import type { Conversation } from "./conversation";
import { h, linkified } from "./dom";
import type { Pending } from "./store";

export interface Actions {
  close(): void;
  start(name: string, email: string): void;
  send(text: string): boolean;
  typing(): void;
  endChat(transcript: boolean): void;
  transcript(): void;
  startNew(): void;
}

const CLOSE_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
const END_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 16l-4-4 4-4M6 12h10"/></svg>';

export class Panel {
  readonly element: HTMLElement;
  private readonly title = h("h2", { id: "parley-title" });
  private readonly subtitle = h("p", { class: "subtitle" });
  private readonly endButton: HTMLButtonElement;
  private readonly banner = h("p", { class: "banner", role: "status" });
  /** Kept in the page while empty, so a screen reader hears each new place in the queue. */
  private readonly queue = h("div", { class: "queue", "aria-live": "polite", "aria-atomic": "true" });
  private readonly form: HTMLFormElement;
  private readonly nameInput: HTMLInputElement;
  private readonly emailInput: HTMLInputElement;
  private readonly nameError = h("p", { class: "field-error", id: "parley-name-error" });
  private readonly emailError = h("p", { class: "field-error", id: "parley-email-error" });
  private readonly startButton: HTMLButtonElement;
  private readonly log: HTMLOListElement;
  private readonly logBox: HTMLDivElement;
  private readonly body = h("div", { class: "body" });
  private readonly typingLine = h("p", { class: "typing", "aria-live": "polite" });
  private readonly footer = h("footer");
  private readonly composer: HTMLFormElement;
  private readonly textarea: HTMLTextAreaElement;
  private readonly transcriptButton: HTMLButtonElement;
  private readonly transcriptNote: HTMLParagraphElement;
  private readonly ended: HTMLDivElement;
  private readonly endedText = h("p");
  private readonly confirm: HTMLDivElement;
  private readonly confirmTranscript: HTMLInputElement;
  private readonly items = new Map<string, HTMLLIElement>();

  constructor(
    private readonly t: Strings,
    config: WidgetConfig,
    private readonly actions: Actions,
  ) {
    const side = config.settings.position === "bottom-left" ? "left" : "right";
    this.endButton = h("button", {
      type: "button",
      class: "icon",
      "aria-label": t.endChat,
      title: t.endChat,
    });
    this.endButton.innerHTML = END_ICON;
    this.endButton.addEventListener("click", () => this.askToEnd());
    const closeButton = h("button", {
      type: "button",
      class: "icon",
      "aria-label": t.closeChat,
      title: t.closeChat,
    });
    closeButton.innerHTML = CLOSE_ICON;
    closeButton.addEventListener("click", () => actions.close());

    this.nameInput = h("input", {
      id: "parley-name",
      type: "text",
      autocomplete: "name",
      maxlength: RULES.nameMaxChars,
      "aria-describedby": "parley-name-error",
    });
    this.emailInput = h("input", {
      id: "parley-email",
      type: "email",
      autocomplete: "email",
      maxlength: RULES.emailMaxChars,
      "aria-describedby": "parley-email-error",
    });
    this.startButton = h("button", { type: "submit", class: "primary" }, t.startChat);
    this.form = h(
      "form",
      { class: "prechat", novalidate: true, onsubmit: (e: Event) => this.submitForm(e) },
      h("p", { class: "intro" }, t.formIntro),
      h("label", { for: "parley-name" }, t.name),
      this.nameInput,
      this.nameError,
      h("label", { for: "parley-email" }, t.email),
      this.emailInput,
      this.emailError,
      this.startButton,
    );

    this.log = h("ol", { class: "log" });
    this.logBox = h("div", { role: "log", "aria-live": "polite", "aria-label": t.conversation }, this.log);
    this.body.append(this.form, this.logBox);

    this.textarea = h("textarea", {
      rows: 1,
      "aria-label": t.message,
      placeholder: t.messagePlaceholder,
      oninput: () => actions.typing(),
      onkeydown: (e: Event) => {
        const key = e as KeyboardEvent;
        if (key.key === "Enter" && !key.shiftKey && !key.isComposing) {
          e.preventDefault();
          this.submitMessage();
        }
      },
    });
    this.composer = h(
      "form",
      {
        class: "composer",
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.submitMessage();
        },
      },
      this.textarea,
      h("button", { type: "submit", class: "send" }, t.send),
    );
    this.transcriptButton = h(
      "button",
      { type: "button", class: "link", onclick: () => actions.transcript() },
      t.transcript,
    );
    this.transcriptNote = h("p", { class: "note" }, t.transcriptRequested);
    this.ended = h(
      "div",
      { class: "ended" },
      this.endedText,
      h("button", { type: "button", class: "primary", onclick: () => actions.startNew() }, t.startNew),
    );
    this.footer.append(this.composer, this.transcriptButton, this.ended, this.transcriptNote);

    this.confirmTranscript = h("input", { type: "checkbox", id: "parley-confirm-transcript" });
    this.confirm = h(
      "div",
      {
        class: "confirm",
        role: "alertdialog",
        "aria-modal": "true",
        "aria-labelledby": "parley-confirm-q",
        hidden: true,
      },
      h(
        "div",
        { class: "card" },
        h("p", { id: "parley-confirm-q" }, t.endQuestion),
        h("label", {}, this.confirmTranscript, t.transcript),
        h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: () => {
              this.confirm.hidden = true;
              actions.endChat(this.confirmTranscript.checked);
            },
          },
          t.endChat,
        ),
        h("button", { type: "button", class: "secondary", onclick: () => this.cancelEnd() }, t.keepChatting),
      ),
    );

    this.element = h(
      "section",
      {
        class: `panel ${side}`,
        role: "dialog",
        "aria-modal": "true",
        "aria-labelledby": "parley-title",
        hidden: true,
        onkeydown: (e: Event) => this.keydown(e as KeyboardEvent),
      },
      h("header", {}, h("div", { class: "titles" }, this.title, this.subtitle), this.endButton, closeButton),
      this.banner,
      this.queue,
      this.body,
      this.typingLine,
      this.footer,
      this.confirm,
    );
    this.title.textContent = config.name;
  }

  render(c: Conversation, config: WidgetConfig) {
    const t = this.t;
    const saved = c.saved;
    const inForm = !saved || c.phase === "form" || c.phase === "starting";
    this.title.textContent = saved?.agent?.name ?? config.name;
    this.subtitle.textContent = saved?.agent ? config.name : t.waitingForAgent;
    this.endButton.hidden = c.phase !== "live";

    const banner = c.notice ? t[c.notice] : c.phase === "reconnecting" ? t.reconnecting : "";
    this.banner.textContent = banner;
    this.banner.hidden = !banner;

    this.renderQueue(saved?.status === "waiting" && !c.ending ? c.queue : null);

    this.form.hidden = !inForm;
    this.logBox.hidden = inForm;
    this.startButton.disabled = c.phase === "starting";
    this.startButton.textContent = c.phase === "starting" ? t.starting : t.startChat;
    if (inForm && !this.nameInput.value && !this.emailInput.value) {
      this.nameInput.value = c.visitor.name;
      this.emailInput.value = c.visitor.email;
    }

    this.typingLine.textContent = c.agentTyping ? format(t.typing, { name: c.agentTyping }) : "";
    this.footer.hidden = inForm;
    this.composer.hidden = Boolean(c.ending);
    this.ended.hidden = !c.ending;
    this.endedText.textContent = c.ending ? t[ENDINGS[c.ending]] : "";
    const live = !c.ending && Boolean(saved);
    this.transcriptButton.hidden = !live || Boolean(saved?.transcriptRequested) || c.phase !== "live";
    this.transcriptNote.hidden = !saved?.transcriptRequested;
    this.transcriptNote.textContent = c.ending ? t.transcriptOnItsWay : t.transcriptRequested;
    if (c.ending) this.confirm.hidden = true;
    if (saved) this.renderLog(saved.messages, saved.outbox, saved.agentReadSeq);
  }

  /** Where focus goes when the panel opens. */
  focus() {
    const target = !this.form.hidden ? this.nameInput : !this.composer.hidden ? this.textarea : this.element;
    (target.isConnected && !target.hidden ? target : this.element).focus();
  }

  scrollToEnd() {
    this.body.scrollTop = this.body.scrollHeight;
  }

  /** The panel is on screen and scrolled to its end: what it shows has been seen. */
  showsLatest(): boolean {
    return !this.element.hidden && this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < 40;
  }

  /** "You are number 2 in line" and the typical wait, while the chatroom waits for an agent. */
  private renderQueue(queue: Conversation["queue"]) {
    const t = this.t;
    const place = queue ? format(t.queuePosition, { position: queue.position }) : "";
    const wait = queue ? typicalWait(queue.estimatedWaitMs, t) : "";
    const shown = `${place}|${wait}`;
    if (this.queue.dataset.shown === shown) return;
    this.queue.dataset.shown = shown;
    this.queue.replaceChildren();
    if (!queue) return;
    this.queue.append(
      h("span", { class: "place", "aria-hidden": "true" }, String(queue.position)),
      h("p", {}, h("strong", {}, place), wait && h("span", {}, wait)),
    );
  }

  private renderLog(messages: ChatMessage[], outbox: Pending[], agentReadSeq: number) {
    const atEnd = this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < 40;
    const wanted = new Set<string>();
    let cursor: ChildNode | null = this.log.firstChild;
    const place = (key: string, kind: string, name: string, text: string) => {
      wanted.add(key);
      let item = this.items.get(key);
      if (!item) {
        item = this.item(kind, name, text);
        this.items.set(key, item);
      }
      if (item === cursor) cursor = cursor.nextSibling;
      else this.log.insertBefore(item, cursor);
      return item;
    };
    for (const m of messages) {
      const mine = m.sender.kind === "visitor";
      // The visitor's own messages keep their element from "sending" to "read".
      const key = mine && m.clientMsgId ? `c:${m.clientMsgId}` : `s:${m.seq}`;
      const item = place(key, m.sender.kind, m.sender.name, m.text);
      item.dataset.seq = String(m.seq);
      this.meta(item, time(m.sentAt), mine ? (agentReadSeq >= m.seq ? "read" : "sent") : "");
    }
    for (const p of outbox) this.meta(place(`c:${p.clientMsgId}`, "visitor", "", p.text), "", "sending");
    for (const [key, item] of this.items) {
      if (!wanted.has(key)) {
        item.remove();
        this.items.delete(key);
      }
    }
    if (atEnd || outbox.length) this.body.scrollTop = this.body.scrollHeight;
  }

  private item(kind: string, name: string, text: string): HTMLLIElement {
    const mine = kind === "visitor";
    return h(
      "li",
      { class: `msg ${mine ? "mine" : kind}` },
      kind === "agent"
        ? h("span", { class: "who" }, name)
        : h("span", { class: "sr" }, `${mine ? this.t.you : name}:`),
      h("div", { class: "bubble" }, linkified(text)),
      h("span", { class: "meta" }),
    );
  }

  /** The time under a message and, for the visitor's own, its delivery state. */
  private meta(item: HTMLLIElement, at: string, state: "" | "sending" | "sent" | "read") {
    if (item.dataset.state === state && item.dataset.time === at) return;
    item.dataset.time = at;
    if (state) item.dataset.state = state;
    const meta = item.lastElementChild as HTMLElement;
    meta.replaceChildren(at);
    if (!state) return;
    const tick = { sending: "…", sent: "✓", read: "✓✓" }[state];
    meta.append(" ", h("span", { "aria-hidden": "true" }, tick), h("span", { class: "sr" }, this.t[state]));
  }

  private submitForm(event: Event) {
    event.preventDefault();
    const name = this.nameInput.value.trim();
    const email = this.emailInput.value.trim();
    const nameProblem = validName(name, this.t);
    const emailProblem = validEmail(email) ? "" : this.t.emailInvalid;
    this.nameError.textContent = nameProblem;
    this.emailError.textContent = emailProblem;
    this.nameInput.setAttribute("aria-invalid", String(Boolean(nameProblem)));
    this.emailInput.setAttribute("aria-invalid", String(Boolean(emailProblem)));
    if (nameProblem) return this.nameInput.focus();
    if (emailProblem) return this.emailInput.focus();
    this.actions.start(name, email);
  }

  private submitMessage() {
    const text = this.textarea.value.trim();
    if (text && this.actions.send(text)) this.textarea.value = "";
    this.textarea.focus();
  }

  private askToEnd() {
    this.confirm.hidden = false;
    this.confirmTranscript.focus();
  }

  private cancelEnd() {
    this.confirm.hidden = true;
    this.endButton.focus();
  }

  /** Escape closes (the confirmation first); Tab stays inside the panel while it is open. */
  private keydown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.stopPropagation();
      if (!this.confirm.hidden) this.cancelEnd();
      else this.actions.close();
      return;
    }
    if (event.key !== "Tab") return;
    const scope = this.confirm.hidden ? this.element : this.confirm;
    const focusable = [...scope.querySelectorAll<HTMLElement>("button, input, textarea, a[href]")].filter(
      (el) => !el.closest("[hidden]") && !(el as HTMLButtonElement).disabled,
    );
    const first = focusable[0];
    const last = focusable.at(-1);
    const active = (this.element.getRootNode() as ShadowRoot).activeElement;
    if (event.shiftKey && (active === first || !scope.contains(active))) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && (active === last || !scope.contains(active))) {
      event.preventDefault();
      first?.focus();
    }
  }
}

const ENDINGS = {
  closed: "endedClosed",
  stale: "endedStale",
  blocked: "endedBlocked",
  expired: "endedExpired",
} as const;

/** "Typical wait: about 3 min" (or "under a minute", or hours); nothing without an estimate. */
function typicalWait(ms: number | null | undefined, t: Strings): string {
  if (ms == null) return "";
  if (ms < 60_000) return t.waitUnderMinute;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 90) return format(t.waitMinutes, { minutes });
  return format(t.waitHours, { hours: Math.round(minutes / 60) });
}

function time(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ""
    : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The server's rule for names (shared::domain::Name): 1 to 100 characters, no control characters. */
function validName(name: string, t: Strings): string {
  if (!name) return t.nameRequired;
  if ([...name].length > RULES.nameMaxChars) return t.nameTooLong;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return t.nameRequired;
  return "";
}

/** The server's rule for email addresses (shared::domain::EmailAddress). */
export function validEmail(raw: string): boolean {
  const email = raw.trim().toLowerCase();
  const at = email.lastIndexOf("@");
  if (email.length > RULES.emailMaxChars || at < 1 || email.indexOf("@") !== at) return false;
  const local = email.slice(0, at);
  const labels = email.slice(at + 1).split(".");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (local.length > 64 || /[\s\u0000-\u001f\u007f<>()[\]\\,;:"]/.test(local)) return false;
  return (
    labels.length >= 2 && labels.every((l) => /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u.test(l))
  );
}
