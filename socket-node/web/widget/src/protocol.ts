// The socket-node's wire contract as the widget uses it (docs/protocol.md, "The socket-node").

import type { Chatroom, ChatroomStatus, Sender } from "../../shared/chat";

/** `POST /v1/widget/config`: what the loader needs to draw the launcher. */
export interface WidgetConfig {
  chatbotId: string;
  name: string;
  settings: {
    greeting: string;
    colour: string;
    position: "bottom-right" | "bottom-left";
    launcherText: string;
  };
  enforceIdentity: boolean;
}

/** The body of every HTTP error. */
export interface ApiError {
  code: string;
  message: string;
}

/** `POST /v1/visitor/sessions`, 201. */
export interface SessionCreated {
  chatroomId: string;
  status: ChatroomStatus;
  token: string;
  expiresIn: number;
  websocketPath: string;
}

export interface MessageFrame {
  type: "message";
  chatroomId: string;
  seq: number;
  clientMsgId: string | null;
  sender: Sender;
  message: string;
  sentAt: string;
}

export type ServerFrame =
  | { type: "ready"; v: number; role: "visitor" | "agent"; chatrooms: Chatroom[] }
  | ({ type: "chatroom" } & Chatroom)
  | MessageFrame
  | { type: "ack"; chatroomId: string; clientMsgId: string; seq: number; sentAt: string }
  | { type: "typing"; chatroomId: string; sender: Sender; typing: boolean }
  | { type: "read"; chatroomId: string; reader: "visitor" | "agent"; upToSeq: number }
  | { type: "resumed"; chatroomId: string; lastSeq: number }
  | { type: "error"; code: string; message: string; chatroomId?: string; clientMsgId?: string }
  | { type: "pong"; nonce?: string }
  | { type: "queue"; chatrooms: Chatroom[] }
  | QueuePositionFrame;

/** Where the visitor's waiting chatroom stands in the queue: after `ready` and whenever it moves. */
export interface QueuePositionFrame {
  type: "queue_position";
  chatroomId: string;
  /** 1-based. */
  position: number;
  /** The median time to assignment of the tenant's recent chatrooms; null with no history yet. */
  estimatedWaitMs: number | null;
}

export type ClientFrame =
  | { type: "auth"; token: string; v: 1 }
  | { type: "send"; chatroomId: string; clientMsgId: string; message: string }
  | { type: "typing"; chatroomId: string; typing: boolean }
  | { type: "read"; chatroomId: string; upToSeq: number }
  | { type: "resume"; chatroomId: string; afterSeq: number }
  | { type: "close"; chatroomId: string }
  | { type: "transcript"; chatroomId: string }
  | { type: "ping"; nonce: string };

/** The socket-node's close codes the widget acts on. */
export const CLOSE = { chatroomClosed: 1000, unauthorised: 4401, forbidden: 4403 } as const;

/** The server's rules for a visitor's name and email (shared::domain::{Name, EmailAddress}). */
export const RULES = { nameMaxChars: 100, emailMaxChars: 254, messageMaxBytes: 4096 } as const;

/** Posts JSON; answers the parsed body, or the error body (a network failure is `network_error`). */
export async function postJson<T>(
  url: string,
  body: unknown,
): Promise<{ ok: true; data: T } | { ok: false; status: number; error: ApiError }> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
    const data = await response.json().catch(() => null);
    if (response.ok) return { ok: true, data: data as T };
    const error =
      data && typeof data.code === "string"
        ? (data as ApiError)
        : { code: "http_error", message: `HTTP ${response.status}` };
    return { ok: false, status: response.status, error };
  } catch {
    return {
      ok: false,
      status: 0,
      error: { code: "network_error", message: "the chat service could not be reached" },
    };
  }
}
