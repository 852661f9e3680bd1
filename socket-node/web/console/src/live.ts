// The agent's live connection (`/v1/ws`): the tenant's queue (with the offers of automatic
// routing), the chatrooms this agent holds with their messages, typing and read receipts, for
// moderators every open chatroom and those they watch, and the team's agents with their
// availability and load (the `agents` frame: the availability switch, transfers, the team page).
// It authenticates with the access token (again with each renewed one), and after any drop
// reconnects with backoff and sends `resume {afterSeq}` for every chatroom it shows, so nothing is
// missed; messages are kept by seq, each once. A chatroom starts with its latest messages; older
// ones come a page at a time (`history`).

import type { ChatMessage, Chatroom } from "../../shared/chat";
import { session } from "./session";

/** How many messages a chatroom shows at first; the server's `history` pages are as long. */
const PAGE = 50;

export interface Room {
  chatroom: Chatroom;
  /** A moderator follows it read-only; the agent does not hold it. */
  watching: boolean;
  /** Every message from `messages[0]` on; older ones: "more" to ask for, "loading", or "none". */
  older: "more" | "loading" | "none";
  messages: ChatMessage[];
  /** The agent's messages not yet stored, by clientMsgId. */
  pending: { clientMsgId: string; text: string }[];
  visitorTyping: boolean;
  /** The last refusal of something done in this room, in the server's words. */
  refusal: { code: string; message: string } | null;
}

type Frame = { type: string; [field: string]: unknown };
export type Link = "connecting" | "live" | "reconnecting";

export type Availability = "online" | "away" | "offline";

/** An agent of the tenant as the `agents` frame tells: who may be offered or handed a chatroom. */
export interface TeamAgent {
  id: string;
  name: string;
  /** `offline`: no console open. `away`: chose not to be offered chatrooms. */
  availability: Availability;
  /** Chatrooms held plus offers open. */
  load: number;
  maxConcurrent: number;
  /** The account's `assigning.enabled`: false, never offered chatrooms automatically. */
  assigning: boolean;
}

/** A refusal of something done in the queue or a conversation, in the server's words. */
export type Refusal = { code: string; message: string };

/** A hook the page can set to hear of what deserves a sound or a notification. */
export type Alert =
  | { kind: "queued"; chatroom: Chatroom }
  | { kind: "offered"; chatroom: Chatroom }
  | { kind: "handed"; chatroom: Chatroom }
  | { kind: "message"; chatroom: Chatroom; message: ChatMessage };

class Live {
  link: Link = "connecting";
  queue: Chatroom[] = [];
  /** Every open chatroom of the tenant (moderators only). */
  open: Chatroom[] = [];
  /** Why a chatroom this moderator asked to watch is not shown, in the server's words. */
  refusedWatch = new Map<string, { code: string; message: string }>();
  rooms = new Map<string, Room>();
  /** Every agent of the tenant (the `agents` frame), with their availability and load. */
  agents: TeamAgent[] = [];
  /** Chatrooms this agent held and handed on: to whom (null: back to the queue). */
  handedOver = new Map<string, string | null>();
  /** Why something done to a waiting chatroom (a decline) was refused, by chatroom. */
  queueRefusals = new Map<string, Refusal>();
  onAlert: ((alert: Alert) => void) | null = null;
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retry: number | undefined;
  private stopped = true;
  private readonly listeners = new Set<() => void>();
  private readonly waiters = new Map<string, { resolve: () => void; reject: (error: Frame) => void }>();
  /** The chatrooms this moderator asked to watch (watched again after a reconnect). */
  private readonly watched = new Set<string>();

  constructor() {
    session.onToken((token) => this.send({ type: "auth", token }));
    window.addEventListener("online", () => {
      if (this.stopped || this.socket) return;
      clearTimeout(this.retry);
      this.attempt = 0;
      this.connect();
    });
    // Offline: let go of the socket at once, rather than when its closing handshake times out.
    window.addEventListener("offline", () => {
      this.socket?.close();
      this.dropped();
    });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.queue = [];
    this.open = [];
    this.rooms.clear();
    this.agents = [];
    this.handedOver.clear();
    this.queueRefusals.clear();
    this.watched.clear();
    this.refusedWatch.clear();
  }

