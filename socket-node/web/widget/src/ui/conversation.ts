// One visitor's conversation: starting it, the WebSocket that carries it, and everything that
// keeps it whole. No DOM here; the panel draws what this holds.
//
// Nothing is lost: messages the visitor writes wait in an outbox (kept in localStorage) until
// the server acknowledges them, and go again with the same `clientMsgId` after any reconnect
// (the server stores a repeat once). A dropped connection comes back with backoff and jitter,
// at once when the browser is back online, and `resume {afterSeq}` replays whatever was missed;
// messages are placed and deduplicated by seq.

import type { ChatMessage, Chatroom } from "../../../shared/chat";
import type { Host, Identity } from "../host";
import {
  CLOSE,
  type ClientFrame,
  type MessageFrame,
  postJson,
  RULES,
  type ServerFrame,
  type SessionCreated,
} from "../protocol";
import type { Strings } from "../strings";
import type { Pending, Saved, Store } from "./store";

export type Phase = "form" | "starting" | "connecting" | "live" | "reconnecting" | "ended";
export type Ending = "closed" | "stale" | "blocked" | "expired";
/** A passing notice: a key of the string table. */
export type Notice = keyof Strings &
  (
    | "sessionsLimited"
    | "sendingFast"
    | "visitorBlocked"
    | "identityRefused"
    | "unreachable"
    | "checkDetails"
    | "messageTooLong"
  );

/** Codes only the tenant can fix: the widget hides and says why in the console. */
const TENANT_ERRORS = ["api_key_invalid", "api_key_revoked", "chatbot_disabled", "origin_not_allowed"];
const PING_EVERY_MS = 20_000;
const SILENT_FOR_MS = 50_000;
const TYPING_IDLE_MS = 3_000;
const RESEND_AFTER_MS = 5_000;

export class Conversation {
  phase: Phase = "form";
  ending: Ending | null = null;
  notice: Notice | null = null;
  agentTyping: string | null = null;
  /** Where the chatroom stands in the queue while it waits for an agent (not kept in storage). */
  queue: { position: number; estimatedWaitMs: number | null } | null = null;
  saved: Saved | null;
  /** What the form starts with. */
  visitor = { name: "", email: "" };

  private socket: WebSocket | null = null;
  private attempt = 0;
  private heard = 0;
  private serverReadSeq = 0;
  private typingSentAt = 0;
  private readonly timers: Record<
    "retry" | "ping" | "typing" | "agentTyping" | "resend",
    number | undefined
  > = {
    retry: undefined,
    ping: undefined,
    typing: undefined,
    agentTyping: undefined,
    resend: undefined,
  };

  constructor(
    private readonly host: Host,
    private readonly store: Store,
    private readonly changed: () => void,
    private readonly received: (message: ChatMessage) => void,
  ) {
    this.saved = store.load();
    if (this.saved) {
      this.visitor = { name: this.saved.name, email: this.saved.email };
      const ending = endingOf(this.saved.status);
      if (ending) this.end(ending);
      else this.connect();
    }
    window.addEventListener("online", () => this.reconnectNow());
    // Offline: let go of the socket at once, rather than when its closing handshake times out.
    window.addEventListener("offline", () => {
      const socket = this.socket;
      if (!socket) return;
      socket.close();
      this.dropped(1006, "offline");
    });
  }

