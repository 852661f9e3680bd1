// The team's settings: its name, and the name its emails to visitors come from.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { Tenant, TenantUpdate } from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { session } from "../../session";
import { strings } from "../../strings";
import { AdminFrame, Field, FormError, useAction, useLoad } from "../../ui";

const TENANT = `${BASE.tenant}/tenant`;

const t = strings.admin.settings;

export function Settings() {
  const loaded = useLoad(() => session.api<Tenant>("GET", TENANT));
  return (
    <AdminFrame title={t.title} intro={t.intro}>
      {loaded.data ? (
        <SettingsForm tenant={loaded.data} onSaved={loaded.set} />
      ) : loaded.failure ? (
        <FormError text={sentence(loaded.failure)} />
      ) : (
        <p class="muted">{strings.common.loading}</p>
      )}
    </AdminFrame>
  );
}

function SettingsForm({ tenant, onSaved }: { tenant: Tenant; onSaved: (tenant: Tenant) => void }) {
  const [name, setName] = useState(tenant.name);
  // The server answers the name in use; an own sender name is one that differs from the team's.
  const [sender, setSender] = useState(tenant.emailSenderName === tenant.name ? "" : tenant.emailSenderName);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    const update: TenantUpdate = { name: name.trim(), emailSenderName: sender.trim() || null };
    const answer = await session.api<Tenant>("PATCH", TENANT, update);
    onSaved(answer);
    setSaved(true);
    await session.reload();
  });
  const refused = invalidField(save.failure);
  const at = (field: string) => (refused?.field === field ? fieldSentence(refused) : undefined);
  return (
    <section class="card narrow" aria-labelledby="tenant-title">
      <h2 id="tenant-title">{t.team}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          void save.run();
        }}
      >
        <Field
          label={t.teamName}
          id="tenant-name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          required
          maxLength={100}
          error={at("name")}
        />
        <Field
          label={t.senderName}
          id="tenant-sender"
          value={sender}
          placeholder={name}
          onInput={(e) => setSender(e.currentTarget.value)}
          maxLength={100}
          hint={t.senderNameHint}
          error={at("emailSenderName")}
        />
        <FormError text={save.failure && !refused ? sentence(save.failure) : null} />
        <button type="submit" class="primary" disabled={save.busy}>
          {save.busy ? strings.common.saving : t.save}
        </button>
        <p role="status" class="notice">
          {saved ? t.saved : ""}
        </p>
      </form>
    </section>
  );
}
