// Usage reports over a range of days: chatrooms per day, messages by sender, how long visitors
// waited for an agent and for a first answer, resolution times, each agent's share and the busiest hours, as charts with the same figures in
// tables for screen readers; and the CSV downloads of the API. The first view is the API's
// default range (the 30 days to today); the range it answered fills the form.

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { BASE } from "../../api/http";
import type { AgentReports, DailyReport, DailyReports } from "../../api/types";
import { sentence } from "../../errors";
import { session } from "../../session";
import { strings } from "../../strings";
import { Field, FormError } from "../../ui";
import { AnalyticsNav, ChartPanel, Table } from "./figures";
import { count, daysBetween, duration, hour, shortDay } from "./format";

interface Loaded {
  reports: DailyReports;
  agents: AgentReports;
}

const t = strings.analytics.reports;

const DOWNLOADS = [
  { path: "/reports", name: "report", label: t.downloads.report },
  { path: "/reports/agents", name: "agents", label: t.downloads.agents },
  { path: "/reports/chatrooms", name: "chatrooms", label: t.downloads.chatrooms },
] as const;

const query = (range: { from: string; to: string } | null, csv = false) => {
  const params = new URLSearchParams(range ?? {});
  if (csv) params.set("format", "csv");
  const text = params.toString();
  return text ? `?${text}` : "";
};

/** A day written YYYY-MM-DD as "25 Nov 2026", for the range's title. */
const dayAndYear = (day: string) => `${shortDay(day)} ${day.slice(0, 4)}`;

