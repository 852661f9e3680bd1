// The chat UI, loaded by `/widget.js` on first open (or at once when a conversation is going).
// It joins the conversation (state and connection) to the panel (what the visitor sees), and
// draws attention when something new arrives while the panel is closed or the tab is hidden:
// the unread badge on the launcher and a flashing page title.

import type { Host, Ui } from "../host";
import { format, strings } from "../strings";
import { Conversation } from "./conversation";
import { h } from "./dom";
import { Panel } from "./panel";
import { Store } from "./store";
import { STYLES } from "./styles";

export function mount(host: Host): Ui {
  const t = strings();
  const { config } = host;
  let open = false;
  const title = new TitleFlash(t.newMessage);

  const refresh = () => {
    if (open && document.visibilityState === "visible" && panel.showsLatest()) conversation.markRead();
    panel.render(conversation, config);
    const unread = conversation.unread();
    host.setUnread(unread, format(t.unread, { count: unread }));
    title.show(unread > 0 && (!open || document.visibilityState !== "visible") ? unread : 0);
    if (unread !== lastUnread) host.emit("unread", { count: unread });
    lastUnread = unread;
  };
  let lastUnread = 0;

  const conversation = new Conversation(
    host,
    new Store(host.storageKey),
    () => queueMicrotask(refresh),
    (m) =>
      host.emit("message", {
        seq: m.seq,
        sender: { kind: m.sender.kind, name: m.sender.name },
        text: m.text,
        sentAt: m.sentAt,
      }),
  );
  const startIdentified = () => {
    const identity = host.identity();
    if (!identity || conversation.saved || conversation.phase === "starting") return false;
    void conversation.start(identity.name, identity.email, identity);
    return true;
  };

  const panel = new Panel(t, config, {
    close: () => host.close(),
    start: (name, email) => void conversation.start(name, email),
    send: (text) => conversation.send(text),
    typing: () => conversation.typing(),
    endChat: (transcript) => conversation.endChat(transcript),
    transcript: () => conversation.requestTranscript(),
    startNew: () => {
      conversation.startNew();
      if (!startIdentified()) panel.focus();
    },
  });
  host.root.append(h("style", {}, STYLES), panel.element);
  panel.element.addEventListener("scroll", refresh, { capture: true, passive: true });
  document.addEventListener("visibilitychange", refresh);

  // A different person signed in on this browser: their conversation is not this one.
  const identity = host.identity();
  if (
    identity &&
    conversation.saved &&
    conversation.saved.email.toLowerCase() !== identity.email.trim().toLowerCase()
  ) {
    conversation.shutdown();
    conversation.startNew();
  }
  refresh();

  return {
    open() {
      open = true;
      panel.element.hidden = false;
      panel.scrollToEnd();
      startIdentified();
      refresh();
      panel.focus();
    },
    close() {
      open = false;
      panel.element.hidden = true;
      refresh();
    },
    identified() {
      if (open) startIdentified();
    },
    shutdown() {
      conversation.shutdown();
      title.show(0);
      document.removeEventListener("visibilitychange", refresh);
    },
  };
}

/** Alternates the page's title with "(2) New message" while there is something unread. */
class TitleFlash {
  private timer: number | undefined;
  private count = 0;
  private original = document.title;

  constructor(private readonly text: string) {}

  show(count: number) {
    this.count = count;
    if (!count) {
      if (this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
        document.title = this.original;
      }
      return;
    }
    if (this.timer !== undefined) return;
    this.original = document.title;
    let flashed = false;
    this.timer = window.setInterval(() => {
      flashed = !flashed;
      document.title = flashed ? `(${this.count}) ${this.text}` : this.original;
    }, 1500);
  }
}
