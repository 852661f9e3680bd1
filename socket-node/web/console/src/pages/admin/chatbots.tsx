// Chatbots: the widgets a team puts on its sites. Create and edit one (name, the sites allowed to
// show it, its look, whether visitors must be vouched for), with a drawn preview of the launcher
// and the panel; rotate or revoke its API key, rotate its identity secret, copy the snippet.
// A key or secret is shown once, right after it is made, and lives only in this page's memory:
// never in the address, the browser's storage or a log.

import { useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type {
  Chatbot,
  ChatbotSettings,
  ChatbotUpdate,
  Credentials,
  NewChatbot,
  RotateApiKey,
  Snippet,
} from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { session } from "../../session";
import { AdminFrame, Area, Confirm, CopyButton, Field, FormError, useAction, useLoad } from "../../ui";

const CHATBOTS = `${BASE.chatbots}/chatbots`;

const DEFAULTS: ChatbotSettings = {
  greeting: "Thanks for reaching out! A live agent will join shortly.",
  colour: "#2563eb",
  position: "bottom-right",
  launcherText: "Chat with us",
};

/** What was just made: shown once, then gone with this page. */
interface Secrets {
  chatbotId: string;
  apiKey?: string | null | undefined;
  identitySecret?: string | null | undefined;
  snippet?: string | null | undefined;
}

export function Chatbots() {
  const loaded = useLoad(() => session.api<Chatbot[]>("GET", CHATBOTS));
  const [selected, setSelected] = useState<string | null>(null);
  const [secrets, setSecrets] = useState<Secrets | null>(null);
  const [notice, setNotice] = useState("");
  const intro =
    "A chatbot is the chat widget on your sites: where it may appear, how it looks, and its keys.";
  if (!loaded.data)
    return (
      <AdminFrame title="Chatbots" intro={intro}>
        {loaded.failure ? <FormError text={sentence(loaded.failure)} /> : <p class="muted">Loading…</p>}
      </AdminFrame>
    );
  const bots = loaded.data;
  const editing =
    selected === "new" || bots.length === 0 ? null : (bots.find((b) => b.id === selected) ?? null);
  const replace = (bot: Chatbot) => loaded.set(bots.map((b) => (b.id === bot.id ? bot : b)));
  const reveal = (made: Credentials, text: string) => {
    replace(made.chatbot);
    setSecrets({ chatbotId: made.chatbot.id, ...made });
    setNotice(text);
  };
  return (
    <AdminFrame title="Chatbots" intro={intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      {secrets && editing?.id === secrets.chatbotId && (
        <SecretsPanel secrets={secrets} onDone={() => setSecrets(null)} />
      )}
      <div class="admin-columns wide-right">
        <section aria-labelledby="bots-title" class="card">
          <div class="card-head">
            <h2 id="bots-title">Your chatbots ({bots.length})</h2>
            <button type="button" class="small" onClick={() => setSelected("new")}>
              New chatbot
            </button>
          </div>
          {bots.length === 0 ? (
            <p class="muted">None yet: make the first one here.</p>
          ) : (
            <ul class="bots">
              {bots.map((b) => (
                <li key={b.id} aria-current={b.id === editing?.id ? "true" : undefined}>
                  <span class="swatch" style={{ background: b.settings.colour }} />
                  <span class="bot-name">
                    <strong>{b.name}</strong>
                    <span class="muted small-text">
                      {b.allowedOrigins.length === 1 ? "1 site" : `${b.allowedOrigins.length} sites`} ·{" "}
                      {b.apiKey ? b.apiKey.masked : "no key"}
                    </span>
                  </span>
                  <span class={`pill ${b.status}`}>{b.status === "disabled" ? "Disabled" : "Active"}</span>
                  <button
                    type="button"
                    class="small"
                    onClick={() => setSelected(b.id)}
                    aria-label={`Edit ${b.name}`}
                  >
                    Edit
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <div class="stack">
          <ChatbotForm
            key={editing?.id ?? "new"}
            bot={editing}
            onCreated={(made) => {
              loaded.set([...bots, made.chatbot]);
              setSelected(made.chatbot.id);
              setSecrets({ chatbotId: made.chatbot.id, ...made });
              setNotice(`${made.chatbot.name} is made. Copy its key now.`);
            }}
            onSaved={(bot) => {
              replace(bot);
              setNotice(`${bot.name}'s changes are saved.`);
            }}
          />
          {editing && (
            <KeysPanel
              key={`keys-${editing.id}`}
              bot={editing}
              onChanged={(bot, text) => {
                replace(bot);
                setNotice(text);
              }}
              onSecret={reveal}
              onDeleted={() => {
                loaded.set(bots.filter((b) => b.id !== editing.id));
                setSelected(null);
                setSecrets(null);
                setNotice(`${editing.name} was deleted. Its widget no longer appears anywhere.`);
              }}
            />
          )}
        </div>
      </div>
    </AdminFrame>
  );
}

function SecretsPanel({ secrets, onDone }: { secrets: Secrets; onDone: () => void }) {
  return (
    <section class="secrets" aria-labelledby="secrets-title">
      <h2 id="secrets-title">Copy it now: it won't be shown again</h2>
      <p>
        Parley keeps only a fingerprint of each key and secret. Store them somewhere safe (a password manager,
        your server's settings). If one is lost, rotate it to make a new one.
      </p>
      {secrets.apiKey && (
        <Secret label="API key" value={secrets.apiKey} hint="Goes in the snippet on your site's pages." />
      )}
      {secrets.identitySecret && (
        <Secret
          label="Identity secret"
          value={secrets.identitySecret}
          hint="Stays on your servers: it signs the visitors you vouch for. Never put it in a web page."
        />
      )}
      {secrets.snippet && (
        <div class="field">
          <label for="secret-snippet">Snippet with the key</label>
          <textarea id="secret-snippet" class="code" readOnly rows={4} value={secrets.snippet} />
          <CopyButton text={secrets.snippet} label="Copy snippet" />
        </div>
      )}
      <button type="button" class="primary" onClick={onDone}>
        I've saved it
      </button>
    </section>
  );
}

function Secret({ label, value, hint }: { label: string; value: string; hint: string }) {
  const id = `secret-${label.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="row">
        <input id={id} class="code" readOnly value={value} aria-describedby={`${id}-hint`} />
        <CopyButton text={value} label={`Copy ${label.replace("Identity", "identity")}`} />
      </div>
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

function ChatbotForm(props: {
  bot: Chatbot | null;
  onCreated: (made: Credentials) => void;
  onSaved: (bot: Chatbot) => void;
}) {
  const { bot } = props;
  const [name, setName] = useState(bot?.name ?? "");
  const [origins, setOrigins] = useState(bot?.allowedOrigins.join("\n") ?? "");
  const [settings, setSettings] = useState<ChatbotSettings>(bot?.settings ?? DEFAULTS);
  const [enforceIdentity, setEnforceIdentity] = useState(bot?.enforceIdentity ?? false);
  const set = (field: keyof ChatbotSettings) => (e: { currentTarget: { value: string } }) =>
    setSettings({ ...settings, [field]: e.currentTarget.value });
  const entries = lines(origins);
  const save = useAction(async () => {
    const body = { name: name.trim(), allowedOrigins: entries, settings, enforceIdentity };
    if (bot)
      props.onSaved(
        await session.api<Chatbot>("PATCH", `${CHATBOTS}/${bot.id}`, body satisfies ChatbotUpdate),
      );
    else props.onCreated(await session.api<Credentials>("POST", CHATBOTS, body satisfies NewChatbot));
  });
  const refused = invalidField(save.failure);
  const at = (field: string, list?: string[]) =>
    refused?.field === field ? fieldSentence(refused, list) : undefined;
  const code = (save.failure as { code?: string } | null)?.code;
  const originsError = code === "too_many_origins" ? sentence(save.failure) : at("allowedOrigins", entries);
  const fields = [
    "name",
    "settings.colour",
    "settings.launcherText",
    "settings.greeting",
    "settings.position",
  ];
  const general = save.failure && !originsError && !fields.some((f) => at(f)) ? sentence(save.failure) : null;
  return (
    <section class="card" aria-labelledby="bot-form-title">
      <h2 id="bot-form-title">{bot ? `Edit ${bot.name}` : "New chatbot"}</h2>
      <div class="bot-editor">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field
            label="Name"
            id="bot-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
            maxLength={100}
            hint="Shown at the top of the chat panel until an agent joins."
            error={at("name")}
          />
          <Area
            label="Allowed websites"
            id="bot-origins"
            hint="One per line: https://www.example.com, https://*.example.com for every subdomain, or * for anywhere. Empty: nowhere."
            rows={3}
            value={origins}
            onInput={(e) => setOrigins(e.currentTarget.value)}
            error={originsError}
          />
          <div class="row">
            <Field
              label="Colour"
              id="bot-colour"
              type="color"
              value={settings.colour}
              onInput={set("colour")}
              error={at("settings.colour")}
            />
            <div class="field">
              <label for="bot-position">Position</label>
              <select id="bot-position" value={settings.position} onChange={set("position")}>
                <option value="bottom-right">Bottom right</option>
                <option value="bottom-left">Bottom left</option>
              </select>
            </div>
          </div>
          <Field
            label="Launcher text"
            id="bot-launcher"
            value={settings.launcherText}
            onInput={set("launcherText")}
            required
            maxLength={40}
            error={at("settings.launcherText")}
          />
          <Area
            label="Greeting"
            id="bot-greeting"
            rows={2}
            value={settings.greeting}
            onInput={set("greeting")}
            required
            maxLength={500}
            error={at("settings.greeting")}
          />
          <label class="check">
            <input
              type="checkbox"
              checked={enforceIdentity}
              onChange={(e) => setEnforceIdentity(e.currentTarget.checked)}
            />
            Only visitors your site vouches for (signed identity)
          </label>
          <FormError text={general} />
          <button type="submit" class="primary" disabled={save.busy}>
            {save.busy ? "Saving…" : bot ? "Save changes" : "Create chatbot"}
          </button>
        </form>
        <Preview name={name.trim() || "Your chatbot"} settings={settings} />
      </div>
    </section>
  );
}

/** White or near-black, whichever reads better on the colour (as the widget's loader decides). */
function onAccent(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const luminance = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return luminance > 0.6 ? "#111827" : "#ffffff";
}

/** A drawing of the widget with these settings, as a visitor will see it: not the widget itself. */
function Preview({ name, settings }: { name: string; settings: ChatbotSettings }) {
  const side = settings.position === "bottom-left" ? "left" : "right";
  const colour = /^#[0-9a-f]{6}$/i.test(settings.colour) ? settings.colour : DEFAULTS.colour;
  const description = `Preview: the panel titled ${name} with the greeting, and the ${settings.launcherText} button at the bottom ${side}.`;
  return (
    <figure class="preview">
      <figcaption>Preview</figcaption>
      <div
        class={`pv-page ${side}`}
        role="img"
        aria-label={description}
        style={{ "--pv-accent": colour, "--pv-on-accent": onAccent(colour) }}
      >
        <div class="pv-panel">
          <div class="pv-header">
            <span class="pv-title">{name}</span>
            <span class="pv-subtitle">We'll be with you shortly</span>
          </div>
          <div class="pv-body">
            <p class="pv-greeting">{settings.greeting}</p>
            <span class="pv-input" />
            <span class="pv-input" />
            <span class="pv-button">Start chat</span>
          </div>
        </div>
        <span class="pv-launcher">
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" />
          </svg>
          {settings.launcherText}
        </span>
      </div>
    </figure>
  );
}

const GRACE = [
  { seconds: 0, label: "Stop it now" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 604_800, label: "7 days" },
];

function KeysPanel(props: {
  bot: Chatbot;
  onChanged: (bot: Chatbot, notice: string) => void;
  onSecret: (made: Credentials, notice: string) => void;
  onDeleted: () => void;
}) {
  const { bot } = props;
  const url = `${CHATBOTS}/${bot.id}`;
  const [grace, setGrace] = useState(86_400);
  const [asking, setAsking] = useState<"revoke" | "identity" | "delete" | null>(null);
  const snippet = useLoad(() => session.api<Snippet>("GET", `${url}/snippet`));
  const rotate = useAction(async () => {
    const made = await session.api<Credentials>("POST", `${url}/api-key/rotate`, {
      graceSeconds: grace,
    } satisfies RotateApiKey);
    snippet.reload();
    props.onSecret(made, "A new API key is made. Copy it now.");
  });
  const revoke = useAction(async () => {
    const saved = await session.api<Chatbot>("POST", `${url}/api-key/revoke`);
    setAsking(null);
    snippet.reload();
    props.onChanged(saved, `Every key of ${saved.name} is revoked: its widget is hidden until you rotate.`);
  });
  const identity = useAction(async () => {
    const made = await session.api<Credentials>("POST", `${url}/identity-secret/rotate`);
    setAsking(null);
    props.onSecret(made, "A new identity secret is made. Copy it now.");
  });
  const status = useAction(async () => {
    const next = bot.status === "disabled" ? "active" : "disabled";
    const saved = await session.api<Chatbot>("PATCH", url, { status: next } satisfies ChatbotUpdate);
    props.onChanged(saved, next === "disabled" ? `${saved.name} is disabled.` : `${saved.name} is enabled.`);
  });
  const remove = useAction(async () => {
    await session.api("DELETE", url);
    props.onDeleted();
  });
  const problem = (failure: unknown) =>
    failure ? (
      <p class="field-error" role="alert">
        {sentence(failure)}
      </p>
    ) : null;
  return (
    <section class="card" aria-labelledby="keys-title">
      <h2 id="keys-title">Keys and snippet</h2>
      <dl class="facts">
        <dt>API key</dt>
        <dd>
          {bot.apiKey ? <code>{bot.apiKey.masked}</code> : "None: revoked. Rotate to make a new one."}
          {bot.apiKey?.createdAt && <span class="muted"> · made {when(bot.apiKey.createdAt)}</span>}
        </dd>
        {bot.previousApiKey && (
          <>
            <dt>Previous key</dt>
            <dd>
              <code>{bot.previousApiKey.masked}</code>
              {bot.previousApiKey.expiresAt && (
                <span class="muted"> · works until {when(bot.previousApiKey.expiresAt)}</span>
              )}
            </dd>
          </>
        )}
        <dt>Identity secret</dt>
        <dd>made {when(bot.identitySecretCreatedAt)}</dd>
      </dl>

      <div class="row end">
        <div class="field">
          <label for="grace">Keep the old key working for</label>
          <select id="grace" value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {GRACE.map((g) => (
              <option key={g.seconds} value={g.seconds}>
                {g.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => void rotate.run()} disabled={rotate.busy}>
          Rotate API key
        </button>
      </div>
      {problem(rotate.failure)}
      <div class="row">
        <button type="button" class="danger" onClick={() => setAsking("revoke")} disabled={!bot.apiKey}>
          Revoke API keys
        </button>
        <button type="button" onClick={() => setAsking("identity")}>
          Rotate identity secret
        </button>
      </div>
      {asking === "revoke" && (
        <Confirm
          question={`Revoke every key of ${bot.name}? Its widget disappears from your sites at once, until you rotate and paste the new key.`}
          yes="Revoke now"
          busy={revoke.busy}
          onYes={() => void revoke.run()}
          onNo={() => setAsking(null)}
        />
      )}
      {problem(revoke.failure)}
      {asking === "identity" && (
        <Confirm
          question="Rotate the identity secret? Signatures made with the old one stop working at once: update your servers right after."
          yes="Rotate the secret"
          busy={identity.busy}
          onYes={() => void identity.run()}
          onNo={() => setAsking(null)}
        />
      )}
      {problem(identity.failure)}

      <h3>Snippet</h3>
      {snippet.data ? (
        <div class="field">
          <label for="bot-snippet">Paste before &lt;/body&gt; on your pages</label>
          <textarea id="bot-snippet" class="code" readOnly rows={4} value={snippet.data.html} />
          <p class="hint">
            The key is masked: put your key where <code>{snippet.data.apiKeyPlaceholder}</code> stands.
          </p>
          <CopyButton text={snippet.data.html} label="Copy snippet (masked key)" />
        </div>
      ) : (
        problem(snippet.failure)
      )}

      <h3>Status</h3>
      <div class="row">
        <button type="button" onClick={() => void status.run()} disabled={status.busy}>
          {bot.status === "disabled" ? `Enable ${bot.name}` : `Disable ${bot.name}`}
        </button>
        <button type="button" class="danger" onClick={() => setAsking("delete")}>
          Delete {bot.name}
        </button>
      </div>
      {problem(status.failure)}
      {asking === "delete" && (
        <Confirm
          question={`Delete ${bot.name}? Its widget disappears from your sites, and this can't be undone.`}
          yes="Delete for good"
          busy={remove.busy}
          onYes={() => void remove.run()}
          onNo={() => setAsking(null)}
        />
      )}
      {problem(remove.failure)}
    </section>
  );
}

const when = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
