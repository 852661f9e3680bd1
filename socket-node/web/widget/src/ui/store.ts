// The conversation as kept in the page's localStorage, per tenant and chatbot, so a reload or
// another page of the same site goes on with it: the chatroom token, the messages seen, how far
// they are known to be complete (`syncedSeq`), and the messages not yet stored by the server.

import type { ChatMessage, ChatroomStatus } from "../../../shared/chat";

/** A message the visitor wrote that the server has not acknowledged yet. */
export interface Pending {
  clientMsgId: string;
  text: string;
}

export interface Saved {
  v: 1;
  chatroomId: string;
  token: string;
  name: string;
  email: string;
  status: ChatroomStatus;
  agent: { id: string; name: string } | null;
  /** Every message up to this seq is in `messages`: `resume` asks for what comes after. */
  syncedSeq: number;
  /** The visitor has seen the other side's messages up to here. */
  readSeq: number;
  agentReadSeq: number;
  transcriptRequested: boolean;
  messages: ChatMessage[];
  outbox: Pending[];
}

/** Older messages are dropped from the copy (the server keeps them all). */
const KEEP = 300;

export class Store {
  constructor(private readonly key: string) {}

  load(): Saved | null {
    try {
      const saved = JSON.parse(localStorage.getItem(this.key) ?? "null") as Saved | null;
      return saved?.v === 1 ? saved : null;
    } catch {
      return null;
    }
  }

  save(saved: Saved) {
    const messages = saved.messages.slice(-KEEP);
    try {
      localStorage.setItem(this.key, JSON.stringify({ ...saved, messages }));
    } catch {
      // Storage full or refused: the conversation goes on, it just does not survive a reload.
    }
  }

  clear() {
    try {
      localStorage.removeItem(this.key);
    } catch {
      // Nothing kept, nothing to clear.
    }
  }
}
