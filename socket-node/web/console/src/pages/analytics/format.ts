// How the analytics pages write their figures; the browser tests write the API's figures the
// same way to compare them with what a person reads.

import { strings } from "../../strings";

const t = strings.analytics.format;

/** A duration in seconds: "45 s", "12.5 min", "3.2 h"; a dash when there is none. */
export function duration(secs: number | null | undefined): string {
  if (secs == null) return t.noDuration;
  if (secs < 90) return t.seconds(Math.round(secs));
  if (secs < 90 * 60) return t.minutes((secs / 60).toFixed(1));
  return t.hours((secs / 3600).toFixed(1));
}

/** An hour of the day (UTC): "09:00". */
export const hour = (h: number) => `${String(h).padStart(2, "0")}:00`;

/** A count with the reader's grouping: "1,204". */
export const count = (n: number) => n.toLocaleString("en");

/** A day written YYYY-MM-DD as "25 Nov" (the year is in the range above the charts). */
export function shortDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  return date.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
}

/** Every day from `from` to `to`, both included, written YYYY-MM-DD. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && days.length <= 366; t += 86_400_000)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** A moment as the reader's local time of day, or date and time when not today. */
export function moment(iso: string | null | undefined): string {
  if (!iso) return t.never;
  const at = new Date(iso);
  const today = at.toDateString() === new Date().toDateString();
  return today
    ? at.toLocaleTimeString("en-GB")
    : at.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}
