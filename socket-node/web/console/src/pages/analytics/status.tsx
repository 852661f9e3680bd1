// The analytics home: the live status of every component of the system (GET /status) and what
// the tenant's chatbots are doing now (GET /chatbots/status), both read again every few seconds.

import { useEffect, useState } from "preact/hooks";
import { ApiError, BASE, call } from "../../api/http";
import type { ChatbotsStatus, Check, SystemStatus } from "../../api/types";
import { sentence } from "../../errors";
import { session } from "../../session";
import { strings } from "../../strings";
import { AnalyticsNav } from "./figures";
import { count, moment } from "./format";

const REFRESH_MS = 5_000;

const t = strings.analytics.status;
const OVERALL: Record<SystemStatus["status"], string> = t.overall;

/** Reads `load` now and every few seconds while the page is open; the last answer or error. */
function usePolled<T>(load: () => Promise<T>): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const tick = async () => {
      try {
        const data = await load();
        if (live) setState({ data, error: null });
      } catch (error) {
        if (live) setState((old) => ({ data: old.data, error: sentence(error) }));
      }
      if (live) timer = window.setTimeout(tick, REFRESH_MS);
    };
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);
  return state;
}

/**
 * The system status is open unless the deployment sets a status token, which the console does not
 * hold: it is asked without the user's token, and a 401 says so in words.
 */
async function systemStatus(): Promise<SystemStatus> {
  try {
    return await call<SystemStatus>("GET", `${BASE.analytics}/status`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401)
      throw new ApiError(401, "status_token_required", error.message);
    throw error;
  }
}

export function AnalyticsStatus() {
  const system = usePolled(systemStatus);
  const chatbots = usePolled(() => session.api<ChatbotsStatus>("GET", `${BASE.analytics}/chatbots/status`));
  return (
    <main class="analytics">
      <header class="analytics-head">
        <h1>{t.title}</h1>
        <AnalyticsNav here="/analytics" />
      </header>
      <section aria-labelledby="system-title" class="panel">
        <h2 id="system-title">{t.system}</h2>
        <Problem text={system.error} />
        {system.data ? (
          <Components status={system.data} />
        ) : (
          !system.error && <p class="muted">{t.checking}</p>
        )}
      </section>
      <section aria-labelledby="chatbots-title" class="panel">
        <h2 id="chatbots-title">{t.chatbots}</h2>
        <Problem text={chatbots.error} />
        {chatbots.data ? (
          <Chatbots status={chatbots.data} />
        ) : (
          !chatbots.error && <p class="muted">{t.counting}</p>
        )}
      </section>
    </main>
  );
}

function Problem({ text }: { text: string | null }) {
  return text ? (
    <p class="form-error" role="alert">
      {text}
    </p>
  ) : null;
}

function Components({ status }: { status: SystemStatus }) {
  const services: [string, Check][] = [
    [t.mongodb, status.mongodb],
    [t.redis, status.redis],
    [t.kafka, status.kafka],
  ];
  return (
    <>
      <p class={`overall ${status.status}`}>
        <State up={status.status === "ok"} text={status.status} /> {OVERALL[status.status]}{" "}
        <span class="muted">{t.checkedAt(moment(status.checkedAt))}</span>
      </p>
      <table class="data">
        <caption class="visually-hidden">{t.components}</caption>
        <thead>
          <tr>
            <th scope="col">{t.component}</th>
            <th scope="col">{t.state}</th>
            <th scope="col" class="num">
              {t.latency}
            </th>
            <th scope="col">{t.details}</th>
          </tr>
        </thead>
        <tbody>
          {services.map(([name, check]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>
                <State up={check.status === "up"} text={check.status} />
              </td>
              <td class="num">{t.ms(check.latencyMs)}</td>
              <td>{check.error ?? ""}</td>
            </tr>
          ))}
          {status.socketNodes.length === 0 && (
            <tr>
              <th scope="row">{t.socketNodes}</th>
              <td>
                <State up={false} text={t.none} />
              </td>
              <td />
              <td>{t.noSocketNode}</td>
            </tr>
          )}
          {status.socketNodes.map((node) => (
            <tr key={node.id}>
              <th scope="row">{t.socketNode(node.address)}</th>
              <td>
                <State up={node.status === "up"} text={node.status} />
              </td>
              <td />
              <td>
                {t.socketNodeDetails(
                  node.connections,
                  count(node.connections),
                  moment(node.startedAt),
                  moment(node.lastSeen),
                )}
              </td>
            </tr>
          ))}
          {status.replicas.map((replica) => (
            <tr key={replica.id}>
              <th scope="row">{t.replica(replica.function, replica.address)}</th>
              <td>
                <State up={replica.status === "up"} text={replica.status} />
              </td>
              <td />
              <td>{t.replicaDetails(moment(replica.startedAt), moment(replica.lastSeen))}</td>
            </tr>
          ))}
          {status.functions.map((fn) => (
            <tr key={fn.name}>
              <th scope="row">{t.function(fn.name)}</th>
              <td>
                <State up={fn.status === "up"} text={fn.status} />
              </td>
              <td class="num">{t.ms(fn.latencyMs)}</td>
              <td>{fn.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function State({ up, text }: { up: boolean; text: string }) {
  return <span class={`pill ${up ? "up" : "down"}`}>{text}</span>;
}

function Chatbots({ status }: { status: ChatbotsStatus }) {
  return (
    <>
      <p>
        <strong>{count(status.agentsOnline)}</strong> {t.agentsOnline(status.agentsOnline)}{" "}
        <span class="muted">{t.countedAt(moment(status.checkedAt))}</span>
      </p>
      {status.truncated && <p class="banner">{t.truncated}</p>}
      {status.chatbots.length === 0 ? (
        <p class="empty">{t.noChatbot}</p>
      ) : (
        <table class="data">
          <caption class="visually-hidden">{t.chatbotsCaption}</caption>
          <thead>
            <tr>
              <th scope="col">{t.chatbot}</th>
              <th scope="col" class="num">
                {t.waiting}
              </th>
              <th scope="col" class="num">
                {t.active}
              </th>
              <th scope="col" class="num">
                {t.standby}
              </th>
              <th scope="col" class="num">
                {t.agentsOnlineColumn}
              </th>
              <th scope="col">{t.lastActivity}</th>
            </tr>
          </thead>
          <tbody>
            {status.chatbots.map((bot) => (
              <tr key={bot.id}>
                <th scope="row">{bot.name}</th>
                <td class="num">{count(bot.waiting)}</td>
                <td class="num">{count(bot.active)}</td>
                <td class="num">{count(bot.standby)}</td>
                <td class="num">{count(bot.agentsOnline)}</td>
                <td>{moment(bot.lastActivityAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
