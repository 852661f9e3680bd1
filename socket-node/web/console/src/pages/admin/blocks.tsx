// Blocked visitors (chatrooms:moderate): whom agents blocked, from which address and chatbot, by
// whom and when, newest first, a page at a time; lifting a block (confirmed) lets that visitor
// start conversations again at once.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { Block, BlockPage } from "../../api/types";
import { sentence } from "../../errors";
import { ROOT } from "../../router";
import { session } from "../../session";
import { strings } from "../../strings";
import { AdminFrame, AdminPending, Confirm, FormError, useAction, useLoad } from "../../ui";

const BLOCKS = `${BASE.chatbots}/blocks`;

const t = strings.admin.blocks;
const { common } = strings;

const page = (before: string | null) =>
  session.api<BlockPage>("GET", before ? `${BLOCKS}?before=${encodeURIComponent(before)}` : BLOCKS);

export function Blocks() {
  const loaded = useLoad(() => page(null));
  const [notice, setNotice] = useState("");
  const more = useAction(async () => {
    const shown = loaded.data;
    if (!shown?.next) return;
    const next = await page(shown.next);
    loaded.set({ blocks: [...shown.blocks, ...next.blocks], next: next.next ?? null });
  });
  if (!loaded.data) return <AdminPending title={t.title} intro={t.intro} failure={loaded.failure} />;
  const shown = loaded.data;
  return (
    <AdminFrame title={t.title} intro={t.intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      <section aria-labelledby="blocks-title" class="card">
        <h2 id="blocks-title">{t.list}</h2>
        {shown.blocks.length === 0 ? (
          <p class="muted">{t.none}</p>
        ) : (
          <div class="scroll">
            <table class="list blocks">
              <thead>
                <tr>
                  <th scope="col">{t.visitor}</th>
                  <th scope="col">{t.address}</th>
                  <th scope="col">{t.chatbot}</th>
                  <th scope="col">{t.blockedBy}</th>
                  <th scope="col">{t.when}</th>
                  <th scope="col">
                    <span class="visually-hidden">{common.actions}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.blocks.map((block) => (
                  <BlockRow
                    key={block.id}
                    block={block}
                    onLifted={() => {
                      loaded.set({ ...shown, blocks: shown.blocks.filter((b) => b.id !== block.id) });
                      setNotice(t.lifted(block.email));
                    }}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {shown.next && (
          <button type="button" class="small" onClick={() => void more.run()} disabled={more.busy}>
            {t.showMore}
          </button>
        )}
        <FormError text={more.failure ? sentence(more.failure) : null} />
      </section>
    </AdminFrame>
  );
}

function BlockRow({ block, onLifted }: { block: Block; onLifted: () => void }) {
  const [asking, setAsking] = useState(false);
  const lift = useAction(async () => {
    await session.api("DELETE", `${BLOCKS}/${block.id}`);
    onLifted();
  });
  return (
    <>
      <tr>
        <td>
          <strong>{block.email}</strong>
          <br />
          <a class="small-text" href={`${ROOT}/chatrooms/${block.chatroomId}`}>
            {t.conversation}
          </a>
        </td>
        <td>{block.ip ?? <span class="muted">{t.noAddress}</span>}</td>
        <td>{block.chatbotName ?? <span class="muted">{t.deletedChatbot}</span>}</td>
        <td>{block.blockedBy.name ?? <span class="muted">{t.formerAgent}</span>}</td>
        <td>{when(block.createdAt)}</td>
        <td class="actions-cell">
          {!asking && (
            <button
              type="button"
              class="small"
              onClick={() => setAsking(true)}
              aria-label={t.liftNamed(block.email)}
            >
              {t.lift}
            </button>
          )}
        </td>
      </tr>
      {(asking || lift.failure) && (
        <tr class="row-note">
          <td colSpan={6}>
            {asking && (
              <Confirm
                question={t.liftQuestion(block.email)}
                yes={t.liftYes}
                busy={lift.busy}
                onYes={() => void lift.run()}
                onNo={() => {
                  setAsking(false);
                  lift.clear();
                }}
              />
            )}
            {lift.failure ? (
              <p class="field-error" role="alert">
                {block.email}: {sentence(lift.failure)}
              </p>
            ) : null}
          </td>
        </tr>
      )}
    </>
  );
}

const when = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
