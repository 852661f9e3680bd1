// What the loader hands the chat UI when it loads it, and what the UI gives back. The loader owns
// the page-facing side (the script tag, the launcher, the `Parley(...)` API and its events); the
// UI owns the conversation.

import type { WidgetConfig } from "./protocol";

/** A visitor vouched for by the tenant's backend (`Parley('identify', ...)`). */
export interface Identity {
  name: string;
  email: string;
  /** hex HMAC-SHA256 of `email` with the chatbot's identity secret. */
  signature: string;
}

export type WidgetEvent = "message" | "unread" | "open" | "close";

export interface Host {
  /** The socket-node's origin: where `/widget.js` came from. */
  base: string;
  tenantId: string;
  apiKey: string;
  config: WidgetConfig;
  /** The open shadow root the widget lives in. */
  root: ShadowRoot;
  /** Where this chatbot's conversation is kept in the page's `localStorage`. */
  storageKey: string;
  identity(): Identity | null;
  emit(event: WidgetEvent, detail: unknown): void;
  /** Shows the unread count on the launcher; `label` is its accessible name. */
  setUnread(count: number, label: string): void;
  /** Closes the panel (the UI's own close button and Escape). */
  close(): void;
  /** Hides the whole widget after an error only the tenant can fix; `reason` goes to the console. */
  hide(reason: string): void;
}

export interface Ui {
  open(): void;
  close(): void;
  /** The page called `identify`. */
  identified(): void;
  /** Forget the visitor: disconnect and clear what is stored. */
  shutdown(): void;
}

export type Mount = (host: Host) => Ui;

/** The key a chatbot's conversation is stored under. */
export const storageKey = (tenantId: string, chatbotId: string) => `parley:v1:${tenantId}:${chatbotId}`;
