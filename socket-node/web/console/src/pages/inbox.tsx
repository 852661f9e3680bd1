// The agent's inbox: the tenant's queue (oldest first, with how long each has waited), the
// chatrooms this agent holds, for moderators every open chatroom, and the conversation open in
// the middle with its visitor beside it. A moderator opening another agent's conversation
// watches it, read-only, until they open another.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Chatroom } from "../../../shared/chat";
import { sentence } from "../errors";
import { live, type Room } from "../live";
import { navigate, ROOT } from "../router";
import { session } from "../session";
import { strings } from "../strings";

const t = strings.inbox;

export function Inbox({ open }: { open: string | null }) {
  const [, redraw] = useState(0);
  useEffect(() => {
    const unsubscribe = live.subscribe(() => redraw((n) => n + 1));
    redraw((n) => n + 1); // what arrived before this effect ran
    return unsubscribe;
  }, []);
  useEffect(() => {
    const tick = window.setInterval(() => redraw((n) => n + 1), 30_000);
    return () => clearInterval(tick);
  }, []);
  const moderator = session.can("chatrooms:moderate");
  useEffect(() => {
    if (!open || !moderator || live.rooms.has(open)) return;
    live.watch(open);
    return () => live.unwatch(open);
  }, [open, moderator]);
  const mine = [...live.rooms.values()].filter((r) => !r.watching);
  const room = open ? live.rooms.get(open) : undefined;
  const refused = open ? live.refusedWatch.get(open) : undefined;
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
          <p>{refused ? sentence(refused) : open ? (moderator ? t.opening : t.notYours) : t.pick}</p>
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
  const [refusals, setRefusals] = useState<Record<string, string>>({});
  const join = async (chatroom: Chatroom) => {
    try {
      await live.join(chatroom.chatroomId);
      navigate(`${ROOT}/chatrooms/${chatroom.chatroomId}`);
    } catch (error) {
      const frame = error as { code: string; message: string };
      const text = frame.code === "chatroom_already_claimed" ? t.wonBy(frame.message) : sentence(frame);
      setRefusals((all) => ({ ...all, [chatroom.chatroomId]: text }));
    }
  };
  return (
    <section aria-labelledby="queue-title">
      <h2 id="queue-title">{t.waiting(live.queue.length)}</h2>
      {live.queue.length === 0 ? (
        <p class="empty">{t.nobodyWaiting}</p>
      ) : (
        <ul class="rooms">
          {live.queue.map((c) => (
            <li key={c.chatroomId} class="waiting">
              <div>
                <strong>{c.name}</strong> <span class="muted">{c.email}</span>
                {c.identityVerified && <span class="badge">{t.visitor.verified}</span>}
                <span class="muted">{t.waited(since(c.createdAt))}</span>
              </div>
              <button
                type="button"
                class="primary small"
                onClick={() => join(c)}
                aria-label={t.joinNamed(c.name)}
              >
                {t.join}
              </button>
              {refusals[c.chatroomId] && (
                <p class="field-error" role="alert">
                  {refusals[c.chatroomId]}
                </p>
              )}
            </li>
          ))}
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

function Conversation({ room }: { room: Room }) {
  const { chatroom } = room;
  const id = chatroom.chatroomId;
  const log = useRef<HTMLDivElement>(null);
  const [text, setText] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [joinRefusal, setJoinRefusal] = useState<{ code: string; message: string } | null>(null);
  const typingSent = useRef(0);
  const ended = ["closed", "stale", "blocked"].includes(chatroom.status);
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
                        () => setJoinRefusal(null),
                        (frame: { code: string; message: string }) => setJoinRefusal(frame),
                      )
                    }
                  >
                    {t.join}
                  </button>
                )
              ) : (
                <button type="button" onClick={() => live.leave(id)}>
                  {t.leave}
                </button>
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
        {(room.refusal ?? joinRefusal) && (
          <p class="form-error" role="alert">
            {sentence(room.refusal ?? joinRefusal)}
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
                {m.sender.kind === "visitor" && <span class="who">{m.sender.name}</span>}
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
