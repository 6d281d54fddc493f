/**
 * Quiet hours as instants. A window belongs to the local date on which it starts; its start and end
 * wall times become instants in the user's zone with `disambiguation: 'compatible'` — the same
 * RFC 5545 §3.3.5 rule Chime uses for every wall time (DESIGN.md, "Time"):
 *
 * - a wall time in a spring-forward gap moves forward by the gap (02:30 → 03:30 in Europe/Paris);
 * - a wall time in a fall-back fold means its first occurrence (02:30 CEST, not 02:30 CET).
 *
 * So each night's window is one contiguous interval [start, end) of instants. If on a gap night the
 * shifted start is not before the end (02:45–03:15 in Paris on the last Sunday of March), that
 * night's window is empty.
 */
import { Temporal } from 'temporal-polyfill';
import { WEEKDAYS, type QuietHours, type QuietWindow } from '../preferences/schema.js';

export interface QuietInterval {
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  /** The configured window this interval comes from. */
  window: QuietWindow;
  /** The local date (ISO) the window starts on. */
  date: string;
}

/** The window configured for a local date, if any (a weekday entry, else the default). */
export function windowFor(quietHours: QuietHours, date: Temporal.PlainDate): QuietWindow | null {
  const weekday = WEEKDAYS[date.dayOfWeek - 1]!;
  const override = quietHours.weekdays?.[weekday];
  return override === undefined ? quietHours.default : override;
}

function toInstant(date: Temporal.PlainDate, hhmm: string, timeZone: string): number {
  return date
    .toPlainDateTime(Temporal.PlainTime.from(hhmm))
    .toZonedDateTime(timeZone, { disambiguation: 'compatible' }).epochMilliseconds;
}

/** The instants of the window starting on `date`, or undefined when there is none (or it is empty). */
export function intervalOn(
  quietHours: QuietHours,
  date: Temporal.PlainDate,
  timeZone: string,
): QuietInterval | undefined {
  const window = windowFor(quietHours, date);
  if (!window) return undefined;
  const crossesMidnight = window.end <= window.start; // 'HH:MM' strings order like times
  const start = toInstant(date, window.start, timeZone);
  const end = toInstant(crossesMidnight ? date.add({ days: 1 }) : date, window.end, timeZone);
  return end > start ? { start, end, window, date: date.toString() } : undefined;
}

/** The quiet interval containing `at` (the one ending last if windows overlap), or undefined. */
export function quietIntervalAt(at: number, timeZone: string, quietHours: QuietHours | null): QuietInterval | undefined {
  if (!quietHours) return undefined;
  const localDate = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(timeZone).toPlainDate();
  let found: QuietInterval | undefined;
  // Two days back: a window starting yesterday can still be running, and a zone that skipped a
  // whole calendar day (Pacific/Apia, 2011-12-30) shifts the day before's window by 24 h.
  for (let back = 2; back >= 0; back--) {
    const interval = intervalOn(quietHours, localDate.subtract({ days: back }), timeZone);
    if (interval && interval.start <= at && at < interval.end && (!found || interval.end > found.end)) found = interval;
  }
  return found;
}

/**
 * When quiet hours that contain `at` are over: the end of the containing window, followed through
 * any window that begins before it ends (a per-weekday window overlapping the previous night's).
 * Undefined when `at` is not in quiet hours.
 */
export function quietUntil(
  at: number,
  timeZone: string,
  quietHours: QuietHours | null,
): { until: number; interval: QuietInterval } | undefined {
  const interval = quietIntervalAt(at, timeZone, quietHours);
  if (!interval) return undefined;
  let until = interval.end;
  // In wall time, each window of a chain starts earlier than the one before it and no window lasts
  // 24 h, so a chain cannot go round the week: it is at most 7 long. The bound is only a guard.
  for (let hop = 0; hop < 16; hop++) {
    const next = quietIntervalAt(until, timeZone, quietHours);
    if (!next) break;
    until = next.end;
  }
  return { until, interval };
}
