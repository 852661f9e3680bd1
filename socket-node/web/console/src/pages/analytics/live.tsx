// Today's figures as they happen, for support leads: chatrooms and messages per minute over the
// last 3 hours with today's totals, today's wait for an agent and first response (the whole team,
// per chatbot, per agent), how those spread over bands, and chatrooms by browser and system. They
// come from the analytics function's /live routes (Tinybird behind them), read again every 15
// seconds while the page is open, one refresh at a time. "Today" is since the reader's midnight.
//
// Without Tinybird (503 tinybird_not_configured) the page says what to set instead of charts;
// when a refresh fails (Tinybird did not answer, say) the last figures stay and the page says so.

import { useEffect, useState } from "preact/hooks";
import { ApiError, BASE } from "../../api/http";
import type { Activity, Browsers, Distribution, ResponseFigures, ResponseTimes } from "../../api/types";
import { sentence } from "../../errors";
import { ROOT } from "../../router";
import { session } from "../../session";
import { strings } from "../../strings";
import { AnalyticsNav, ChartPanel, Table } from "./figures";
import { band, clock, clockSecs, count, duration } from "./format";

const t = strings.analytics.live;

const REFRESH_MS = 15_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The activity charts' minutes: the last 3 hours, the current minute last. */
const SLOTS = 180;

interface Figures {
  /** Per minute since the earlier of the reader's midnight and 3 hours ago. */
  activity: Activity;
  times: ResponseTimes;
  distribution: Distribution;
  browsers: Browsers;
  /** The reader's midnight and the moment asked about, in milliseconds. */
  midnight: number;
  now: number;
}

/** The four routes over the same window, up to the same moment. */
async function load(): Promise<Figures> {
  const now = Date.now();
  const midnight = new Date(now).setHours(0, 0, 0, 0);
  // The day's activity too, for today's totals; at most the 24 hours the route answers (a day
  // with a clock change can be 25).
  const activityFrom = Math.max(Math.min(midnight, now - 3 * HOUR), now - 24 * HOUR);
  const read = <T,>(path: string, from: number) => {
    const window = new URLSearchParams({
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
    });
    return session.api<T>("GET", `${BASE.analytics}/live/${path}?${window}`);
  };
  const [activity, times, distribution, browsers] = await Promise.all([
    read<Activity>("activity", activityFrom),
    read<ResponseTimes>("response-times", midnight),
    read<Distribution>("response-time-distribution", midnight),
    read<Browsers>("browsers", midnight),
  ]);
  return { activity, times, distribution, browsers, midnight, now };
}

const notConfigured = (failure: unknown) =>
  failure instanceof ApiError && failure.code === "tinybird_not_configured" ? failure : null;

/**
 * The figures, read now and again 15 seconds after each answer (so two refreshes never overlap)
 * until the page is left; the last figures stay when a refresh fails. While the tab is hidden
 * nothing is asked: the refresh due then waits for the tab to show again. Without Tinybird
 * nothing is asked again: that takes a restart with the settings, and a reload then.
 */
function useLiveFigures(): { figures: Figures | null; failure: unknown } {
  const [state, setState] = useState<{ figures: Figures | null; failure: unknown }>({
    figures: null,
    failure: null,
  });
  useEffect(() => {
    let open = true;
    let timer: number | undefined;
    let due = false;
    const tick = async () => {
      if (document.hidden) {
        due = true;
        return;
      }
      let again = true;
      try {
        const figures = await load();
        if (open) setState({ figures, failure: null });
      } catch (failure) {
        again = !notConfigured(failure);
        if (open) setState((old) => ({ figures: old.figures, failure }));
      }
      if (open && again) timer = window.setTimeout(tick, REFRESH_MS);
    };
    const shown = () => {
      if (document.hidden || !due) return;
      due = false;
      void tick();
    };
    document.addEventListener("visibilitychange", shown);
    void tick();
    return () => {
      open = false;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", shown);
    };
  }, []);
  return state;
}

export function LiveAnalytics() {
  const { figures, failure } = useLiveFigures();
  const missing = notConfigured(failure);
  return (
    <main class="analytics">
      <header class="analytics-head">
        <h1>{t.title}</h1>
        <AnalyticsNav here="/analytics/live" />
      </header>
      {missing ? (
        <NotConfigured message={missing.message} />
      ) : (
        <>
          {figures && <p class="muted updated">{t.updated(clockSecs(figures.now))}</p>}
          {failure != null && (
            <p class="form-error" role="alert">
              {figures ? t.refreshFailed(sentence(failure)) : sentence(failure)}
            </p>
          )}
          {figures ? (
            <Shown figures={figures} />
          ) : (
            failure == null && <p class="loading">{strings.common.loading}</p>
          )}
        </>
      )}
    </main>
  );
}

