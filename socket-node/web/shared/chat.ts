// What both web clients read of the socket-node's chatrooms (docs/protocol.md, "The WebSocket"):
// the chatroom as frames carry it, who sends a message, and a stored message as a client keeps it.

export type ChatroomStatus = "waiting" | "active" | "standby" | "closed" | "stale" | "blocked";

export interface Sender {
  kind: "visitor" | "agent" | "system";
  id?: string | null;
  name: string;
}

/** What the visitor's browser told when the chatroom opened. */
export interface VisitorInfo {
  ip: string;
  userAgent?: string | null;
  browser?: string | null;
  os?: string | null;
  language?: string | null;
  pageUrl?: string | null;
  referrer?: string | null;
  timezone?: string | null;
}

export interface Chatroom {
  chatroomId: string;
  status: ChatroomStatus;
  name: string;
  email: string;
  identityVerified: boolean;
  agent: { id: string; name: string } | null;
  lastSeq: number;
  visitorReadSeq: number;
  agentReadSeq: number;
  createdAt: string;
  /** Since when it waits in the queue; only while `status` is `waiting`. */
  waitingSince?: string;
  /** The agent Parley offers it to (automatic routing), until `until`; only while offered. */
  offer?: Offer;
  standbyUntil?: string;
  closeReason?: string;
  transcriptRequested: boolean;
  visitor: VisitorInfo;
}

/** A waiting chatroom offered to one agent, who accepts it (joins) or declines it before `until`. */
export interface Offer {
  agentId: string;
  agentName: string;
  until: string;
}

/** A stored message as a client keeps it: placed by `seq`, each once. */
export interface ChatMessage {
  seq: number;
  clientMsgId: string | null;
  sender: Sender;
  text: string;
  sentAt: string;
}
