/**
 * Gaps and folds in several zones: a wall time that does not exist moves forward by the gap and
 * still counts; one that exists twice means the first; instants stay ordered and unique.
 * (Also run under TZ=Australia/Adelaide by the domain-tz project: nothing reads the host zone.)
 */
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, it } from 'vitest';
import { compileRecurrence, type Occurrence } from '../../../src/domain/recurrence/index.js';

const series = (dtstart: string, tzid: string, rrule: string, n = 10): Occurrence[] => compileRecurrence({ dtstart, tzid, rrule }).take(n);
const locals = (occurrences: Occurrence[]) => occurrences.map((o) => o.local);

describe('spring-forward gaps', () => {
  it('New York: the daily 02:30 is sent at 03:30 EDT on the day 02:00–03:00 does not exist, once', () => {
    const days = series('2025-03-08T02:30:00', 'America/New_York', 'FREQ=DAILY;COUNT=3');
    expect(days.map(({ utc, local, wall }) => ({ utc, local, wall }))).toEqual([
      { utc: '2025-03-08T07:30:00Z', local: '2025-03-08T02:30:00-05:00', wall: '2025-03-08T02:30:00' },
      { utc: '2025-03-09T07:30:00Z', local: '2025-03-09T03:30:00-04:00', wall: '2025-03-09T02:30:00' },
      { utc: '2025-03-10T06:30:00Z', local: '2025-03-10T02:30:00-04:00', wall: '2025-03-10T02:30:00' },
    ]);
  });

  it('Paris and London: the gap day still has its occurrence, one hour later on the clock', () => {
    expect(locals(series('2026-03-28T02:30:00', 'Europe/Paris', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2026-03-28T02:30:00+01:00',
      '2026-03-29T03:30:00+02:00',
      '2026-03-30T02:30:00+02:00',
    ]);
    expect(locals(series('2026-03-28T01:15:00', 'Europe/London', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2026-03-28T01:15:00+00:00',
      '2026-03-29T02:15:00+01:00',
      '2026-03-30T01:15:00+01:00',
    ]);
  });

  it('Sydney (southern hemisphere, October): 02:30 becomes 03:30 AEDT', () => {
    expect(locals(series('2026-10-03T02:30:00', 'Australia/Sydney', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2026-10-03T02:30:00+10:00',
      '2026-10-04T03:30:00+11:00',
      '2026-10-05T02:30:00+11:00',
    ]);
  });

  it('Lord Howe (a 30-minute DST shift): 02:15 becomes 02:45', () => {
    expect(locals(series('2026-10-03T02:15:00', 'Australia/Lord_Howe', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2026-10-03T02:15:00+10:30',
      '2026-10-04T02:45:00+11:00',
      '2026-10-05T02:15:00+11:00',
    ]);
  });

  it('São Paulo (a gap at midnight, 2018): the 00:30 of the missing hour is sent at 01:30', () => {
    expect(locals(series('2018-11-03T00:30:00', 'America/Sao_Paulo', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2018-11-03T00:30:00-03:00',
      '2018-11-04T01:30:00-02:00',
      '2018-11-05T00:30:00-02:00',
    ]);
  });

  it('Samoa skipped 30 December 2011 entirely: that day’s 09:00 moves a day forward and merges with the 31st’s', () => {
    const days = series('2011-12-28T09:00:00', 'Pacific/Apia', 'FREQ=DAILY;COUNT=6');
    expect(days.map((o) => [o.local, o.wall])).toEqual([
      ['2011-12-28T09:00:00-10:00', '2011-12-28T09:00:00'],
      ['2011-12-29T09:00:00-10:00', '2011-12-29T09:00:00'],
      ['2011-12-31T09:00:00+14:00', '2011-12-30T09:00:00'],
      ['2012-01-01T09:00:00+14:00', '2012-01-01T09:00:00'],
      ['2012-01-02T09:00:00+14:00', '2012-01-02T09:00:00'],
    ]);
  });

  it('an hourly rule through the New York gap: 02:00 becomes 03:00, which is then not sent twice', () => {
    expect(locals(series('2025-03-09T00:00:00', 'America/New_York', 'FREQ=HOURLY;COUNT=5'))).toEqual([
      '2025-03-09T00:00:00-05:00',
      '2025-03-09T01:00:00-05:00',
      '2025-03-09T03:00:00-04:00',
      '2025-03-09T04:00:00-04:00',
    ]);
  });

  it('every 15 minutes through the gap: instants stay in order with no duplicates', () => {
    const run = series('2025-03-09T01:30:00', 'America/New_York', 'FREQ=MINUTELY;INTERVAL=15', 8);
    expect(locals(run)).toEqual([
      '2025-03-09T01:30:00-05:00',
      '2025-03-09T01:45:00-05:00',
      '2025-03-09T03:00:00-04:00',
      '2025-03-09T03:15:00-04:00',
      '2025-03-09T03:30:00-04:00',
      '2025-03-09T03:45:00-04:00',
      '2025-03-09T04:00:00-04:00',
      '2025-03-09T04:15:00-04:00',
    ]);
  });
});

describe('fall-back folds', () => {
  it('New York: the daily 01:30 that happens twice is sent at the first one (EDT), once', () => {
    expect(locals(series('2025-11-01T01:30:00', 'America/New_York', 'FREQ=DAILY;COUNT=3'))).toEqual([
      '2025-11-01T01:30:00-04:00',
      '2025-11-02T01:30:00-04:00',
      '2025-11-03T01:30:00-05:00',
    ]);
  });

  it('Paris, Sydney and Lord Howe: the first of the two', () => {
    expect(series('2026-10-25T02:30:00', 'Europe/Paris', 'FREQ=DAILY;COUNT=1')[0]?.local).toBe('2026-10-25T02:30:00+02:00');
    expect(series('2026-04-05T02:30:00', 'Australia/Sydney', 'FREQ=DAILY;COUNT=1')[0]?.local).toBe('2026-04-05T02:30:00+11:00');
    expect(series('2026-04-05T01:45:00', 'Australia/Lord_Howe', 'FREQ=DAILY;COUNT=1')[0]?.local).toBe('2026-04-05T01:45:00+11:00');
  });

  it('half-hourly through the New York fold: wall times once each, so one real hour has none', () => {
    expect(locals(series('2025-11-02T00:30:00', 'America/New_York', 'FREQ=MINUTELY;INTERVAL=30;COUNT=5'))).toEqual([
      '2025-11-02T00:30:00-04:00',
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:30:00-04:00',
      '2025-11-02T02:00:00-05:00',
      '2025-11-02T02:30:00-05:00',
    ]);
  });

  it('UNTIL is an instant: inside the fold it keeps the first 01:30 and drops the next day', () => {
    // 06:00Z is 01:00 EST, the second pass through 01:00; 01:30 EDT (05:30Z) is before it.
    expect(locals(compileRecurrence({ dtstart: '2025-10-31T01:30:00', tzid: 'America/New_York', rrule: 'FREQ=DAILY;UNTIL=20251102T060000Z' }).take(9))).toEqual([
      '2025-10-31T01:30:00-04:00',
      '2025-11-01T01:30:00-04:00',
      '2025-11-02T01:30:00-04:00',
    ]);
  });
});

describe('zones without DST', () => {
  it('Kolkata (+05:30): 09:00 is 03:30Z every day of the year', () => {
    const year = compileRecurrence({ dtstart: '2026-01-01T09:00:00', tzid: 'Asia/Kolkata', rrule: 'FREQ=DAILY;COUNT=365' }).take(400);
    expect(year).toHaveLength(365);
    expect(new Set(year.map((o) => o.utc.slice(11)))).toEqual(new Set(['03:30:00Z']));
  });

  it('Kathmandu (+05:45) and Chatham (+12:45/+13:45) keep the wall time', () => {
    expect(series('2026-06-01T08:00:00', 'Asia/Kathmandu', 'FREQ=WEEKLY;COUNT=1')[0]?.utc).toBe('2026-06-01T02:15:00Z');
    expect(locals(series('2026-04-04T08:00:00', 'Pacific/Chatham', 'FREQ=DAILY;COUNT=2'))).toEqual(['2026-04-04T08:00:00+13:45', '2026-04-05T08:00:00+12:45']);
  });
});

describe('wall time → instant agrees with Temporal’s “compatible” disambiguation (RFC 5545 §3.3.5)', () => {
  const zones = ['America/New_York', 'Europe/Paris', 'Europe/London', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Apia', 'America/Sao_Paulo', 'America/Havana', 'Africa/Casablanca', 'Pacific/Chatham', 'UTC'];
  it('for any wall time in 1970–2037 in any of these zones', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 24_836 }), // days since 1970-01-01
        fc.integer({ min: 0, max: 86_399 }),
        (tzid, day, second) => {
          const wall = Temporal.PlainDateTime.from('1970-01-01T00:00:00').add({ days: day, seconds: second });
          const dtstart = wall.toString();
          const expected = wall.toZonedDateTime(tzid, { disambiguation: 'compatible' });
          const [first] = compileRecurrence({ dtstart, tzid }).take(1);
          expect(first?.epochMs).toBe(expected.epochMilliseconds);
          expect(first?.local).toBe(expected.toString({ timeZoneName: 'never', fractionalSecondDigits: 0 }));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('for wall times within two hours of a transition (gaps and folds themselves)', () => {
    const near: { tzid: string; wall: Temporal.PlainDateTime }[] = [];
    for (const tzid of zones) {
      let t = Temporal.ZonedDateTime.from({ year: 1995, month: 1, day: 1, timeZone: tzid });
      for (let next = t.getTimeZoneTransition('next'); next && next.year < 2035; next = t.getTimeZoneTransition('next')) {
        near.push({ tzid, wall: next.toPlainDateTime() });
        t = next;
      }
    }
    fc.assert(
      fc.property(fc.constantFrom(...near), fc.integer({ min: -7200, max: 7200 }), ({ tzid, wall }, seconds) => {
        const w = wall.add({ seconds });
        const expected = w.toZonedDateTime(tzid, { disambiguation: 'compatible' });
        const [first] = compileRecurrence({ dtstart: w.toString(), tzid }).take(1);
        expect(first?.local).toBe(expected.toString({ timeZoneName: 'never', fractionalSecondDigits: 0 }));
      }),
      { numRuns: 3000 },
    );
  });
});
