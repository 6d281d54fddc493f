/**
 * The preview's timeline: what the user's zone and quiet hours do over the span of the previewed
 * occurrences, as UTC instants — offset changes (DST) and the quiet windows — so a client can draw
 * them next to the occurrences without tz data of its own.
 *
 * Quiet windows are the very intervals `decide()` defers by (`intervalOn`, the same RFC 5545
 * §3.3.5 resolution of wall times), merged where one begins before the previous one ends (as
 * `quietUntil` follows them) and cut to the span: an instant of the span is inside a window exactly
 * when `quietIntervalAt` finds quiet hours there (property-tested). Pure: no clock, no host zone.
 */
import { Temporal } from 'temporal-polyfill';
import type { QuietHours } from '../preferences/schema.js';
import { intervalOn } from './quiet-hours.js';

/** A change of the zone's UTC offset (DST starting or ending, or a change of standard time). */
export interface OffsetTransition {
  /** The instant of the change, UTC ISO. */
  at: string;
  /** The offsets before and after, e.g. '-05:00' → '-04:00'. */
  offsetBefore: string;
  offsetAfter: string;
}

/** Quiet hours as one interval of instants [start, end), UTC ISO. */
export interface QuietSpan {
  start: string;
  end: string;
}

export interface PreviewTimeline {
  /** Start of the span (inclusive), UTC ISO: the start of a local day in `timeZone`. */
  from: string;
  /** End of the span (exclusive), UTC ISO: the start of a local day in `timeZone`. */
  to: string;
  /** The zone of the days, the offsets and the quiet hours: the user's (the one `decide()` uses). */
  timeZone: string;
  /** The offset in effect at `from`; with `dstTransitions`, the offset at every instant of the span. */
  offsetAtFrom: string;
  /** Offset changes strictly inside the span, in order. */
  dstTransitions: OffsetTransition[];
  /** Quiet hours inside the span, in order, disjoint and not touching, none empty. */
  quietWindows: QuietSpan[];
}

/** At most this many local days are described, whatever the span of the occurrences. */
export const MAX_TIMELINE_DAYS = 366;

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const FIRST_RFC3339_MS = -62_167_219_200_000;
const LAST_RFC3339_MS = 253_402_300_799_999;

const iso = (epochMs: number) => new Date(epochMs).toISOString();
const zoned = (epochMs: number, timeZone: string) => Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone);

/** The offset transitions and quiet windows of [fromMs, toMs) in `timeZone`. */
export function timelineBetween(fromMs: number, toMs: number, timeZone: string, quietHours: QuietHours | null): PreviewTimeline {
  const start = zoned(fromMs, timeZone);
  const dstTransitions: OffsetTransition[] = [];
  let offset = start.offset;
  // Temporal only reports instants where the offset changes; the count guards a malformed zone.
  for (let cursor = start, n = 0; n < 1_000; n++) {
    const next = cursor.getTimeZoneTransition('next');
    if (!next || next.epochMilliseconds >= toMs) break;
    dstTransitions.push({ at: iso(next.epochMilliseconds), offsetBefore: offset, offsetAfter: next.offset });
    offset = next.offset;
    cursor = next;
  }
  return {
    from: iso(fromMs),
    to: iso(toMs),
    timeZone,
    offsetAtFrom: start.offset,
    dstTransitions,
    quietWindows: quietHours ? quietSpans(fromMs, toMs, timeZone, quietHours).map(([s, e]) => ({ start: iso(s), end: iso(e) })) : [],
  };
}

/** Quiet intervals meeting [fromMs, toMs), merged where they meet or overlap, cut to the span. */
function quietSpans(fromMs: number, toMs: number, timeZone: string, quietHours: QuietHours): [number, number][] {
  if (toMs <= fromMs) return [];
  // A window belongs to the local date it starts on and lasts less than a day; two days back also
  // covers a zone that skipped a calendar day (see quietIntervalAt).
  const last = zoned(toMs, timeZone).toPlainDate();
  const intervals: [number, number][] = [];
  for (let date = zoned(fromMs, timeZone).toPlainDate().subtract({ days: 2 }); Temporal.PlainDate.compare(date, last) <= 0; date = date.add({ days: 1 })) {
    const interval = intervalOn(quietHours, date, timeZone);
    if (interval && interval.end > fromMs && interval.start < toMs) intervals.push([interval.start, interval.end]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of intervals) {
    const previous = merged[merged.length - 1];
    if (previous && s <= previous[1]) previous[1] = Math.max(previous[1], e);
    else merged.push([s, e]);
  }
  return merged.map(([s, e]): [number, number] => [Math.max(s, fromMs), Math.min(e, toMs)]).filter(([s, e]) => e > s);
}

/**
 * The timeline of a preview: the whole local days (in `timeZone`) from the first instant's to the
 * last one's, at most `maxDays` of them. `instants` are the occurrences and the ends of their
 * deferrals; none: no timeline.
 */
export function previewTimeline(input: {
  instants: readonly number[];
  timeZone: string;
  quietHours: QuietHours | null;
  maxDays?: number;
}): PreviewTimeline | undefined {
  if (input.instants.length === 0) return undefined;
  const { timeZone } = input;
  const first = zoned(Math.min(...input.instants), timeZone).toPlainDate();
  const last = zoned(Math.max(...input.instants), timeZone).toPlainDate();
  const cap = first.add({ days: input.maxDays ?? MAX_TIMELINE_DAYS });
  const end = Temporal.PlainDate.compare(last.add({ days: 1 }), cap) < 0 ? last.add({ days: 1 }) : cap;
  // A PlainDate's start in a zone is its first instant, even where midnight falls in a gap.
  const startOfDay = (date: Temporal.PlainDate) => date.toZonedDateTime({ timeZone }).epochMilliseconds;
  // Kept within the four-digit years an RFC 3339 date-time can write.
  return timelineBetween(Math.max(startOfDay(first), FIRST_RFC3339_MS), Math.min(startOfDay(end), LAST_RFC3339_MS), timeZone, input.quietHours);
}
