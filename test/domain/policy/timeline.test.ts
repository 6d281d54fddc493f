import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, it } from 'vitest';
import type { QuietHours } from '../../../src/domain/preferences/index.js';
import { MAX_TIMELINE_DAYS, previewTimeline, quietIntervalAt, timelineBetween } from '../../../src/domain/policy/index.js';
import { at, HOUR_MS, quietHours } from './fixtures.js';

const NIGHTS: QuietHours = { default: { start: '22:00', end: '07:00' } };
const iso = (epochMs: number) => new Date(epochMs).toISOString();

describe('the preview timeline', () => {
  it('spans the whole local days of the occurrences, with the spring-forward change and each night of quiet hours', () => {
    // 06:30 New York on 6–9 March 2026; the clocks go forward on Sunday 8 March at 02:00 EST.
    const instants = [6, 7, 8, 9].map((day) => at(`2026-03-0${day}T06:30[America/New_York]`));
    const timeline = previewTimeline({ instants, timeZone: 'America/New_York', quietHours: NIGHTS });

    expect(timeline).toEqual({
      from: '2026-03-06T05:00:00.000Z', // midnight EST
      to: '2026-03-10T04:00:00.000Z', // midnight EDT after the last day
      timeZone: 'America/New_York',
      offsetAtFrom: '-05:00',
      dstTransitions: [{ at: '2026-03-08T07:00:00.000Z', offsetBefore: '-05:00', offsetAfter: '-04:00' }],
      quietWindows: [
        // The night before the first day, cut at the span's start.
        { start: '2026-03-06T05:00:00.000Z', end: iso(at('2026-03-06T07:00[America/New_York]')) },
        { start: iso(at('2026-03-06T22:00[America/New_York]')), end: iso(at('2026-03-07T07:00[America/New_York]')) },
        // Across the change: 22:00 EST to 07:00 EDT is 8 hours of real time.
        { start: '2026-03-08T03:00:00.000Z', end: '2026-03-08T11:00:00.000Z' },
        { start: iso(at('2026-03-08T22:00[America/New_York]')), end: iso(at('2026-03-09T07:00[America/New_York]')) },
        // The last evening, cut at the span's end.
        { start: iso(at('2026-03-09T22:00[America/New_York]')), end: '2026-03-10T04:00:00.000Z' },
      ],
    });
  });

  it('reports a fall-back change with the offsets before and after, and a 10-hour night across it', () => {
    const october = timelineBetween(at('2026-10-24T00:00[Europe/Paris]'), at('2026-10-26T00:00[Europe/Paris]'), 'Europe/Paris', NIGHTS);
    expect(october.dstTransitions).toEqual([{ at: '2026-10-25T01:00:00.000Z', offsetBefore: '+02:00', offsetAfter: '+01:00' }]);
    const night = october.quietWindows.find((w) => w.start === iso(at('2026-10-24T22:00[Europe/Paris]')));
    expect(night).toBeDefined();
    expect(Date.parse(night!.end) - Date.parse(night!.start)).toBe(10 * HOUR_MS);
  });

  it('merges a weekday window into the night it overlaps, as the deferral follows them', () => {
    // Monday 20:00–10:00, then Tuesday 09:00–12:00: one quiet stretch, Monday 20:00 to Tuesday 12:00.
    const quietHours: QuietHours = { default: null, weekdays: { mon: { start: '20:00', end: '10:00' }, tue: { start: '09:00', end: '12:00' } } };
    const timeline = timelineBetween(at('2026-03-02T00:00[Europe/Paris]'), at('2026-03-04T00:00[Europe/Paris]'), 'Europe/Paris', quietHours);
    expect(timeline.quietWindows).toEqual([{ start: iso(at('2026-03-02T20:00[Europe/Paris]')), end: iso(at('2026-03-03T12:00[Europe/Paris]')) }]);
  });

  it('has no quiet windows without quiet hours, and no timeline without occurrences', () => {
    expect(timelineBetween(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 8), 'UTC', null).quietWindows).toEqual([]);
    expect(previewTimeline({ instants: [], timeZone: 'UTC', quietHours: NIGHTS })).toBeUndefined();
  });

  it(`describes at most ${MAX_TIMELINE_DAYS} local days, however far apart the occurrences are`, () => {
    const instants = [Date.UTC(2026, 0, 1, 12), Date.UTC(2036, 0, 1, 12)];
    const timeline = previewTimeline({ instants, timeZone: 'UTC', quietHours: NIGHTS })!;
    expect(timeline.from).toBe('2026-01-01T00:00:00.000Z');
    expect(Date.parse(timeline.to) - Date.parse(timeline.from)).toBe(MAX_TIMELINE_DAYS * 24 * HOUR_MS);
    expect(timeline.quietWindows.length).toBeLessThanOrEqual(MAX_TIMELINE_DAYS + 1);
  });
});