  /** Opens a chatroom for the visitor (the pre-chat form, or a signed identity). */
  async start(name: string, email: string, identity?: Identity) {
    this.phase = "starting";
    this.notice = null;
    this.visitor = { name, email };
    this.changed();
    const answer = await postJson<SessionCreated>(`${this.host.base}/v1/visitor/sessions`, {
      tenantId: this.host.tenantId,
      apiKey: this.host.apiKey,
      name,
      email,
      ...(identity ? { identitySignature: identity.signature } : {}),
      visitor: browserInfo(),
    });
    if (!answer.ok) {
      this.phase = "form";
      const { code, message } = answer.error;
      if (TENANT_ERRORS.includes(code)) return this.host.hide(`${message} (${code})`);
      if (code.startsWith("identity_"))
        console.warn(`Parley: the signed identity was refused: ${message} (${code})`);
      this.notice = noticeFor(code);
      return this.changed();
    }
    const session = answer.data;
    this.saved = {
      v: 1,
      chatroomId: session.chatroomId,
      token: session.token,
      name,
      email,
      status: session.status,
      agent: null,
      syncedSeq: 0,
      readSeq: 0,
      agentReadSeq: 0,
      transcriptRequested: false,
      messages: [],
      outbox: [],
    };
    this.ending = null;
    this.persist();
    this.connect();
  }

  /** Queues a message; it goes now if connected, else on reconnect. False if it is too long. */
  send(text: string): boolean {
    const saved = this.saved;
    if (!saved || this.ending) return false;
    if (new TextEncoder().encode(text).length > RULES.messageMaxBytes) {
      this.notice = "messageTooLong";
      this.changed();
      return false;
    }
    const pending: Pending = { clientMsgId: newId(), text };
    saved.outbox.push(pending);
    this.notice = null;
    this.persist();
    this.stopTyping();
    if (this.phase === "live") this.transmit(sendFrame(saved, pending));
    this.changed();
    return true;
  }

  /** The visitor is typing: tells the agent, at most every few seconds, and when they stop. */
  typing() {
    if (this.phase !== "live" || !this.saved) return;
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_IDLE_MS) {
      this.transmit({ type: "typing", chatroomId: this.saved.chatroomId, typing: true });
      this.typingSentAt = now;
    }
    clearTimeout(this.timers.typing);
    this.timers.typing = window.setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  /** The visitor can see the panel: everything in it is read. */
  markRead() {
    const saved = this.saved;
    if (!saved) return;
    const last = saved.messages.at(-1)?.seq ?? 0;
    if (last > saved.readSeq) {
      saved.readSeq = last;
      this.persist();
      this.changed();
    }
    this.sendRead();
  }

  /** How many of the other side's messages the visitor has not seen. */
  unread(): number {
    const saved = this.saved;
    if (!saved) return 0;
    return saved.messages.filter((m) => m.sender.kind !== "visitor" && m.seq > saved.readSeq).length;
  }

  requestTranscript() {
    if (this.saved) this.transmit({ type: "transcript", chatroomId: this.saved.chatroomId });
  }

  /** Ends the conversation; with `transcript`, asks for it by email first. */
  endChat(transcript: boolean) {
    const saved = this.saved;
    if (!saved || this.phase !== "live") return;
    if (transcript && !saved.transcriptRequested) this.requestTranscript();
    this.transmit({ type: "close", chatroomId: saved.chatroomId });
  }

  /** Forgets the ended conversation, so the next one can start. */
  startNew() {
    this.disconnect();
    this.store.clear();
    this.saved = null;
    this.ending = null;
    this.notice = null;
    this.queue = null;
    this.phase = "form";
    this.changed();
  }

  /** Forgets the visitor altogether (`Parley('shutdown')`). */
  shutdown() {
    this.disconnect();
    this.store.clear();
    this.saved = null;
  }

