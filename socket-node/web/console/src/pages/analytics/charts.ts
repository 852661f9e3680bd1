// The analytics pages' charts, drawn with uPlot. The pages load this module with `import()`, so
// uPlot is fetched only when a chart is about to be drawn and the console's first load stays
// small. Every chart has a table of the same figures beside it (the page's): the canvas is for
// the eye only. A tooltip follows the cursor with the figures under it.

import uPlot from "uplot";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  colour: string;
  dash?: number[];
}

export interface ChartSpec {
  /** One label per slot of the x axis (days, hours, minutes). */
  labels: string[];
  /** The slots the x axis labels (on the hour, say); uPlot picks evenly spaced ones when absent. */
  ticks?: number[];
  series: ChartSeries[];
  /**
   * Bars for counts (two series side by side in each slot, at most); lines to compare several,
   * with points while there are few enough slots to tell them apart.
   */
  kind: "bars" | "lines";
  /** How a value reads on the y axis and in the tooltip. */
  format: (value: number) => string;
}

const HEIGHT = 220;

/**
 * Draws `spec` into `host`, sized to its width; returns what removes it. `none` is what the
 * tooltip says where a slot has no figure: the page hands it over from strings.ts, which this
 * chunk does not import (esbuild would then split the table out of the first load).
 */
export function draw(host: HTMLElement, spec: ChartSpec, none: string): () => void {
  const xs = spec.labels.map((_, i) => i);
  const paired = spec.series.length === 2;
  // Two series of bars share each slot, the first to the left of its centre, the second to the right.
  const bars = (i: number) =>
    spec.kind === "bars"
      ? uPlot.paths.bars?.(
          paired
            ? { size: [0.4, 32], gap: 1, align: i === 0 ? -1 : 1 }
            : // Minutes by the hundred are a few pixels each: no gap, or nothing would show.
              { size: [xs.length > 60 ? 1 : 0.7, 48], gap: xs.length > 60 ? 0 : 1 },
        )
      : undefined;
  const points = spec.kind === "lines" && xs.length <= 100;
  const options: uPlot.Options = {
    width: Math.max(host.clientWidth, 240),
    height: HEIGHT,
    legend: { show: spec.series.length > 1, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: spec.kind === "lines" } },
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(xs.length - 0.5, 0.5)] },
      y: { range: (_u, _min, max) => [0, niceMax(max)] },
    },
    axes: [
      {
        incrs: [1, 2, 3, 4, 6, 7, 14, 30, 61, 91],
        // Room for a day's label ("28 Nov") and a gap: fewer ticks rather than labels run together.
        space: 60,
        ...(spec.ticks ? { splits: () => spec.ticks ?? [] } : {}),
        values: (_u, splits) => splits.map((i) => spec.labels[i] ?? ""),
        grid: { show: false },
        stroke: "#4b5563",
      },
      {
        values: (_u, splits) => splits.map((v) => spec.format(v)),
        size: 64,
        grid: { stroke: "#e5e7eb" },
        stroke: "#4b5563",
      },
    ],
    series: [
      {},
      ...spec.series.map((s, i): uPlot.Series => {
        const paths = bars(i);
        return {
          label: s.label,
          stroke: s.colour,
          // Bars are filled, not outlined: a day with nothing draws nothing, not a hairline.
          width: paths ? 0 : 2,
          ...(s.dash ? { dash: s.dash } : {}),
          ...(paths ? { paths, fill: s.colour, points: { show: false } } : { points: { show: points } }),
        };
      }),
    ],
    plugins: [tooltip(spec, none)],
  };
  const data: uPlot.AlignedData = [xs, ...spec.series.map((s) => s.values)];
  const plot = new uPlot(options, data, host);
  const resize = new ResizeObserver(() =>
    plot.setSize({ width: Math.max(host.clientWidth, 240), height: HEIGHT }),
  );
  resize.observe(host);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}

/** A y axis that ends on a round number a little above the highest value (4 at least). */
function niceMax(max: number | null): number {
  const top = Math.max(max ?? 0, 4);
  const step = 10 ** Math.floor(Math.log10(top));
  return Math.ceil((top * 1.1) / step) * step;
}

/** The slot under the cursor: its label and each series' figure. */
function tooltip(spec: ChartSpec, none: string): uPlot.Plugin {
  let box: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        box = document.createElement("div");
        box.className = "chart-tip";
        box.hidden = true;
        u.over.append(box);
      },
      setCursor: (u) => {
        const { idx, left, top } = u.cursor;
        if (idx == null || left == null || top == null || left < 0) {
          box.hidden = true;
          return;
        }
        const rows = spec.series.map((s) => {
          const value = s.values[idx];
          return `${s.label}: ${value == null ? none : spec.format(value)}`;
        });
        box.textContent = [spec.labels[idx] ?? "", ...rows].join("\n");
        box.hidden = false;
        const width = u.over.clientWidth;
        box.style.left = `${Math.min(left + 12, Math.max(width - box.offsetWidth, 0))}px`;
        box.style.top = `${Math.max(top - box.offsetHeight - 8, 0)}px`;
      },
    },
  };
}
