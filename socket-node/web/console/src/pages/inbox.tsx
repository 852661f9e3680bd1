// The agent's inbox: the tenant's queue (oldest first, with how long each has waited, and which
// are offered to whom: one offered to this agent stands out, to accept or decline before the
// offer lapses), the chatrooms this agent holds, for moderators every open chatroom, and the
// conversation open in the middle with its visitor beside it, which its holder can transfer to
// another agent or put back in the queue. A moderator opening another agent's conversation
// watches it, read-only, until they open another.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Chatroom } from "../../../shared/chat";
import { sentence } from "../errors";
import { live, type Refusal, type Room } from "../live";
import { navigate, ROOT } from "../router";
import { session } from "../session";
import { strings } from "../strings";
import { useLive } from "../ui";

const t = strings.inbox;

export function Inbox({ open }: { open: string | null }) {
  useLive(30_000);
  const moderator = session.can("chatrooms:moderate");
  useEffect(() => {
    if (!open || !moderator || live.rooms.has(open)) return;
    live.watch(open);
    return () => live.unwatch(open);
  }, [open, moderator]);
  const mine = [...live.rooms.values()].filter((r) => !r.watching);
  const room = open ? live.rooms.get(open) : undefined;
  const refused = open ? live.refusedWatch.get(open) : undefined;
  const handed = open ? live.handedOver.get(open) : undefined;
  return (
    <div class="inbox">
      <nav class="lists" aria-label={t.lists}>
        {live.link !== "live" && (
          <p class="banner" role="status">
            {live.link === "connecting" ? t.connecting : t.reconnecting}
          </p>
        )}
        <Queue />
        <section aria-labelledby="mine-title">
          <h2 id="mine-title">{t.mine(mine.length)}</h2>
          {mine.length === 0 ? (
            <p class="empty">{t.mineEmpty}</p>
          ) : (
            <ul class="rooms">
              {mine.map((r) => (
                <li key={r.chatroom.chatroomId}>
                  <a
                    href={`${ROOT}/chatrooms/${r.chatroom.chatroomId}`}
                    aria-current={r.chatroom.chatroomId === open ? "page" : undefined}
                  >
                    <strong>
                      {r.chatroom.name} <Unread room={r} />
                    </strong>
                    <span class={`status ${r.chatroom.status}`}>{r.chatroom.status}</span>
                    <span class="preview">{r.messages.at(-1)?.text ?? ""}</span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </section>
        {moderator && <AllOpen current={open} />}
      </nav>
      {room ? (
        <Conversation room={room} />
      ) : (
        <section class="placeholder">
          <p>
            {handed !== undefined
              ? handed === null
                ? t.handedBack
                : t.handedTo(handed)
              : refused
                ? sentence(refused)
                : open
                  ? moderator
                    ? t.opening
                    : t.notYours
                  : t.pick}
          </p>
        </section>
      )}
    </div>
  );
}

/** Every open chatroom of the tenant, for moderators: who holds it, or that it waits. */
function AllOpen({ current }: { current: string | null }) {
  return (
    <section aria-labelledby="open-title">
      <h2 id="open-title">{t.allOpen(live.open.length)}</h2>
      {live.open.length === 0 ? (
        <p class="empty">{t.noneOpen}</p>
      ) : (
        <ul class="rooms">
          {live.open.map((c) => (
            <li key={c.chatroomId}>
              <a
                href={`${ROOT}/chatrooms/${c.chatroomId}`}
                aria-current={c.chatroomId === current ? "page" : undefined}
              >
                <strong>{c.name}</strong>
                <span class={`status ${c.status}`}>{c.status}</span>
                <span class="preview">{c.agent ? t.heldBy(c.agent.name) : t.nobodyJoined}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Queue() {
  const me = live.me();
  // An offer to this agent counts down by the second; otherwise the minutes waited are enough.
  useLive(live.queue.some((c) => c.offer && c.offer.agentId === me) ? 1_000 : 30_000);
  const [refusals, setRefusals] = useState<Record<string, string>>({});
  const join = async (chatroom: Chatroom) => {
    try {
      await live.join(chatroom.chatroomId);
      navigate(`${ROOT}/chatrooms/${chatroom.chatroomId}`);
    } catch (error) {
      const frame = error as Refusal;
      const text = frame.code === "chatroom_already_claimed" ? t.wonBy(frame.message) : sentence(frame);
      setRefusals((all) => ({ ...all, [chatroom.chatroomId]: text }));
    }
  };
  const decline = (chatroom: Chatroom) => {
    setRefusals(({ [chatroom.chatroomId]: _, ...others }) => others);
    live.decline(chatroom.chatroomId);
  };
  // Offers to this agent first, then the queue as it is (oldest first).
  const queue = [...live.queue].sort(
    (a, b) => Number(b.offer?.agentId === me && !!me) - Number(a.offer?.agentId === me && !!me),
  );
  return (
    <section aria-labelledby="queue-title">
      <h2 id="queue-title">{t.waiting(live.queue.length)}</h2>
      {queue.length === 0 ? (
        <p class="empty">{t.nobodyWaiting}</p>
      ) : (
        <ul class="rooms">
          {queue.map((c) => {
            const offered = !!c.offer && !!me && c.offer.agentId === me;
            const refusal = refusals[c.chatroomId] ?? queueRefusal(c.chatroomId);
            return (
              <li key={c.chatroomId} class={offered ? "waiting offered" : "waiting"}>
                {offered && (
                  <p class="offer">
                    <strong>{t.offeredToYou}</strong>
                    <span class="countdown">{t.offerLeft(secondsLeft(c.offer?.until))}</span>
                  </p>
                )}
                <div>
                  <strong>{c.name}</strong> <span class="muted">{c.email}</span>
                  {c.identityVerified && <span class="badge">{t.visitor.verified}</span>}
                  <span class="muted">{t.waited(since(c.waitingSince ?? c.createdAt))}</span>
                  {c.offer && !offered && <span class="offered-to">{t.offeredTo(c.offer.agentName)}</span>}
                </div>
                {offered ? (
                  <span class="offer-actions">
                    <button
                      type="button"
                      class="primary small"
                      onClick={() => join(c)}
                      aria-label={t.acceptNamed(c.name)}
                    >
                      {t.accept}
                    </button>
                    <button
                      type="button"
                      class="small"
                      onClick={() => decline(c)}
                      aria-label={t.declineNamed(c.name)}
                    >
                      {t.decline}
                    </button>
                  </span>
                ) : (
                  <button
                    type="button"
                    class="primary small"
                    onClick={() => join(c)}
                    aria-label={t.joinNamed(c.name)}
                  >
                    {t.join}
                  </button>
                )}
                {refusal && (
                  <p class="field-error" role="alert">
                    {refusal}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {Object.entries(refusals)
        .filter(([id]) => !live.queue.some((c) => c.chatroomId === id))
        .map(([id, text]) => (
          <p key={id} class="field-error" role="alert">
            {text}
          </p>
        ))}
    </section>
  );
}

/** Why the server refused something done to a waiting chatroom (a decline), in words. */
function queueRefusal(chatroomId: string): string | undefined {
  const refusal = live.queueRefusals.get(chatroomId);
  return refusal && sentence(refusal, "decline");
}

/** Whole seconds until `until`, never below zero. */
function secondsLeft(until: string | undefined): number {
  return until ? Math.max(0, Math.ceil((new Date(until).getTime() - Date.now()) / 1000)) : 0;
}

function Conversation({ room }: { room: Room }) {
  const { chatroom } = room;
  const id = chatroom.chatroomId;
  const log = useRef<HTMLDivElement>(null);
  const [text, setText] = useState("");
  const [confirming, setConfirming] = useState(false);
  // The last refusal of a join or a transfer made here, and where (its sentence may differ).
  const [refused, setRefused] = useState<{ error: Refusal; where: "join" | "transfer" } | null>(null);
  const typingSent = useRef(0);
  const ended = ["closed", "stale", "blocked"].includes(chatroom.status);
  // Another agent's messages (before a transfer, or those a watcher reads) carry their name.
  const me = live.me();
  const shown = useRef({ first: 0, last: 0, height: 0 });

  // A new message (or another conversation) scrolls to the end; an earlier page keeps the reader
  // where they were. (What this render drew: `room` changes under it before the effect runs.)
  const first = room.messages[0]?.seq ?? 0;
  const last = room.messages.at(-1)?.seq ?? 0;
  const sending = room.pending.length;
  useEffect(() => {
    const el = log.current;
    if (!el) return;
    const before = shown.current;
    if (first < before.first && last === before.last) el.scrollTop += el.scrollHeight - before.height;
    else if (last !== before.last || sending) el.scrollTop = el.scrollHeight;
    shown.current = { first, last, height: el.scrollHeight };
    if (document.visibilityState === "visible") live.read(id);
  });

  const submit = (event: Event) => {
    event.preventDefault();
    const message = text.trim();
    if (!message) return;
    live.message(id, message);
    live.typing(id, false);
    typingSent.current = 0;
    setText("");
  };
  const onInput = (value: string) => {
    setText(value);
    if (Date.now() - typingSent.current > 3000) {
      live.typing(id, true);
      typingSent.current = Date.now();
    }
  };

  return (
    <>
      <section class="conversation" aria-labelledby="conversation-title">
        <header>
          <div>
            <h2 id="conversation-title">{chatroom.name}</h2>
            <p class="muted">
              <span class={`status ${chatroom.status}`}>{chatroom.status}</span>
              {chatroom.status === "standby" && t.away}
              {room.watching && t.watching(chatroom.agent?.name ?? null)}
            </p>
          </div>
          {!ended && (
            <div class="actions">
              {room.watching ? (
                chatroom.status === "waiting" && (
                  <button
                    type="button"
                    class="primary"
                    onClick={() =>
                      live.join(id).then(
                        () => setRefused(null),
                        (error: Refusal) => setRefused({ error, where: "join" }),
                      )
                    }
                  >
                    {t.join}
                  </button>
                )
              ) : (
                <>
                  <Transfer
                    chatroomId={id}
                    onRefused={(error) => setRefused(error && { error, where: "transfer" })}
                  />
                  <button type="button" onClick={() => live.leave(id)}>
                    {t.leave}
                  </button>
                </>
              )}
              <button type="button" onClick={() => live.mark(id, "stale")}>
                {t.markStale}
              </button>
              <button type="button" onClick={() => live.close(id)}>
                {t.close}
              </button>
              <button type="button" class="danger" onClick={() => setConfirming(true)}>
                {t.block}
              </button>
            </div>
          )}
        </header>
        {confirming && (
          <div class="confirm" role="alertdialog" aria-labelledby="block-question">
            <p id="block-question">{t.blockQuestion(chatroom.name)}</p>
            <button
              type="button"
              class="danger"
              onClick={() => {
                setConfirming(false);
                live.mark(id, "blocked");
              }}
            >
              {t.blockVisitor}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              {t.cancel}
            </button>
          </div>
        )}
        {(room.refusal ?? refused) && (
          <p class="form-error" role="alert">
            {room.refusal ? sentence(room.refusal) : sentence(refused?.error, refused?.where)}
          </p>
        )}
        <div class="log" role="log" aria-label={t.messages} ref={log}>
          {room.older !== "none" && (
            <p class="earlier">
              <button type="button" disabled={room.older === "loading"} onClick={() => live.earlier(id)}>
                {room.older === "loading" ? t.loadingEarlier : t.loadEarlier}
              </button>
            </p>
          )}
          <ol>
            {room.messages.map((m) => (
              <li key={m.seq} class={`msg ${m.sender.kind}`} data-seq={m.seq}>
                {(m.sender.kind === "visitor" || (m.sender.kind === "agent" && m.sender.id !== me)) && (
                  <span class="who">{m.sender.name}</span>
                )}
                <p class="bubble">{m.text}</p>
                <span class="meta">
                  {time(m.sentAt)}
                  {m.sender.kind === "agent" && (chatroom.visitorReadSeq >= m.seq ? t.read : t.sent)}
                </span>
              </li>
            ))}
            {room.pending.map((p) => (
              <li key={p.clientMsgId} class="msg agent">
                <p class="bubble">{p.text}</p>
                <span class="meta">{t.sending}</span>
              </li>
            ))}
          </ol>
        </div>
        <p class="typing" aria-live="polite">
          {room.visitorTyping ? t.typing(chatroom.name) : ""}
        </p>
        {ended ? (
          <p class="ended">{t.ended(chatroom.closeReason ?? chatroom.status)}</p>
        ) : room.watching ? (
          <p class="ended">{chatroom.agent ? t.onlyHolder(chatroom.agent.name) : t.joinToReply}</p>
        ) : (
          <form class="composer" onSubmit={submit}>
            <textarea
              aria-label={t.message}
              placeholder={t.replyTo(chatroom.name)}
              value={text}
              onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) submit(e);
              }}
            />
            <button type="submit" class="primary">
              {t.send}
            </button>
          </form>
        )}
      </section>
      <aside class="visitor-panel" aria-labelledby="visitor-title">
        <h2 id="visitor-title">{t.visitor.title}</h2>
        <dl>
          <dt>{t.visitor.name}</dt>
          <dd>{chatroom.name}</dd>
          <dt>{t.visitor.email}</dt>
          <dd>
            {chatroom.email}{" "}
            {chatroom.identityVerified ? (
              <span class="badge">{t.visitor.verified}</span>
            ) : (
              <span class="muted">{t.visitor.notVerified}</span>
            )}
          </dd>
          <dt>{t.visitor.started}</dt>
          <dd>{new Date(chatroom.createdAt).toLocaleString()}</dd>
          <Detail term={t.visitor.page} value={chatroom.visitor.pageUrl} />
          <Detail term={t.visitor.cameFrom} value={chatroom.visitor.referrer} />
          <Detail term={t.visitor.browser} value={chatroom.visitor.browser} />
          <Detail term={t.visitor.system} value={chatroom.visitor.os} />
          <Detail term={t.visitor.language} value={chatroom.visitor.language} />
          <Detail term={t.visitor.timezone} value={chatroom.visitor.timezone} />
          <Detail term={t.visitor.ip} value={chatroom.visitor.ip} />
          {chatroom.transcriptRequested && (
            <>
              <dt>{t.visitor.transcript}</dt>
              <dd>{t.visitor.transcriptRequested}</dd>
            </>
          )}
        </dl>
      </aside>
    </>
  );
}

/**
 * "Transfer": a menu of the agents who can take the conversation now (online, below their
 * limit, not this agent) with their load, and "Back to queue". The menu follows the `agents`
 * frames while open; a refusal (the agent went away meanwhile, say) goes to `onRefused`.
 */
function Transfer(props: { chatroomId: string; onRefused: (error: Refusal | null) => void }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (event: MouseEvent) => {
      if (!box.current?.contains(event.target as Node)) setOpen(false);
    };
    const onEscape = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    document.addEventListener("keydown", onEscape);
    return () => {
      document.removeEventListener("mousedown", outside);
      document.removeEventListener("keydown", onEscape);
    };
  }, [open]);
  const hand = async (toAgentId?: string) => {
    setBusy(true);
    props.onRefused(null);
    try {
      await live.transfer(props.chatroomId, toAgentId);
    } catch (error) {
      props.onRefused(error as Refusal);
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };
  const agents = live.available();
  const menu = `transfer-${props.chatroomId}`;
  return (
    <div class="transfer" ref={box}>
      <button
        type="button"
        aria-expanded={open}
        aria-controls={menu}
        disabled={busy}
        onClick={() => setOpen(!open)}
      >
        {busy ? t.transferring : t.transfer} <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <fieldset class="transfer-menu" id={menu}>
          <legend>{t.transferTitle}</legend>
          {agents.length === 0 ? (
            <p class="empty">{t.nobodyAvailable}</p>
          ) : (
            <ul>
              {agents.map((a) => (
                <li key={a.id}>
                  <button type="button" onClick={() => void hand(a.id)}>
                    <span class="dot online" aria-hidden="true" />
                    <span class="agent-name">
                      <span class="visually-hidden">{t.transferToBefore}</span>
                      {a.name}
                    </span>
                    <span class="muted">{t.agentLoad(a.load, a.maxConcurrent)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <button type="button" class="back-to-queue" onClick={() => void hand()}>
            {t.backToQueue}
          </button>
        </fieldset>
      )}
    </div>
  );
}

/** How many of the visitor's messages the agent has not seen yet. */
function Unread({ room }: { room: Room }) {
  const count = room.messages.filter(
    (m) => m.sender.kind === "visitor" && m.seq > room.chatroom.agentReadSeq,
  ).length;
  return count ? (
    <span class="unread">
      {count}
      <span class="visually-hidden">{t.unread}</span>
    </span>
  ) : null;
}

/** A row of the visitor panel, left out when the browser did not tell. */
function Detail({ term, value }: { term: string; value: string | null | undefined }) {
  if (!value) return null;
  return (
    <>
      <dt>{term}</dt>
      <dd>{value}</dd>
    </>
  );
}

function since(iso: string): string {
  return t.since(Math.floor((Date.now() - new Date(iso).getTime()) / 60_000));
}

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
