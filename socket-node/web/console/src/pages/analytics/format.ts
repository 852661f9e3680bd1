// How the analytics pages write their figures; the browser tests write the API's figures the
// same way to compare them with what a person reads.

import { strings } from "../../strings";

const t = strings.analytics.format;

/** A duration in seconds: "0.4 s", "45 s", "12.5 min", "3.2 h"; a dash when there is none. */
export function duration(secs: number | null | undefined): string {
  if (secs == null) return t.noDuration;
  // Under 10 s a tenth counts: a team answering in 0.4 s is not answering in "0 s".
  if (secs < 9.95) return t.seconds(Number(secs.toFixed(1)));
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

/** A moment as the reader's local time of day to the minute: "14:30". */
export const clock = (at: number | Date) =>
  new Date(at).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });

/** A moment as the reader's local time of day to the second: "14:30:05". */
export const clockSecs = (at: number | Date) => new Date(at).toLocaleTimeString("en-GB");

/** A band of durations by its first second and the next band's: "15–30 s", "10 min or more". */
export function band(lowerSecs: number, upperSecs: number | null | undefined): string {
  const inMinutes = (secs: number) => secs >= 60 && secs % 60 === 0;
  const whole = (secs: number) => (inMinutes(secs) ? t.minutes(String(secs / 60)) : t.seconds(secs));
  if (upperSecs == null) return t.orMore(whole(lowerSecs));
  if (lowerSecs === 0) return t.under(whole(upperSecs));
  if (upperSecs < 60) return t.secondsBand(lowerSecs, upperSecs);
  if (inMinutes(lowerSecs) && inMinutes(upperSecs)) return t.minutesBand(lowerSecs / 60, upperSecs / 60);
  return t.between(whole(lowerSecs), whole(upperSecs));
}