// ---- properties --------------------------------------------------------------------------------

const ZONES = ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kolkata', 'Pacific/Apia', 'America/Sao_Paulo', 'UTC'] as const;
const MINUTE_MS = 60_000;
/** A span of up to 10 days starting on the minute, 2010–2031, often just before a DST change. */
function span(timeZone: string): fc.Arbitrary<[number, number]> {
  const anyStart = fc.integer({ min: Date.UTC(2010, 0, 1) / MINUTE_MS, max: Date.UTC(2031, 0, 1) / MINUTE_MS }).map((m) => m * MINUTE_MS);
  const nearChange = fc.tuple(fc.integer({ min: 2010, max: 2030 }), fc.constantFrom(1, 7), fc.integer({ min: 0, max: 72 * 60 })).map(([year, month, minutes]) => {
    const from = Temporal.PlainDate.from({ year, month, day: 1 }).toZonedDateTime({ timeZone });
    return (from.getTimeZoneTransition('next') ?? from).epochMilliseconds - minutes * MINUTE_MS;
  });
  return fc.tuple(fc.oneof(anyStart, nearChange), fc.integer({ min: 0, max: 10 * 24 * 60 })).map(([start, minutes]) => [start, start + minutes * MINUTE_MS]);
}
const cases = fc.constantFrom(...ZONES).chain((timeZone) => fc.tuple(fc.constant(timeZone), quietHours, span(timeZone), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 })));

describe('the preview timeline, for any zone, quiet hours and span', () => {
  it('has quiet windows in order, disjoint, not touching, non-empty and inside the span — quiet exactly where the decision finds quiet hours', () => {
    fc.assert(
      fc.property(cases, ([timeZone, hours, [from, to], samples]) => {
        const { quietWindows } = timelineBetween(from, to, timeZone, hours);
        const windows = quietWindows.map((w) => [Date.parse(w.start), Date.parse(w.end)] as const);
        windows.forEach(([start, end], i) => {
          expect(start).toBeGreaterThanOrEqual(from);
          expect(end).toBeLessThanOrEqual(to);
          expect(end).toBeGreaterThan(start);
          if (i > 0) expect(start).toBeGreaterThan(windows[i - 1]![1]);
        });
        // Sampled instants, and each window's edges: inside a window ⇔ in quiet hours for decide().
        const instants = [...samples.map((s) => Math.floor(from + s * (to - from))), ...windows.flatMap(([s, e]) => [s, e - 1, e])].filter((t) => t >= from && t < to);
        for (const t of instants) {
          const inWindow = windows.some(([s, e]) => s <= t && t < e);
          expect(inWindow, `${new Date(t).toISOString()} in ${timeZone}`).toBe(quietIntervalAt(t, timeZone, hours) !== undefined);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('lists every offset change strictly inside the span, in order, each one a real change from the offset before it', () => {
    fc.assert(
      fc.property(cases, ([timeZone, hours, [from, to]]) => {
        const timeline = timelineBetween(from, to, timeZone, hours);
        const offsetAt = (t: number) => Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(timeZone).offset;
        expect(timeline.offsetAtFrom).toBe(offsetAt(from));
        let offset = timeline.offsetAtFrom;
        let previous = from;
        for (const change of timeline.dstTransitions) {
          const t = Date.parse(change.at);
          expect(t).toBeGreaterThan(previous);
          expect(t).toBeLessThan(to);
          expect(change.offsetBefore).toBe(offset);
          expect(change.offsetAfter).not.toBe(change.offsetBefore);
          expect(offsetAt(t - 1)).toBe(change.offsetBefore);
          expect(offsetAt(t)).toBe(change.offsetAfter);
          offset = change.offsetAfter;
          previous = t;
        }
        // No change was left out: the offset at the end of the span is the last one reported.
        if (to > from) expect(offsetAt(to - 1)).toBe(offset);
      }),
      { numRuns: 300 },
    );
  });
});