  /** Claims a waiting chatroom; rejects with the server's refusal (another agent won, say). */
  join(chatroomId: string): Promise<void> {
    return this.ask(chatroomId, { type: "join", chatroomId });
  }

  /** The signed-in agent as the `agents` frame tells (undefined before it arrives). */
  self(): TeamAgent | undefined {
    const me = this.me();
    return this.agents.find((a) => a.id === me);
  }

  /**
   * Online (offered chatrooms automatically) or away. Shown at once; the server's next `agents`
   * frame says what it kept.
   */
  setAvailability(status: "online" | "away") {
    if (!this.send({ type: "availability", status })) return;
    const me = this.self();
    if (me) me.availability = status;
    this.changed();
  }

  /** Refuses an offer made to this agent: Parley offers the chatroom to the next one. */
  decline(chatroomId: string) {
    this.queueRefusals.delete(chatroomId);
    this.send({ type: "decline", chatroomId });
    this.changed();
  }

  /**
   * Hands a chatroom this agent holds to another agent, or back to the queue (no `toAgentId`).
   * Resolves once the server names the new holder; rejects with its refusal
   * (`agent_unavailable`, `too_many_chatrooms`, `not_in_chatroom`).
   */
  transfer(chatroomId: string, toAgentId?: string): Promise<void> {
    return this.ask(chatroomId, { type: "transfer", chatroomId, ...(toAgentId ? { toAgentId } : {}) });
  }

  /** The agents a chatroom can be handed to: online, below their limit, not this agent. */
  available(): TeamAgent[] {
    const me = this.me();
    return this.agents.filter((a) => a.id !== me && a.availability === "online" && a.load < a.maxConcurrent);
  }

  /** A moderator follows another agent's chatroom, read-only. */
  watch(chatroomId: string) {
    if (this.rooms.has(chatroomId)) return;
    this.watched.add(chatroomId);
    this.refusedWatch.delete(chatroomId);
    this.send({ type: "watch", chatroomId });
  }

  unwatch(chatroomId: string) {
    if (!this.watched.delete(chatroomId)) return;
    this.send({ type: "unwatch", chatroomId });
    if (this.rooms.get(chatroomId)?.watching) this.rooms.delete(chatroomId);
    this.changed();
  }

  /** Asks for the page of messages before the oldest the room shows. */
  earlier(chatroomId: string) {
    const room = this.rooms.get(chatroomId);
    if (room?.older !== "more") return;
    const beforeSeq = room.messages[0]?.seq ?? room.chatroom.lastSeq + 1;
    if (this.send({ type: "history", chatroomId, beforeSeq })) {
      room.older = "loading";
      this.changed();
    }
  }

  leave(chatroomId: string) {
    this.send({ type: "leave", chatroomId });
    this.rooms.delete(chatroomId);
    this.changed();
  }

  close(chatroomId: string) {
    this.send({ type: "close", chatroomId });
  }

  mark(chatroomId: string, as: "stale" | "blocked") {
    this.send({ type: "mark", chatroomId, as });
  }

  message(chatroomId: string, text: string) {
    const room = this.rooms.get(chatroomId);
    if (!room) return;
    const clientMsgId = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    room.pending.push({ clientMsgId, text });
    this.send({ type: "send", chatroomId, clientMsgId, message: text });
    this.changed();
  }

  typing(chatroomId: string, typing: boolean) {
    this.send({ type: "typing", chatroomId, typing });
  }

  /** The agent has seen every message of the room. */
  read(chatroomId: string) {
    const room = this.rooms.get(chatroomId);
    const last = room?.messages.at(-1)?.seq ?? 0;
    if (!room || room.watching || last <= room.chatroom.agentReadSeq) return;
    room.chatroom.agentReadSeq = last;
    this.send({ type: "read", chatroomId, upToSeq: last });
  }

