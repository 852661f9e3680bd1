// `/widget.js`: the one script a tenant pastes. It reads its own tag, asks the socket-node for the
// chatbot's settings (which also checks the page's origin and the key), draws the launcher in an
// open shadow root, and loads the chat UI only when the visitor opens it, or at once when a
// conversation is already going. It replaces the snippet's `Parley` stub and runs the calls the
// page queued before it arrived.

import { type Host, type Identity, type Mount, storageKey, type Ui, type WidgetEvent } from "./host";
import { postJson, type WidgetConfig } from "./protocol";

/** The chat UI's hashed file, relative to this script; written in by the build. */
declare const __PARLEY_UI__: string;

type Command = "open" | "close" | "toggle" | "identify" | "shutdown" | "on";
type Parley = ((command: Command, ...args: unknown[]) => void) & { q?: ArrayLike<unknown>[] };

const tag = (document.currentScript ??
  document.querySelector("script[data-api-key][src*='widget.js']")) as HTMLScriptElement | null;

const STYLE = `
:host{all:initial}
.launcher{position:fixed;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;
border:0;border-radius:999px;padding:12px 18px;font:600 15px/1.2 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:var(--accent);color:var(--on-accent);box-shadow:0 4px 16px rgba(0,0,0,.2);cursor:pointer}
.launcher:focus-visible{outline:3px solid var(--accent);outline-offset:3px}
.left{left:20px}.right{right:20px}
.launcher svg{width:22px;height:22px;fill:currentColor}
.badge{min-width:20px;height:20px;padding:0 6px;box-sizing:border-box;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px;text-align:center}
.badge[hidden]{display:none}
@media (max-width:480px){:host([data-open]) .launcher{display:none}}
`;

/** White or near-black, whichever reads better on the chatbot's colour. */
function onAccent(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const luminance = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return luminance > 0.6 ? "#111827" : "#ffffff";
}

function hasConversation(key: string): boolean {
  try {
    return localStorage.getItem(key) !== null;
  } catch {
    return false;
  }
}

async function start(script: HTMLScriptElement) {
  const stub = (window as unknown as { Parley?: Parley }).Parley;
  const queued = Array.from(stub?.q ?? [], (args) => Array.from(args));
  const listeners: Record<string, ((detail: unknown) => void)[]> = {};
  let identity: Identity | null = null;
  let host: Host | null = null;
  let ui: Ui | null = null;
  let loading: Promise<Ui | null> | null = null;
  let isOpen = false;
  let gone = false;
  let pending: unknown[][] = [];

  const base = new URL(script.src).origin;
  const tenantId = script.dataset.tenantId ?? "";
  const apiKey = script.dataset.apiKey ?? "";
  const launcher = document.createElement("button");
  const element = document.createElement("div");
  element.setAttribute("data-parley-widget", "");
  const root = element.attachShadow({ mode: "open" });

  const emit = (event: WidgetEvent, detail: unknown) => {
    for (const fn of listeners[event] ?? []) {
      try {
        fn(detail);
      } catch (error) {
        console.error(error);
      }
    }
  };

  const hide = (reason: string) => {
    gone = true;
    element.remove();
    console.warn(`Parley: the chat widget is hidden: ${reason}`);
  };

  const load = () => {
    loading ??= import(/* @vite-ignore */ new URL(__PARLEY_UI__, script.src).href).then(
      (module: { mount: Mount }) => {
        if (!host || gone) return null;
        ui = module.mount(host);
        return ui;
      },
      (error: unknown) => {
        console.error("Parley: the chat could not be loaded", error);
        loading = null;
        return null;
      },
    );
    return loading;
  };

  const setOpen = (open: boolean) => {
    if (gone || open === isOpen) return;
    isOpen = open;
    element.toggleAttribute("data-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open) void load().then((loaded) => isOpen && loaded?.open());
    else {
      ui?.close();
      launcher.focus();
    }
    emit(open ? "open" : "close", null);
  };

  const run = (command: Command, ...args: unknown[]) => {
    if (command === "on") {
      const [event, fn] = args as [WidgetEvent, (detail: unknown) => void];
      if (typeof fn === "function") listeners[event] = [...(listeners[event] ?? []), fn];
    } else if (command === "identify") {
      identity = args[0] as Identity;
      ui?.identified();
    } else if (!host) {
      pending.push([command, ...args]);
    } else if (command === "shutdown") {
      ui?.shutdown();
      gone = true;
      element.remove();
    } else if (command === "open" || command === "close" || command === "toggle") {
      setOpen(command === "toggle" ? !isOpen : command === "open");
    } else {
      console.warn(`Parley: unknown command ${String(command)}`);
    }
  };
  (window as unknown as { Parley: Parley }).Parley = run;
  for (const args of queued) run(...(args as [Command, ...unknown[]]));

  const answer = await postJson<WidgetConfig>(`${base}/v1/widget/config`, { tenantId, apiKey });
  if (!answer.ok) return hide(`${answer.error.message} (${answer.error.code})`);
  const config = answer.data;
  const { settings } = config;

  const style = document.createElement("style");
  style.textContent = STYLE;
  element.style.setProperty("--accent", settings.colour);
  element.style.setProperty("--on-accent", onAccent(settings.colour));
  launcher.className = `launcher ${settings.position === "bottom-left" ? "left" : "right"}`;
  launcher.type = "button";
  launcher.setAttribute("aria-label", settings.launcherText);
  launcher.setAttribute("aria-expanded", "false");
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg><span></span><span class="badge" hidden aria-hidden="true"></span>';
  const [text, badge] = launcher.querySelectorAll("span") as unknown as [HTMLElement, HTMLElement];
  text.textContent = settings.launcherText;
  launcher.addEventListener("click", () => setOpen(!isOpen));
  root.append(style, launcher);
  document.body.append(element);

  host = {
    base,
    tenantId,
    apiKey,
    config,
    root,
    storageKey: storageKey(tenantId, config.chatbotId),
    identity: () => identity,
    emit,
    setUnread(count, label) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
      launcher.setAttribute(
        "aria-label",
        count ? `${settings.launcherText}, ${label}` : settings.launcherText,
      );
    },
    close: () => setOpen(false),
    hide,
  };
  if (hasConversation(host.storageKey)) void load();
  const calls = pending;
  pending = [];
  for (const args of calls) run(...(args as [Command, ...unknown[]]));
}

if (!tag?.src) console.warn("Parley: widget.js could not find its own <script> tag");
else if (document.body) void start(tag);
else document.addEventListener("DOMContentLoaded", () => void start(tag));