/** What a person running Parley sets to have the page, in the server's words. */
function NotConfigured({ message }: { message: string }) {
  return (
    <section class="panel not-configured" aria-labelledby="tinybird-title">
      <h2 id="tinybird-title">{t.notConfigured}</h2>
      <p>{t.notConfiguredIntro}</p>
      <p class="server-says">{message}</p>
      <p>
        {t.notConfiguredReadme} <code>{t.readme}</code> {t.inRepository}
      </p>
      <p>
        {t.notConfiguredReports} <a href={`${ROOT}/analytics/reports`}>{strings.analytics.pages.reports}</a>.
      </p>
    </section>
  );
}

function Shown({ figures }: { figures: Figures }) {
  const { activity, times, midnight, now } = figures;
  const minutes = activity.minutes.map((m) => ({ ...m, at: Date.parse(m.minute) }));
  const today = minutes.filter((m) => m.at >= midnight);
  const sum = (value: (m: (typeof minutes)[number]) => number) => today.reduce((s, m) => s + value(m), 0);
  const empty = times.tenant.chatrooms === 0;
  return (
    <>
      <section class="panel" aria-labelledby="today-title">
        <h2 id="today-title">{t.today}</h2>
        <p class="muted">{t.todayNote}</p>
        <dl class="totals">
          <div>
            <dt>{t.chatroomsToday}</dt>
            <dd>{count(times.tenant.chatrooms)}</dd>
          </div>
          <div>
            <dt>{t.answeredToday}</dt>
            <dd>{count(times.tenant.firstResponse.count)}</dd>
          </div>
          <div>
            <dt>{t.visitorMessagesToday}</dt>
            <dd>{count(sum((m) => m.visitorMessages))}</dd>
          </div>
          <div>
            <dt>{t.agentMessagesToday}</dt>
            <dd>{count(sum((m) => m.agentMessages))}</dd>
          </div>
        </dl>
      </section>
      {empty && <p class="banner">{t.noChatroom}</p>}
      <ActivityCharts minutes={minutes} now={now} />
      {!empty && (
        <>
          <ResponsePanel times={times} />
          <DistributionPanel distribution={figures.distribution} />
          <BrowsersPanel browsers={figures.browsers} />
        </>
      )}
    </>
  );
}

/** Chatrooms and messages per minute over the last 3 hours, a minute without a row as zero. */
function ActivityCharts({
  minutes,
  now,
}: {
  minutes: (Activity["minutes"][number] & { at: number })[];
  now: number;
}) {
  const first = Math.floor(now / MINUTE) * MINUTE - (SLOTS - 1) * MINUTE;
  const recent = minutes.filter((m) => m.at >= first);
  if (recent.length === 0) return null;
  const bySlot = new Map(recent.map((m) => [Math.round((m.at - first) / MINUTE), m]));
  const slots = Array.from({ length: SLOTS }, (_, i) => first + i * MINUTE);
  const per = (value: (m: Activity["minutes"][number]) => number) =>
    slots.map((_, i) => {
      const m = bySlot.get(i);
      return m ? value(m) : 0;
    });
  // The x axis names the hours and half hours of the reader's clock.
  const ticks = slots.flatMap((at, i) => (new Date(at).getMinutes() % 30 === 0 ? [i] : []));
  const labels = slots.map(clock);
  return (
    <div class="charts">
      <ChartPanel
        id="chatrooms"
        title={t.chatroomsPerMinute}
        spec={{
          labels,
          ticks,
          kind: "bars",
          format: count,
          series: [{ label: t.chatrooms, colour: "#2563eb", values: per((m) => m.chatrooms) }],
        }}
        head={[t.minute, t.chatrooms]}
        rows={recent.filter((m) => m.chatrooms > 0).map((m) => [clock(m.at), count(m.chatrooms)])}
      />
      <ChartPanel
        id="messages"
        title={t.messagesPerMinute}
        spec={{
          labels,
          ticks,
          kind: "lines",
          format: count,
          series: [
            { label: t.visitor, colour: "#0f766e", values: per((m) => m.visitorMessages) },
            { label: t.agent, colour: "#2563eb", values: per((m) => m.agentMessages) },
          ],
        }}
        head={[t.minute, t.visitor, t.agent]}
        rows={recent
          .filter((m) => m.visitorMessages + m.agentMessages > 0)
          .map((m) => [clock(m.at), count(m.visitorMessages), count(m.agentMessages)])}
      />
    </div>
  );
}

