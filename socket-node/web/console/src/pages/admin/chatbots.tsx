// Chatbots: the widgets a team puts on its sites. Create and edit one (name, the sites allowed to
// show it, its look, whether visitors must be vouched for), with a drawn preview of the launcher
// and the panel, and how its conversations reach agents (picked from the queue, or offered to one
// available agent at a time); rotate or revoke its API key, rotate its identity secret, copy the
// snippet.
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
  Routing,
  Snippet,
} from "../../api/types";
import { fieldSentence, invalidField, sentence } from "../../errors";
import { session } from "../../session";
import { strings } from "../../strings";
import {
  AdminFrame,
  AdminPending,
  Area,
  Confirm,
  CopyButton,
  Field,
  FormError,
  useAction,
  useLoad,
} from "../../ui";

const CHATBOTS = `${BASE.chatbots}/chatbots`;

const t = strings.admin.chatbots;
const { common } = strings;

const DEFAULTS: ChatbotSettings = {
  greeting: t.defaultGreeting,
  colour: "#2563eb",
  position: "bottom-right",
  launcherText: t.defaultLauncherText,
};

/** A new chatbot's routing: the API's defaults. */
const ROUTING: Routing = { mode: "manual", offerSeconds: 30 };
/** How long an automatic offer may wait for its agent (the API's bounds). */
const OFFER_SECONDS = { min: 5, max: 300 };

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
  if (!loaded.data) return <AdminPending title={t.title} intro={t.intro} failure={loaded.failure} />;
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
    <AdminFrame title={t.title} intro={t.intro}>
      <p role="status" class="notice">
        {notice}
      </p>
      {secrets && editing?.id === secrets.chatbotId && (
        <SecretsPanel secrets={secrets} onDone={() => setSecrets(null)} />
      )}
      <div class="admin-columns wide-right">
        <section aria-labelledby="bots-title" class="card">
          <div class="card-head">
            <h2 id="bots-title">{t.list(bots.length)}</h2>
            <button type="button" class="small" onClick={() => setSelected("new")}>
              {t.newChatbot}
            </button>
          </div>
          {bots.length === 0 ? (
            <p class="muted">{t.none}</p>
          ) : (
            <ul class="bots">
              {bots.map((b) => (
                <li key={b.id} aria-current={b.id === editing?.id ? "true" : undefined}>
                  <span class="swatch" style={{ background: b.settings.colour }} />
                  <span class="bot-name">
                    <strong>{b.name}</strong>
                    <span class="muted small-text">
                      {t.siteCount(b.allowedOrigins.length)} · {b.apiKey ? b.apiKey.masked : t.noKey}
                    </span>
                  </span>
                  <span class={`pill ${b.status}`}>
                    {b.status === "disabled" ? common.disabled : common.active}
                  </span>
                  <button
                    type="button"
                    class="small"
                    onClick={() => setSelected(b.id)}
                    aria-label={common.editNamed(b.name)}
                  >
                    {common.edit}
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
              setNotice(t.made(made.chatbot.name));
            }}
            onSaved={(bot) => {
              replace(bot);
              setNotice(common.changesSaved(bot.name));
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
                setNotice(t.deleted(editing.name));
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
      <h2 id="secrets-title">{t.secretsTitle}</h2>
      <p>{t.secretsIntro}</p>
      {secrets.apiKey && (
        <Secret label={t.apiKey} copy={t.copyApiKey} value={secrets.apiKey} hint={t.apiKeyHint} />
      )}
      {secrets.identitySecret && (
        <Secret
          label={t.identitySecret}
          copy={t.copyIdentitySecret}
          value={secrets.identitySecret}
          hint={t.identitySecretHint}
        />
      )}
      {secrets.snippet && (
        <div class="field">
          <label for="secret-snippet">{t.snippetWithKey}</label>
          <textarea id="secret-snippet" class="code" readOnly rows={4} value={secrets.snippet} />
          <CopyButton text={secrets.snippet} label={t.copySnippet} />
        </div>
      )}
      <button type="button" class="primary" onClick={onDone}>
        {t.savedIt}
      </button>
    </section>
  );
}

function Secret({ label, copy, value, hint }: { label: string; copy: string; value: string; hint: string }) {
  const id = `secret-${label.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="row">
        <input id={id} class="code" readOnly value={value} aria-describedby={`${id}-hint`} />
        <CopyButton text={value} label={copy} />
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
  const [mode, setMode] = useState<Routing["mode"]>(bot?.routing.mode ?? ROUTING.mode);
  const [offerSeconds, setOfferSeconds] = useState(String(bot?.routing.offerSeconds ?? ROUTING.offerSeconds));
  const set = (field: keyof ChatbotSettings) => (e: { currentTarget: { value: string } }) =>
    setSettings({ ...settings, [field]: e.currentTarget.value });
  const entries = lines(origins);
  const save = useAction(async () => {
    const body = {
      name: name.trim(),
      allowedOrigins: entries,
      settings,
      enforceIdentity,
      routing: routingOf(mode, offerSeconds, bot?.routing ?? ROUTING),
    };
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
    "routing.mode",
    "routing.offerSeconds",
  ];
  const general = save.failure && !originsError && !fields.some((f) => at(f)) ? sentence(save.failure) : null;
  return (
    <section class="card" aria-labelledby="bot-form-title">
      <h2 id="bot-form-title">{bot ? common.editNamed(bot.name) : t.newChatbot}</h2>
      <div class="bot-editor">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field
            label={common.name}
            id="bot-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
            maxLength={100}
            hint={t.nameHint}
            error={at("name")}
          />
          <Area
            label={t.allowedWebsites}
            id="bot-origins"
            hint={t.allowedWebsitesHint}
            rows={3}
            value={origins}
            onInput={(e) => setOrigins(e.currentTarget.value)}
            error={originsError}
          />
          <div class="row">
            <Field
              label={t.colour}
              id="bot-colour"
              type="color"
              value={settings.colour}
              onInput={set("colour")}
              error={at("settings.colour")}
            />
            <div class="field">
              <label for="bot-position">{t.position}</label>
              <select id="bot-position" value={settings.position} onChange={set("position")}>
                <option value="bottom-right">{t.bottomRight}</option>
                <option value="bottom-left">{t.bottomLeft}</option>
              </select>
            </div>
          </div>
          <Field
            label={t.launcherText}
            id="bot-launcher"
            value={settings.launcherText}
            onInput={set("launcherText")}
            required
            maxLength={40}
            error={at("settings.launcherText")}
          />
          <Area
            label={t.greeting}
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
            {t.enforceIdentity}
          </label>
          <RoutingFields
            mode={mode}
            offerSeconds={offerSeconds}
            onMode={setMode}
            onOfferSeconds={setOfferSeconds}
            error={at("routing.offerSeconds") ?? at("routing.mode")}
          />
          <FormError text={general} />
          <button type="submit" class="primary" disabled={save.busy}>
            {save.busy ? common.saving : bot ? common.saveChanges : t.create}
          </button>
        </form>
        <Preview name={name.trim() || t.yourChatbot} settings={settings} />
      </div>
    </section>
  );
}

/**
 * The routing to save. Manual routing keeps the offer time for a later switch back: a value typed
 * while automatic and then hidden never refuses the whole form.
 */
function routingOf(mode: Routing["mode"], typed: string, before: Routing): Routing {
  const seconds = Number(typed);
  const valid = Number.isInteger(seconds) && seconds >= OFFER_SECONDS.min && seconds <= OFFER_SECONDS.max;
  return { mode, offerSeconds: mode === "automatic" || valid ? seconds : before.offerSeconds };
}

/** Manual (agents pick from the queue) or automatic (offers), and how long an offer waits. */
function RoutingFields(props: {
  mode: Routing["mode"];
  offerSeconds: string;
  onMode: (mode: Routing["mode"]) => void;
  onOfferSeconds: (seconds: string) => void;
  error: string | undefined;
}) {
  const modes = [
    { mode: "manual", label: t.routingManual, hint: t.routingManualHint },
    { mode: "automatic", label: t.routingAutomatic, hint: t.routingAutomaticHint },
  ] as const;
  return (
    <fieldset class="field routing">
      <legend>{t.routing}</legend>
      {modes.map((m) => (
        <div class="routing-choice" key={m.mode}>
          <input
            type="radio"
            id={`bot-routing-${m.mode}`}
            name="bot-routing"
            value={m.mode}
            checked={props.mode === m.mode}
            onChange={() => props.onMode(m.mode)}
            aria-describedby={`bot-routing-${m.mode}-hint`}
          />
          <label for={`bot-routing-${m.mode}`}>{m.label}</label>
          <p class="hint" id={`bot-routing-${m.mode}-hint`}>
            {m.hint}
          </p>
        </div>
      ))}
      {props.mode === "automatic" && (
        <Field
          label={t.offerSeconds}
          id="bot-offer-seconds"
          type="number"
          min={OFFER_SECONDS.min}
          max={OFFER_SECONDS.max}
          step={1}
          required
          value={props.offerSeconds}
          onInput={(e) => props.onOfferSeconds(e.currentTarget.value)}
          hint={t.offerSecondsHint}
          error={props.error}
        />
      )}
      {props.mode !== "automatic" && props.error && <p class="field-error">{props.error}</p>}
    </fieldset>
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
  const description = t.previewDescription(name, settings.launcherText, side);
  return (
    <figure class="preview">
      <figcaption>{t.preview}</figcaption>
      <div
        class={`pv-page ${side}`}
        role="img"
        aria-label={description}
        style={{ "--pv-accent": colour, "--pv-on-accent": onAccent(colour) }}
      >
        <div class="pv-panel">
          <div class="pv-header">
            <span class="pv-title">{name}</span>
            <span class="pv-subtitle">{t.previewSubtitle}</span>
          </div>
          <div class="pv-body">
            <p class="pv-greeting">{settings.greeting}</p>
            <span class="pv-input" />
            <span class="pv-input" />
            <span class="pv-button">{t.previewStart}</span>
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
  { seconds: 0, label: t.grace.now },
  { seconds: 3600, label: t.grace.hour },
  { seconds: 86_400, label: t.grace.day },
  { seconds: 604_800, label: t.grace.week },
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
    props.onSecret(made, t.rotated);
  });
  const revoke = useAction(async () => {
    const saved = await session.api<Chatbot>("POST", `${url}/api-key/revoke`);
    setAsking(null);
    snippet.reload();
    props.onChanged(saved, t.revoked(saved.name));
  });
  const identity = useAction(async () => {
    const made = await session.api<Credentials>("POST", `${url}/identity-secret/rotate`);
    setAsking(null);
    props.onSecret(made, t.identityRotated);
  });
  const status = useAction(async () => {
    const next = bot.status === "disabled" ? "active" : "disabled";
    const saved = await session.api<Chatbot>("PATCH", url, { status: next } satisfies ChatbotUpdate);
    props.onChanged(saved, next === "disabled" ? common.wasDisabled(saved.name) : common.enabled(saved.name));
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
      <h2 id="keys-title">{t.keysTitle}</h2>
      <dl class="facts">
        <dt>{t.apiKey}</dt>
        <dd>
          {bot.apiKey ? <code>{bot.apiKey.masked}</code> : t.revokedKey}
          {bot.apiKey?.createdAt && <span class="muted"> · {t.madeAt(when(bot.apiKey.createdAt))}</span>}
        </dd>
        {bot.previousApiKey && (
          <>
            <dt>{t.previousKey}</dt>
            <dd>
              <code>{bot.previousApiKey.masked}</code>
              {bot.previousApiKey.expiresAt && (
                <span class="muted"> · {t.worksUntil(when(bot.previousApiKey.expiresAt))}</span>
              )}
            </dd>
          </>
        )}
        <dt>{t.identitySecret}</dt>
        <dd>{t.madeAt(when(bot.identitySecretCreatedAt))}</dd>
      </dl>

      <div class="row end">
        <div class="field">
          <label for="grace">{t.keepOldKey}</label>
          <select id="grace" value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {GRACE.map((g) => (
              <option key={g.seconds} value={g.seconds}>
                {g.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => void rotate.run()} disabled={rotate.busy}>
          {t.rotateApiKey}
        </button>
      </div>
      {problem(rotate.failure)}
      <div class="row">
        <button type="button" class="danger" onClick={() => setAsking("revoke")} disabled={!bot.apiKey}>
          {t.revokeApiKeys}
        </button>
        <button type="button" onClick={() => setAsking("identity")}>
          {t.rotateIdentitySecret}
        </button>
      </div>
      {asking === "revoke" && (
        <Confirm
          question={t.revokeQuestion(bot.name)}
          yes={t.revokeYes}
          busy={revoke.busy}
          onYes={() => void revoke.run()}
          onNo={() => setAsking(null)}
        />
      )}
      {problem(revoke.failure)}
      {asking === "identity" && (
        <Confirm
          question={t.identityQuestion}
          yes={t.identityYes}
          busy={identity.busy}
          onYes={() => void identity.run()}
          onNo={() => setAsking(null)}
        />
      )}
      {problem(identity.failure)}

      <h3>{t.snippet}</h3>
      {snippet.data ? (
        <div class="field">
          <label for="bot-snippet">{t.pasteSnippet}</label>
          <textarea id="bot-snippet" class="code" readOnly rows={4} value={snippet.data.html} />
          <p class="hint">
            {t.maskedBefore} <code>{snippet.data.apiKeyPlaceholder}</code> {t.maskedAfter}
          </p>
          <CopyButton text={snippet.data.html} label={t.copyMaskedSnippet} />
        </div>
      ) : (
        problem(snippet.failure)
      )}

      <h3>{t.status}</h3>
      <div class="row">
        <button type="button" onClick={() => void status.run()} disabled={status.busy}>
          {bot.status === "disabled" ? common.enableNamed(bot.name) : common.disableNamed(bot.name)}
        </button>
        <button type="button" class="danger" onClick={() => setAsking("delete")}>
          {common.deleteNamed(bot.name)}
        </button>
      </div>
      {problem(status.failure)}
      {asking === "delete" && (
        <Confirm
          question={t.deleteQuestion(bot.name)}
          yes={common.deleteForGood}
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