export function Reports() {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async (range: { from: string; to: string } | null) => {
    setBusy(true);
    setError(null);
    try {
      const reports = await session.api<DailyReports>("GET", `${BASE.analytics}/reports${query(range)}`);
      const shown = { from: reports.from, to: reports.to };
      const agents = await session.api<AgentReports>(
        "GET",
        `${BASE.analytics}/reports/agents${query(shown)}`,
      );
      setLoaded({ reports, agents });
      setFrom(reports.from);
      setTo(reports.to);
    } catch (failure) {
      setError(sentence(failure));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, []);

  const submit = (event: JSX.TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    void load({ from, to });
  };

  return (
    <main class="analytics">
      <header class="analytics-head">
        <h1>{t.title}</h1>
        <AnalyticsNav here="/analytics/reports" />
      </header>
      <form class="range panel" onSubmit={submit} aria-label={t.range}>
        <Field
          label={t.from}
          type="date"
          value={from}
          required
          onInput={(e) => setFrom(e.currentTarget.value)}
        />
        <Field label={t.to} type="date" value={to} required onInput={(e) => setTo(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy}>
          {t.show}
        </button>
        <p class="muted range-note">{t.rangeNote}</p>
      </form>
      <FormError text={error} />
      {loaded ? <Figures loaded={loaded} /> : !error && <p class="loading">{strings.common.loading}</p>}
    </main>
  );
}

function Figures({ loaded }: { loaded: Loaded }) {
  const { reports, agents } = loaded;
  const range = { from: reports.from, to: reports.to };
  const days = daysBetween(reports.from, reports.to);
  const byDay = new Map(reports.days.map((d) => [d.date, d]));
  const perDay = (value: (d: DailyReport) => number | null | undefined) =>
    days.map((day) => {
      const report = byDay.get(day);
      return report ? (value(report) ?? null) : null;
    });
  const labels = days.map(shortDay);
  const hours = Array.from({ length: 24 }, (_, h) =>
    reports.days.reduce(
      (sum, d) => {
        const load = d.hours[h];
        return {
          chatrooms: sum.chatrooms + (load?.chatrooms ?? 0),
          messages: sum.messages + (load?.messages ?? 0),
        };
      },
      { chatrooms: 0, messages: 0 },
    ),
  );
  const { totals } = reports;
  const messages = totals.messages.visitor + totals.messages.agent + totals.messages.system;

  return (
    <>
      <section class="panel" aria-labelledby="totals-title">
        <h2 id="totals-title">{t.rangeTitle(dayAndYear(reports.from), dayAndYear(reports.to))}</h2>
        <dl class="totals">
          <div>
            <dt>{t.conversations}</dt>
            <dd>{count(totals.chatrooms)}</dd>
          </div>
          <div>
            <dt>{t.messages}</dt>
            <dd>{count(messages)}</dd>
          </div>
          <div>
            <dt>{t.abandoned}</dt>
            <dd>{count(totals.abandoned)}</dd>
          </div>
        </dl>
        <Downloads range={range} />
      </section>
      {reports.days.length === 0 && <p class="banner">{t.noReport}</p>}
      <div class="charts">
        <ChartPanel
          id="chatrooms"
          title={t.conversationsPerDay}
          spec={{
            labels,
            kind: "bars",
            format: count,
            series: [{ label: t.conversations, colour: "#2563eb", values: perDay((d) => d.chatrooms) }],
          }}
          head={[t.day, t.conversations]}
          rows={reports.days.map((d) => [d.date, count(d.chatrooms)])}
        />
        <ChartPanel
          id="messages"
          title={t.messagesBySender}
          spec={{
            labels,
            kind: "lines",
            format: count,
            series: [
              { label: t.visitor, colour: "#0f766e", values: perDay((d) => d.messages.visitor) },
              { label: t.agent, colour: "#2563eb", values: perDay((d) => d.messages.agent) },
              { label: t.systemSender, colour: "#6b7280", values: perDay((d) => d.messages.system) },
            ],
          }}
          head={[t.day, t.visitor, t.agent, t.systemSender]}
          rows={reports.days.map((d) => [
            d.date,
            count(d.messages.visitor),
            count(d.messages.agent),
            count(d.messages.system),
          ])}
        />
        <ChartPanel
          id="waiting"
          title={t.waiting}
          spec={{
            labels,
            kind: "lines",
            format: duration,
            series: [
              {
                label: t.timeToAssignmentMedian,
                colour: "#0f766e",
                values: perDay((d) => d.timeToAssignment?.medianSecs),
              },
              {
                label: t.timeToAssignmentP90,
                colour: "#14b8a6",
                dash: [6, 4],
                values: perDay((d) => d.timeToAssignment?.p90Secs),
              },
              {
                label: t.firstResponseMedian,
                colour: "#2563eb",
                values: perDay((d) => d.firstResponse.medianSecs),
              },
              {
                label: t.firstResponseP90,
                colour: "#60a5fa",
                dash: [6, 4],
                values: perDay((d) => d.firstResponse.p90Secs),
              },
            ],
          }}
          head={[
            t.day,
            t.timeToAssignmentMedian,
            t.timeToAssignmentP90,
            t.firstResponseMedian,
            t.firstResponseP90,
          ]}
          rows={reports.days.map((d) => [
            d.date,
            duration(d.timeToAssignment?.medianSecs),
            duration(d.timeToAssignment?.p90Secs),
            duration(d.firstResponse.medianSecs),
            duration(d.firstResponse.p90Secs),
          ])}
        />
        <ChartPanel
          id="resolution"
          title={t.resolution}
          spec={{
            labels,
            kind: "lines",
            format: duration,
            series: [
              {
                label: t.resolutionMedian,
                colour: "#b45309",
                values: perDay((d) => d.resolution.medianSecs),
              },
              {
                label: t.resolutionP90,
                colour: "#f59e0b",
                dash: [6, 4],
                values: perDay((d) => d.resolution.p90Secs),
              },
            ],
          }}
          head={[t.day, t.resolutionMedian, t.resolutionP90]}
          rows={reports.days.map((d) => [
            d.date,
            duration(d.resolution.medianSecs),
            duration(d.resolution.p90Secs),
          ])}
        />
        <ChartPanel
          id="hours"
          title={t.busiestHours}
          wide
          spec={{
            labels: hours.map((_, h) => hour(h)),
            kind: "bars",
            format: count,
            series: [{ label: t.conversations, colour: "#7c3aed", values: hours.map((h) => h.chatrooms) }],
          }}
          head={[t.hour, t.conversations, t.messages]}
          rows={hours.map((h, i) => [hour(i), count(h.chatrooms), count(h.messages)])}
        />
      </div>
      <section class="panel" aria-labelledby="agents-title">
        <h2 id="agents-title">{t.agents}</h2>
        {agents.agents.length === 0 ? (
          <p class="empty">{t.noAgent}</p>
        ) : (
          <Table
            caption={t.agentsPerDay}
            figuresFrom={2}
            head={[t.day, t.agent, t.conversations, t.messages, t.firstResponseMedian]}
            rows={agents.agents.map((a) => [
              a.date,
              a.name,
              count(a.chatrooms),
              count(a.messages),
              duration(a.firstResponseMedianSecs),
            ])}
          />
        )}
      </section>
    </>
  );
}

/** The CSV downloads: fetched with the user's token in a header, saved from an object URL. */
function Downloads({ range }: { range: { from: string; to: string } }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const save = async (download: (typeof DOWNLOADS)[number]) => {
    setBusy(download.name);
    setError(null);
    try {
      const blob = await session.blob(`${BASE.analytics}${download.path}${query(range, true)}`);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `parley-${download.name}-${range.from}-to-${range.to}.csv`;
      link.click();
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (failure) {
      setError(sentence(failure));
    } finally {
      setBusy(null);
    }
  };
  return (
    <div class="downloads">
      <span class="muted">{t.downloadCsv}</span>
      {DOWNLOADS.map((d) => (
        <button
          key={d.name}
          type="button"
          class="small"
          disabled={busy !== null}
          aria-label={t.download(d.label)}
          onClick={() => void save(d)}
        >
          {d.label}
        </button>
      ))}
      <FormError text={error} />
    </div>
  );
}