/** A chatbot's or agent's name; one deleted since shows the start of its id. */
const named = (f: ResponseFigures) => f.name ?? (f.id ? t.deleted(f.id.slice(0, 8)) : t.deleted("?"));

const figuresRow = (f: ResponseFigures) => [
  named(f),
  count(f.chatrooms),
  count(f.wait.count),
  duration(f.wait.medianSecs),
  duration(f.wait.p90Secs),
  count(f.firstResponse.count),
  duration(f.firstResponse.medianSecs),
  duration(f.firstResponse.p90Secs),
];

function ResponsePanel({ times }: { times: ResponseTimes }) {
  const { wait, firstResponse } = times.tenant;
  const head = (who: string) => [
    who,
    t.opened,
    t.taken,
    t.waitMedian,
    t.waitP90,
    t.answered,
    t.firstResponseMedian,
    t.firstResponseP90,
  ];
  return (
    <section class="panel" aria-labelledby="response-title">
      <h2 id="response-title">{t.responseTimes}</h2>
      <p class="muted">{t.responseNote}</p>
      <div class="live-tables">
        <Table
          caption={t.whole}
          showCaption
          head={[t.measure, t.count, t.median, t.p90]}
          rows={[
            [t.wait, count(wait.count), duration(wait.medianSecs), duration(wait.p90Secs)],
            [
              t.firstResponse,
              count(firstResponse.count),
              duration(firstResponse.medianSecs),
              duration(firstResponse.p90Secs),
            ],
          ]}
        />
        {times.chatbots.length === 0 ? (
          <p class="empty">{t.noChatbotRow}</p>
        ) : (
          <Table
            caption={t.chatbots}
            showCaption
            head={head(t.chatbot)}
            rows={times.chatbots.map(figuresRow)}
          />
        )}
        {times.agents.length === 0 ? (
          <p class="empty">{t.noAgentRow}</p>
        ) : (
          <Table
            caption={t.agents}
            showCaption
            head={head(t.agentName)}
            rows={times.agents.map(figuresRow)}
          />
        )}
      </div>
    </section>
  );
}

function DistributionPanel({ distribution }: { distribution: Distribution }) {
  const { bands } = distribution;
  return (
    // Wide: seven bands' names ("10 min or more") need the room to stand apart.
    <ChartPanel
      id="distribution"
      title={t.distribution}
      wide
      spec={{
        labels: bands.map((b) => band(b.lowerSecs, b.upperSecs)),
        kind: "bars",
        format: count,
        series: [
          { label: t.waits, colour: "#0f766e", values: bands.map((b) => b.waits) },
          { label: t.firstResponses, colour: "#2563eb", values: bands.map((b) => b.firstResponses) },
        ],
      }}
      head={[t.band, t.waits, t.firstResponses]}
      rows={bands.map((b) => [band(b.lowerSecs, b.upperSecs), count(b.waits), count(b.firstResponses)])}
    />
  );
}

/** The chatrooms by browser and system: a table whose last column draws each row's share. */
function BrowsersPanel({ browsers }: { browsers: Browsers }) {
  const rows = browsers.browsers;
  const total = rows.reduce((sum, b) => sum + b.chatrooms, 0);
  const word = (name: string) => (name === "other" ? t.other : name);
  return (
    <section class="panel" aria-labelledby="browsers-title">
      <h2 id="browsers-title">{t.browsers}</h2>
      {rows.length === 0 ? (
        <p class="empty">{t.noBrowser}</p>
      ) : (
        <table class="data">
          <caption class="visually-hidden">{t.browsers}</caption>
          <thead>
            <tr>
              <th scope="col">{t.browser}</th>
              <th scope="col">{t.system}</th>
              <th scope="col" class="num">
                {t.chatrooms}
              </th>
              <th scope="col">{t.share}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((b) => {
              const share = total ? Math.round((b.chatrooms / total) * 100) : 0;
              return (
                <tr key={`${b.browser}\u0000${b.os}`}>
                  <td>{word(b.browser)}</td>
                  <td>{word(b.os)}</td>
                  <td class="num">{count(b.chatrooms)}</td>
                  <td>
                    <div class="share">
                      <span class="share-bar" style={{ width: `${share}%` }} aria-hidden="true" />
                      <span class="share-figure">{t.percent(share)}</span>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