  private ask(chatroomId: string, frame: Frame): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.set(chatroomId, { resolve, reject });
      if (!this.send(frame)) {
        this.waiters.delete(chatroomId);
        reject({ type: "error", code: "network_error", message: "not connected" });
      }
    });
  }

  private connect() {
    const token = session.accessToken();
    if (!token) return;
    const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/v1/ws`);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: session.accessToken(), v: 1 }));
    socket.onmessage = (event) => {
      if (this.socket === socket) this.handle(JSON.parse(String(event.data)) as Frame);
    };
    socket.onclose = () => {
      if (this.socket === socket) this.dropped();
    };
  }

  /** The socket is gone: reconnect with backoff, or when the browser is back online. */
  private dropped() {
    if (!this.socket) return;
    this.socket = null;
    if (this.stopped) return;
    this.link = "reconnecting";
    this.changed();
    if (!navigator.onLine) return; // the `online` event reconnects
    const ceiling = Math.min(30_000, 500 * 2 ** this.attempt++);
    this.retry = window.setTimeout(() => this.connect(), 250 + Math.random() * ceiling);
  }

  private handle(frame: Frame) {
    switch (frame.type) {
      case "ready": {
        this.link = "live";
        this.attempt = 0;
        const held = frame.chatrooms as Chatroom[];
        for (const chatroom of held) {
          const room = this.room(chatroom);
          room.watching = false;
          this.resume(room);
          for (const p of room.pending) {
            this.send({
              type: "send",
              chatroomId: chatroom.chatroomId,
              clientMsgId: p.clientMsgId,
              message: p.text,
            });
          }
        }
        for (const chatroomId of this.watched) {
          if (held.some((c) => c.chatroomId === chatroomId)) continue;
          this.send({ type: "watch", chatroomId });
          const room = this.rooms.get(chatroomId);
          if (room) this.resume(room);
        }
        break;
      }
      case "open":
        this.open = frame.chatrooms as Chatroom[];
        break;
      case "history": {
        const room = this.rooms.get(frame.chatroomId as string);
        if (!room) break;
        for (const m of frame.messages as Frame[]) this.keep(room, received(m));
        room.older = (frame.fromSeq as number) <= 1 ? "none" : "more";
        break;
      }
      case "queue": {
        const me = this.me();
        const before = new Map(this.queue.map((c) => [c.chatroomId, c]));
        this.queue = frame.chatrooms as Chatroom[];
        for (const chatroom of this.queue) {
          const was = before.get(chatroom.chatroomId);
          if (chatroom.offer?.agentId === me && was?.offer?.agentId !== me)
            this.onAlert?.({ kind: "offered", chatroom });
          else if (!was) this.onAlert?.({ kind: "queued", chatroom });
        }
        for (const id of this.queueRefusals.keys())
          if (!this.queue.some((c) => c.chatroomId === id)) this.queueRefusals.delete(id);
        break;
      }
      case "agents":
        this.agents = frame.agents as TeamAgent[];
        break;
      case "chatroom": {
        const chatroom = frame as unknown as Chatroom;
        const id = chatroom.chatroomId;
        const mine = chatroom.agent?.id === this.me();
        const held = this.rooms.get(id);
        const waiter = this.waiters.get(id);
        this.waiters.delete(id);
        if (held && !held.watching && !mine && (chatroom.agent || chatroom.status === "waiting")) {
          // Handed on (a transfer, or back to the queue): this console no longer follows it.
          this.rooms.delete(id);
          this.handedOver.set(id, chatroom.agent?.name ?? null);
          waiter?.resolve();
          break;
        }
        if (mine || held || this.watched.has(id)) {
          const room = this.room(chatroom);
          room.chatroom = chatroom;
          room.watching = !mine && this.watched.has(id);
          if (mine) {
            this.watched.delete(id);
            this.handedOver.delete(id);
            // Neither joined nor watched from here: another agent handed it over.
            if (!waiter && (!held || held.watching)) this.onAlert?.({ kind: "handed", chatroom });
          }
          waiter?.resolve();
        } else if (waiter) {
          this.waiters.set(id, waiter);
        }
        break;
      }
      case "message":
      case "ack": {
        const room = this.rooms.get(frame.chatroomId as string);
        if (!room) break;
        const pending = room.pending.find((p) => p.clientMsgId === frame.clientMsgId);
        room.pending = room.pending.filter((p) => p.clientMsgId !== frame.clientMsgId);
        const message: ChatMessage =
          frame.type === "ack"
            ? {
                seq: frame.seq as number,
                clientMsgId: frame.clientMsgId as string,
                sender: { kind: "agent", id: this.me() ?? null, name: "" },
                text: pending?.text ?? "",
                sentAt: frame.sentAt as string,
              }
            : received(frame);
        if (!this.keep(room, message)) break;
        if (message.sender.kind === "visitor") {
          room.visitorTyping = false;
          if (!room.watching) this.onAlert?.({ kind: "message", chatroom: room.chatroom, message });
        }
        break;
      }
      case "typing": {
        const room = this.rooms.get(frame.chatroomId as string);
        if (room && (frame.sender as ChatMessage["sender"]).kind === "visitor")
          room.visitorTyping = frame.typing === true;
        break;
      }
      case "read": {
        const room = this.rooms.get(frame.chatroomId as string);
        if (room && frame.reader === "visitor") {
          room.chatroom.visitorReadSeq = Math.max(room.chatroom.visitorReadSeq, frame.upToSeq as number);
        }
        break;
      }
      case "error": {
        const id = frame.chatroomId as string | undefined;
        if (id && this.waiters.has(id)) {
          this.waiters.get(id)?.reject(frame);
          this.waiters.delete(id);
        } else if (id && this.rooms.has(id)) {
          const room = this.rooms.get(id);
          if (room) room.refusal = { code: frame.code as string, message: frame.message as string };
        } else if (id && this.watched.delete(id)) {
          this.refusedWatch.set(id, { code: frame.code as string, message: frame.message as string });
        } else if (id && this.queue.some((c) => c.chatroomId === id)) {
          this.queueRefusals.set(id, { code: frame.code as string, message: frame.message as string });
        }
        break;
      }
      default:
        break;
    }
    this.changed();
  }

  /** After (re)connecting: everything after the last message the room shows, or the latest page. */
  private resume(room: Room) {
    const last = room.messages.at(-1)?.seq;
    const afterSeq = last ?? Math.max(0, room.chatroom.lastSeq - PAGE);
    this.send({ type: "resume", chatroomId: room.chatroom.chatroomId, afterSeq });
  }

  /** Places a message by seq; false when the room had it already. */
  private keep(room: Room, message: ChatMessage): boolean {
    if (room.messages.some((m) => m.seq === message.seq)) return false;
    room.messages.push(message);
    room.messages.sort((a, b) => a.seq - b.seq);
    if (room.messages[0]?.seq === 1) room.older = "none";
    return true;
  }

  private room(chatroom: Chatroom): Room {
    let room = this.rooms.get(chatroom.chatroomId);
    if (!room) {
      room = {
        chatroom,
        watching: false,
        older: "more",
        messages: [],
        pending: [],
        visitorTyping: false,
        refusal: null,
      };
      this.rooms.set(chatroom.chatroomId, room);
    }
    return room;
  }

  /** The signed-in user's id. */
  me(): string | undefined {
    return session.state.status === "signed_in" ? session.state.me.user.id : undefined;
  }

  private send(frame: Frame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private changed() {
    for (const listener of this.listeners) listener();
  }
}

export const live = new Live();

/** A `message` frame (or a message of a `history` page) as the console keeps it. */
function received(frame: Frame): ChatMessage {
  return {
    seq: frame.seq as number,
    clientMsgId: frame.clientMsgId as string | null,
    sender: frame.sender as ChatMessage["sender"],
    text: frame.message as string,
    sentAt: frame.sentAt as string,
  };
}
