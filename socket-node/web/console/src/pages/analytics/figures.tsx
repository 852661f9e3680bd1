// What the analytics pages draw their figures with: the links between the pages, a chart panel
// (a uPlot chart for the eye, the same figures in a table for screen readers and tests) and a
// table of figures. The charts' code comes in with `import("./charts")` when a chart is about to
// be drawn, so uPlot stays out of the console's first load.

import { useEffect, useRef } from "preact/hooks";
import { ROOT } from "../../router";
import { strings } from "../../strings";
import type { ChartSpec } from "./charts";

const t = strings.analytics.pages;

const PAGES = [
  { href: "/analytics", label: t.status },
  { href: "/analytics/live", label: t.live },
  { href: "/analytics/reports", label: t.reports },
] as const;

/** The analytics pages, the one shown marked current. */
export function AnalyticsNav({ here }: { here: (typeof PAGES)[number]["href"] }) {
  return (
    <nav class="analytics-nav" aria-label={t.label}>
      {PAGES.map((p) => (
        <a key={p.href} href={`${ROOT}${p.href}`} aria-current={p.href === here ? "page" : undefined}>
          {p.label}
        </a>
      ))}
    </nav>
  );
}

/** A chart with its figures in a table only screen readers (and tests) read. */
export function ChartPanel(props: {
  id: string;
  title: string;
  spec: ChartSpec;
  head: string[];
  rows: string[][];
  wide?: boolean;
}) {
  return (
    <section class={`panel chart${props.wide ? " wide" : ""}`} aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      <Chart spec={props.spec} />
      <div class="visually-hidden">
        <Table caption={props.title} head={props.head} rows={props.rows} />
      </div>
    </section>
  );
}

function Chart({ spec }: { spec: ChartSpec }) {
  const host = useRef<HTMLDivElement>(null);
  // Drawn again when the figures change, not at every render of the page (a keystroke in the form,
  // a refresh that brought the same figures).
  const figures = JSON.stringify([spec.kind, spec.labels, spec.series, spec.ticks]);
  useEffect(() => {
    let remove: (() => void) | null = null;
    let live = true;
    void import("./charts").then(({ draw }) => {
      if (live && host.current) remove = draw(host.current, spec, strings.analytics.format.none);
    });
    return () => {
      live = false;
      remove?.();
    };
  }, [figures]);
  return <div class="plot" ref={host} aria-hidden="true" />;
}

/** A table of figures; the columns from `figuresFrom` on are numbers, aligned right. */
export function Table(props: {
  caption: string;
  head: string[];
  rows: string[][];
  figuresFrom?: number;
  /** Shows the caption (a table standing alone); else screen readers only read it. */
  showCaption?: boolean;
}) {
  const { caption, head, rows, figuresFrom = 1, showCaption = false } = props;
  const align = (column: number) => (column >= figuresFrom ? "num" : undefined);
  return (
    <table class="data">
      <caption class={showCaption ? "table-caption" : "visually-hidden"}>{caption}</caption>
      <thead>
        <tr>
          {head.map((h, i) => (
            <th key={h} scope="col" class={align(i)}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.join("\u0000")}>
            {row.map((cell, i) => (
              <td key={i} class={align(i)}>
                {cell}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