  private connect() {
    const saved = this.saved;
    if (!saved) return;
    clearTimeout(this.timers.retry);
    this.phase = this.phase === "reconnecting" || this.phase === "live" ? "reconnecting" : "connecting";
    const socket = new WebSocket(`${this.host.base.replace(/^http/, "ws")}/v1/ws`);
    this.socket = socket;
    socket.onopen = () => this.transmit({ type: "auth", token: saved.token, v: 1 });
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.heard = Date.now();
      this.handle(JSON.parse(String(event.data)) as ServerFrame);
      this.changed();
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.dropped(event.code, event.reason);
    };
    this.changed();
  }

  private handle(frame: ServerFrame) {
    const saved = this.saved;
    if (!saved) return;
    switch (frame.type) {
      case "ready": {
        const room = frame.chatrooms[0];
        if (room) this.apply(room);
        if (!this.ending)
          this.transmit({ type: "resume", chatroomId: saved.chatroomId, afterSeq: saved.syncedSeq });
        break;
      }
      case "resumed":
        saved.syncedSeq = Math.max(saved.syncedSeq, frame.lastSeq);
        this.advance();
        this.phase = "live";
        this.attempt = 0;
        this.flush();
        this.sendRead();
        this.heartbeat();
        break;
      case "message":
        this.add(frame);
        break;
      case "ack": {
        const pending = saved.outbox.find((p) => p.clientMsgId === frame.clientMsgId);
        if (pending) {
          const sender = { kind: "visitor", name: saved.name } as const;
          this.add({ ...frame, type: "message", sender, message: pending.text });
        }
        break;
      }
      case "chatroom":
        this.apply(frame);
        break;
      case "queue_position":
        if (frame.chatroomId === saved.chatroomId && saved.status === "waiting")
          this.queue = { position: frame.position, estimatedWaitMs: frame.estimatedWaitMs };
        break;
      case "typing":
        if (frame.sender.kind === "agent") this.showTyping(frame.typing ? frame.sender.name : null);
        break;
      case "read":
        if (frame.reader === "agent") saved.agentReadSeq = Math.max(saved.agentReadSeq, frame.upToSeq);
        break;
      case "error":
        this.refused(frame.code, frame.message, frame.clientMsgId);
        break;
      default:
        break;
    }
    this.persist();
  }

  /** A stored message: placed by seq, once; it leaves the outbox if it was the visitor's. */
  private add(frame: MessageFrame) {
    const saved = this.saved;
    if (!saved) return;
    if (frame.clientMsgId) saved.outbox = saved.outbox.filter((p) => p.clientMsgId !== frame.clientMsgId);
    if (saved.messages.some((m) => m.seq === frame.seq)) return;
    const message = {
      seq: frame.seq,
      clientMsgId: frame.clientMsgId,
      sender: frame.sender,
      text: frame.message,
      sentAt: frame.sentAt,
    };
    saved.messages.push(message);
    if ((saved.messages.at(-2)?.seq ?? 0) > message.seq) saved.messages.sort((a, b) => a.seq - b.seq);
    if (frame.sender.kind === "agent") this.showTyping(null);
    this.advance();
    this.received(message);
  }

  /** Moves `syncedSeq` over every message now known to follow it. */
  private advance() {
    const saved = this.saved;
    if (!saved) return;
    const seqs = new Set(saved.messages.map((m) => m.seq));
    while (seqs.has(saved.syncedSeq + 1)) saved.syncedSeq++;
  }

  private apply(room: Chatroom) {
    const saved = this.saved;
    if (!saved || room.chatroomId !== saved.chatroomId) return;
    saved.status = room.status;
    saved.agent = room.agent;
    if (room.status !== "waiting") this.queue = null;
    saved.agentReadSeq = Math.max(saved.agentReadSeq, room.agentReadSeq);
    saved.transcriptRequested = room.transcriptRequested;
    this.serverReadSeq = Math.max(this.serverReadSeq, room.visitorReadSeq);
    const ending = endingOf(room.status);
    if (ending) this.end(ending);
  }

  private refused(code: string, message: string, clientMsgId?: string) {
    const saved = this.saved;
    if (code === "rate_limited" && clientMsgId) {
      this.notice = "sendingFast";
      clearTimeout(this.timers.resend);
      this.timers.resend = window.setTimeout(() => this.flush(), RESEND_AFTER_MS);
    } else if ((code === "message_too_large" || code === "message_empty") && saved && clientMsgId) {
      saved.outbox = saved.outbox.filter((p) => p.clientMsgId !== clientMsgId);
      this.notice = "messageTooLong";
    } else if (code === "chatroom_closed") {
      this.end("closed");
    } else if (code === "token_expired" || code === "token_invalid" || code === "chatroom_not_found") {
      this.end("expired");
    } else {
      console.warn(`Parley: ${message} (${code})`);
    }
  }

  private dropped(code: number, reason: string) {
    this.socket = null;
    clearInterval(this.timers.ping);
    if (this.ending || !this.saved) return;
    if (code === CLOSE.chatroomClosed && reason === "chatroom_closed") return this.end("closed");
    if (code === CLOSE.forbidden) return this.end("blocked");
    if (code === CLOSE.unauthorised) return this.end("expired");
    this.phase = "reconnecting";
    this.changed();
    if (!navigator.onLine) return; // the `online` event reconnects
    const ceiling = Math.min(30_000, 500 * 2 ** this.attempt++);
    this.timers.retry = window.setTimeout(() => this.connect(), 250 + Math.random() * ceiling);
  }

  private reconnectNow() {
    if (!this.saved || this.ending || this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  private end(ending: Ending) {
    this.ending = ending;
    this.phase = "ended";
    this.agentTyping = null;
    this.queue = null;
    if (this.saved) this.saved.outbox = [];
    this.disconnect();
    this.persist();
    this.changed();
  }

  private disconnect() {
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    clearInterval(this.timers.ping);
  }

  /** Sends every queued message again; the server stores each `clientMsgId` once. */
  private flush() {
    const saved = this.saved;
    if (!saved) return;
    for (const pending of saved.outbox) this.transmit(sendFrame(saved, pending));
  }

  private sendRead() {
    const saved = this.saved;
    if (!saved || this.phase !== "live" || saved.readSeq <= this.serverReadSeq) return;
    if (this.transmit({ type: "read", chatroomId: saved.chatroomId, upToSeq: saved.readSeq })) {
      this.serverReadSeq = saved.readSeq;
    }
  }

  private stopTyping() {
    clearTimeout(this.timers.typing);
    if (!this.typingSentAt || !this.saved) return;
    this.typingSentAt = 0;
    this.transmit({ type: "typing", chatroomId: this.saved.chatroomId, typing: false });
  }

  private showTyping(name: string | null) {
    this.agentTyping = name;
    clearTimeout(this.timers.agentTyping);
    if (name) {
      // A lost "stopped typing" must not leave the indicator on.
      this.timers.agentTyping = window.setTimeout(() => this.showTyping(null), 6_000);
    }
    this.changed();
  }

  /** A silent connection is a dead one: pings it, and lets it go when nothing comes back. */
  private heartbeat() {
    clearInterval(this.timers.ping);
    this.timers.ping = window.setInterval(() => {
      if (Date.now() - this.heard > SILENT_FOR_MS) this.socket?.close();
      else this.transmit({ type: "ping", nonce: "widget" });
    }, PING_EVERY_MS);
  }

  private transmit(frame: ClientFrame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private persist() {
    if (this.saved) this.store.save(this.saved);
  }
}

function sendFrame(saved: Saved, pending: Pending): ClientFrame {
  return {
    type: "send",
    chatroomId: saved.chatroomId,
    clientMsgId: pending.clientMsgId,
    message: pending.text,
  };
}

function endingOf(status: string): Ending | null {
  return status === "closed" || status === "stale" || status === "blocked" ? status : null;
}

function noticeFor(code: string): Notice {
  if (code === "rate_limited") return "sessionsLimited";
  if (code === "visitor_blocked") return "visitorBlocked";
  if (code.startsWith("identity_")) return "identityRefused";
  if (code === "invalid_body") return "checkDetails";
  return "unreachable";
}

/** What agents see about the visitor's browser. The page's query and fragment stay out: they
 * may carry the site's own tokens. */
function browserInfo() {
  return {
    language: navigator.language,
    pageUrl: location.origin + location.pathname,
    ...(document.referrer ? { referrer: document.referrer } : {}),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
}

/** A `clientMsgId`: 128 random bits (crypto.randomUUID needs a secure context; this does not). */
function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
