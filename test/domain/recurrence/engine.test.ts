/**
 * The recurrence engine as its callers use it: month ends and leap days, RDATE/EXDATE, the four
 * operations (next after, first N, within a window, description), and validation errors that name
 * the part at fault.
 */
import { describe, expect, it } from 'vitest';
import { compileRecurrence, parseICal, RecurrenceError, type RecurrenceInput } from '../../../src/domain/recurrence/index.js';

const days = (input: RecurrenceInput, n: number) =>
  compileRecurrence(input)
    .take(n)
    .map((o) => o.wall.slice(0, 10));

function failure(input: RecurrenceInput | string): { part: string; reason: string } {
  try {
    compileRecurrence(typeof input === 'string' ? parseICal(input) : input);
  } catch (error) {
    if (error instanceof RecurrenceError) return { part: error.part, reason: error.reason };
    throw error;
  }
  throw new Error('expected a RecurrenceError');
}

describe('month ends and leap days', () => {
  const at = (dtstart: string, rrule: string) => ({ dtstart: `${dtstart}T09:00:00`, tzid: 'Europe/Paris', rrule });

  it('the 31st of every month skips the months without one (and does not count them)', () => {
    expect(days(at('2026-01-31', 'FREQ=MONTHLY;COUNT=4'), 9)).toEqual(['2026-01-31', '2026-03-31', '2026-05-31', '2026-07-31']);
  });

  it('the last day of every month is BYMONTHDAY=-1, February included', () => {
    expect(days(at('2027-12-31', 'FREQ=MONTHLY;BYMONTHDAY=-1'), 4)).toEqual(['2027-12-31', '2028-01-31', '2028-02-29', '2028-03-31']);
  });

  it('the last day of the month, spelled BYMONTHDAY=28..31;BYSETPOS=-1', () => {
    expect(days(at('2026-01-31', 'FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1'), 3)).toEqual(['2026-01-31', '2026-02-28', '2026-03-31']);
  });

  it('February 29 comes only in leap years (1900 and 2100 are not, 2000 was)', () => {
    expect(days(at('1896-02-29', 'FREQ=YEARLY;COUNT=3'), 3)).toEqual(['1896-02-29', '1904-02-29', '1908-02-29']);
    expect(days(at('2096-02-29', 'FREQ=YEARLY;COUNT=2'), 2)).toEqual(['2096-02-29', '2104-02-29']);
    expect(days(at('1996-02-29', 'FREQ=YEARLY;INTERVAL=4;COUNT=2'), 2)).toEqual(['1996-02-29', '2000-02-29']);
  });

  it('day 366 of the year and day -1 of the year', () => {
    expect(days(at('2024-12-31', 'FREQ=YEARLY;BYYEARDAY=366;COUNT=2'), 2)).toEqual(['2024-12-31', '2028-12-31']);
    expect(days(at('2025-12-31', 'FREQ=YEARLY;BYYEARDAY=-1;COUNT=2'), 2)).toEqual(['2025-12-31', '2026-12-31']);
  });

  it('week 53 exists only in long ISO years', () => {
    expect(days(at('2020-12-31', 'FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH;COUNT=3'), 3)).toEqual(['2020-12-31', '2026-12-31', '2032-12-30']);
  });

  it('the fifth Friday of the month only in months that have one', () => {
    expect(days(at('2026-01-30', 'FREQ=MONTHLY;BYDAY=5FR;COUNT=3'), 3)).toEqual(['2026-01-30', '2026-05-29', '2026-07-31']);
  });
});

describe('time parts and sub-daily frequencies', () => {
  const times = (rrule: string, n: number, dtstart = '2026-01-05T09:00:00') =>
    compileRecurrence({ dtstart, tzid: 'UTC', rrule })
      .take(n)
      .map((o) => o.wall.slice(11));

  it('BYSECOND expands a minutely rule and a daily one', () => {
    expect(times('FREQ=MINUTELY;BYSECOND=0,30;COUNT=4', 9)).toEqual(['09:00:00', '09:00:30', '09:01:00', '09:01:30']);
    expect(times('FREQ=DAILY;BYSECOND=15,45;COUNT=2', 9)).toEqual(['09:00:15', '09:00:45']);
  });

  it('SECONDLY with an interval, and BYHOUR/BYMINUTE limiting sub-daily rules', () => {
    expect(times('FREQ=SECONDLY;INTERVAL=20;COUNT=4', 9)).toEqual(['09:00:00', '09:00:20', '09:00:40', '09:01:00']);
    expect(times('FREQ=HOURLY;INTERVAL=5;BYHOUR=9,14,19', 4)).toEqual(['09:00:00', '14:00:00', '19:00:00', '09:00:00']);
    expect(times('FREQ=MINUTELY;INTERVAL=7;BYMINUTE=0,7,14;BYHOUR=9', 4)).toEqual(['09:00:00', '09:07:00', '09:14:00', '09:00:00']);
  });

  it('BYSECOND=60 (a leap second) is accepted and never produced', () => {
    expect(times('FREQ=MINUTELY;BYSECOND=59,60;COUNT=2', 2)).toEqual(['09:00:59', '09:01:59']);
  });
});

describe('RDATE and EXDATE', () => {
  const base = { dtstart: '2026-03-02T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=WEEKLY;COUNT=3' };

  it('RDATE adds instants in order and EXDATE removes them, matching on the instant', () => {
    const list = compileRecurrence({ ...base, rdate: ['2026-03-04T12:00:00', '2026-03-20'], exdate: ['2026-03-09T08:00:00Z'] }).take(10);
    expect(list.map((o) => o.local)).toEqual(['2026-03-02T09:00:00+01:00', '2026-03-04T12:00:00+01:00', '2026-03-16T09:00:00+01:00', '2026-03-20T09:00:00+01:00']);
  });

  it('an RDATE on an instance of the rule is the same occurrence, once', () => {
    expect(compileRecurrence({ ...base, rdate: ['2026-03-09T09:00:00'] }).take(10)).toHaveLength(3);
  });

  it('RDATE and EXDATE in another zone (iCalendar TZID) are compared as instants', () => {
    const rule = parseICal(
      'DTSTART;TZID=Europe/Paris:20260302T090000\nRRULE:FREQ=WEEKLY;COUNT=3\nEXDATE;TZID=America/New_York:20260309T040000\nRDATE;TZID=Asia/Tokyo:20260305T170000',
    );
    expect(
      compileRecurrence(rule)
        .take(10)
        .map((o) => o.local),
    ).toEqual(['2026-03-02T09:00:00+01:00', '2026-03-05T09:00:00+01:00', '2026-03-16T09:00:00+01:00']);
  });

  it('a recurrence with RDATEs and no RRULE', () => {
    expect(days({ dtstart: '2026-05-01T10:00:00', tzid: 'UTC', rdate: ['2026-05-03T10:00:00', '2026-05-02T10:00:00'] }, 5)).toEqual(['2026-05-01', '2026-05-02', '2026-05-03']);
  });

  it('DTSTART counts as an occurrence when no RRULE is given, and only when the rule matches it otherwise', () => {
    expect(days({ dtstart: '2026-05-01T10:00:00', tzid: 'UTC' }, 3)).toEqual(['2026-05-01']);
    // 2026-11-25 is a Wednesday; "every Monday" created that day starts on the Monday.
    expect(days({ dtstart: '2026-11-25T09:00:00', tzid: 'UTC', rrule: 'FREQ=WEEKLY;BYDAY=MO' }, 2)).toEqual(['2026-11-30', '2026-12-07']);
  });
});

describe('operations', () => {
  const daily = compileRecurrence({ dtstart: '2016-01-04T08:30:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' });

  it('next after an instant is strictly after it', () => {
    const at = Date.parse('2026-11-22T07:30:00Z'); // exactly 08:30 Paris
    expect(daily.nextAfter(at)?.local).toBe('2026-11-23T08:30:00+01:00');
    expect(daily.nextAfter(at - 1)?.local).toBe('2026-11-22T08:30:00+01:00');
  });

  it('the first N from an instant, and from DTSTART without one', () => {
    expect(daily.take(2, Date.parse('2026-07-01T00:00:00Z')).map((o) => o.local)).toEqual(['2026-07-01T08:30:00+02:00', '2026-07-02T08:30:00+02:00']);
    expect(daily.take(1)[0]?.local).toBe('2016-01-04T08:30:00+01:00');
    expect(daily.take(0)).toEqual([]);
  });

  it('within a window: start inclusive, end exclusive', () => {
    const start = Date.parse('2026-03-28T07:30:00Z');
    const list = daily.between(start, Date.parse('2026-03-31T06:30:00Z'));
    expect(list.map((o) => o.local)).toEqual(['2026-03-28T08:30:00+01:00', '2026-03-29T08:30:00+02:00', '2026-03-30T08:30:00+02:00']);
  });

  it('a finished series has no next occurrence', () => {
    const done = compileRecurrence({ dtstart: '2020-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY;UNTIL=20200105T090000Z' });
    expect(done.nextAfter(Date.parse('2020-01-05T09:00:00Z'))).toBeUndefined();
    expect(done.take(10)).toHaveLength(5);
  });

  it('a DTSTART given as a UTC instant is shown in the zone', () => {
    expect(compileRecurrence({ dtstart: '2026-06-01T07:00:00Z', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' }).take(1)[0]?.local).toBe('2026-06-01T09:00:00+02:00');
  });

  it('UNTIL as a DATE runs through the end of that day in the rule’s zone', () => {
    const list = compileRecurrence({ dtstart: '2026-01-01T23:30:00', tzid: 'Asia/Tokyo', rrule: 'FREQ=DAILY;UNTIL=20260103' }).take(10);
    expect(list.map((o) => o.wall.slice(0, 10))).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });
});

describe('description', () => {
  const text = (dtstart: string, rrule: string, tzid = 'Europe/Paris') => compileRecurrence({ dtstart, tzid, rrule }).describe();

  it.each([
    ['2026-01-05T08:30:00', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'every weekday at 08:30, Europe/Paris'],
    ['2026-01-05T08:30:00', 'FREQ=DAILY', 'every day at 08:30, Europe/Paris'],
    ['2026-01-05T18:00:00', 'FREQ=WEEKLY', 'every Monday at 18:00, Europe/Paris'],
    ['2026-01-05T09:00:00', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH', 'every 2 weeks on Monday and Thursday at 09:00, Europe/Paris'],
    ['2026-01-30T18:00:00', 'FREQ=MONTHLY;BYDAY=-1FR;COUNT=6', 'every month on the last Friday at 18:00, 6 times, Europe/Paris'],
    ['2026-01-30T18:00:00', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 'every month on the last weekday at 18:00, Europe/Paris'],
    ['2026-01-15T09:00:00', 'FREQ=MONTHLY', 'every month on the 15th at 09:00, Europe/Paris'],
    ['2026-03-10T07:00:00', 'FREQ=YEARLY', 'every year on March 10 at 07:00, Europe/Paris'],
    ['2026-01-05T09:00:00', 'FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30', 'every day at 09:00, 09:30, 17:00 and 17:30, Europe/Paris'],
    ['2026-01-05T09:00:00', 'FREQ=DAILY;UNTIL=20260301T000000Z', 'every day at 09:00, until 2026-03-01T00:00:00Z, Europe/Paris'],
  ])('%s %s → %s', (dtstart, rrule, expected) => {
    expect(text(dtstart, rrule)).toBe(expected);
  });

  it('a single date', () => {
    expect(compileRecurrence({ dtstart: '2026-05-01T10:00:00', tzid: 'UTC' }).describe()).toBe('once, at 2026-05-01 10:00, UTC');
  });
});

describe('validation names the part and the reason', () => {
  const rule = (rrule: string, extra: Partial<RecurrenceInput> = {}) => ({ dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule, ...extra });

  it.each([
    ['FREQ=DAILY;FOO=1', 'FOO', /unknown rule part/],
    ['INTERVAL=2', 'FREQ', /required/],
    ['FREQ=FORTNIGHTLY', 'FREQ', /not one of/],
    ['FREQ=DAILY;FREQ=WEEKLY', 'FREQ', /more than once/],
    ['FREQ=DAILY;COUNT=3;UNTIL=20260301T000000Z', 'COUNT', /must not both/],
    ['FREQ=DAILY;UNTIL=20260301T000000', 'UNTIL', /UTC/],
    ['FREQ=DAILY;UNTIL=20250101T000000Z', 'UNTIL', /before DTSTART/],
    ['FREQ=DAILY;INTERVAL=0', 'INTERVAL', /positive integer/],
    ['FREQ=DAILY;COUNT=-1', 'COUNT', /positive integer/],
    ['FREQ=DAILY;BYHOUR=24', 'BYHOUR', /out of range/],
    ['FREQ=MONTHLY;BYMONTHDAY=0', 'BYMONTHDAY', /out of range/],
    ['FREQ=MONTHLY;BYMONTHDAY=32', 'BYMONTHDAY', /out of range/],
    ['FREQ=YEARLY;BYWEEKNO=54', 'BYWEEKNO', /out of range/],
    ['FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0', 'BYSETPOS', /out of range/],
    ['FREQ=DAILY;BYMONTH=13', 'BYMONTH', /out of range/],
    ['FREQ=WEEKLY;BYDAY=XX', 'BYDAY', /not a weekday/],
    ['FREQ=MONTHLY;BYDAY=6MO', 'BYDAY', /out of range/],
    ['FREQ=WEEKLY;BYDAY=1MO', 'BYDAY', /only allowed with FREQ=MONTHLY or YEARLY/],
    ['FREQ=MONTHLY;BYWEEKNO=1', 'BYWEEKNO', /only allowed with FREQ=YEARLY/],
    ['FREQ=DAILY;BYYEARDAY=1', 'BYYEARDAY', /not allowed with FREQ=DAILY/],
    ['FREQ=WEEKLY;BYMONTHDAY=1', 'BYMONTHDAY', /not allowed with FREQ=WEEKLY/],
    ['FREQ=DAILY;BYSETPOS=1', 'BYSETPOS', /requires another BYxxx/],
    ['FREQ=WEEKLY;WKST=XX', 'WKST', /not a weekday/],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'BYMONTHDAY', /no month in BYMONTH=2 has a day 30/],
    ['FREQ=MONTHLY;BYDAY=-2SU;BYMONTHDAY=31', 'RRULE', /no occurrence within 200 years/],
    ['FREQ=YEARLY;BYMONTH=1;BYYEARDAY=366', 'RRULE', /no occurrence within 200 years/],
    ['FREQ=WEEKLY;BYDAY=FR;UNTIL=20260108T000000Z', 'UNTIL', /no occurrence between DTSTART and UNTIL/],
  ])('%s → %s', (rrule, part, reason) => {
    const { part: got, reason: why } = failure(rule(rrule));
    expect(got).toBe(part);
    expect(why).toMatch(reason);
  });

  it('refuses a never-matching sub-daily rule by its iteration budget, quickly, instead of hanging', () => {
    // Every other minute from :00 never lands on an odd minute.
    const { part, reason } = failure(rule('FREQ=MINUTELY;INTERVAL=2;BYMINUTE=1'));
    expect(part).toBe('RRULE');
    expect(reason).toMatch(/matches nothing within 1000000 candidates/);
  });

  it('the budget and horizon are configurable', () => {
    expect(() => compileRecurrence(rule('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', { dtstart: '2097-02-01T09:00:00' }), { horizonYears: 5 })).toThrow(/within 5 years/);
    expect(() => compileRecurrence(rule('FREQ=SECONDLY;BYSECOND=59'), { maxIterations: 10 })).toThrow(/within 10 candidates/);
  });

  it('sub-daily rules skip non-matching days and hours whole, so sparse ones stay cheap', () => {
    // From 09:00, the first 23:00 minute is 14 hours away: found within 50 candidates, not 840.
    const lateMinutes = compileRecurrence(rule('FREQ=MINUTELY;BYHOUR=23'), { maxIterations: 50 });
    expect(lateMinutes.take(2).map((o) => o.local)).toEqual(['2026-01-05T23:00:00+01:00', '2026-01-05T23:01:00+01:00']);
    // Leap days only, every second of them: four years of days skipped one step each.
    const leapSeconds = compileRecurrence({ ...rule('FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12;BYMINUTE=0'), dtstart: '2025-03-01T00:00:00' }, { maxIterations: 3_000 });
    expect(leapSeconds.take(1)[0]?.local).toBe('2028-02-29T12:00:00+01:00');
  });

  it.each([
    [{ dtstart: '2026-02-30T09:00:00', tzid: 'UTC' }, 'DTSTART', /not a valid date-time/],
    [{ dtstart: '2026-02-03 09:00', tzid: 'UTC' }, 'DTSTART', /must be YYYY-MM-DDTHH:mm:ss/],
    [{ dtstart: '2026-02-03T09:00:00', tzid: 'Mars/Olympus' }, 'TZID', /unknown time zone/],
    [{ dtstart: '2026-02-03T09:00:00', tzid: '+05:30' }, 'TZID', /IANA/],
    [{ dtstart: '2026-02-03T09:00:00', tzid: 'UTC', rdate: ['2026-13-01'] }, 'RDATE', /must be|not a valid/],
    [{ dtstart: '2026-02-03T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1', exdate: ['2026-02-03T09:00:00'] }, 'EXDATE', /excludes every occurrence/],
  ])('%j → %s', (input, part, reason) => {
    const { part: got, reason: why } = failure(input as RecurrenceInput);
    expect(got).toBe(part);
    expect(why).toMatch(reason);
  });

  it.each([
    ['RRULE:FREQ=DAILY', 'DTSTART', /required/],
    ['DTSTART:20260105T090000\nDTSTART:20260106T090000', 'DTSTART', /more than once/],
    ['DTSTART:20260105T090000\nRRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY', 'RRULE', /only one RRULE/],
    ['DTSTART:20260105T090000\nSUMMARY:lunch', 'SUMMARY', /unsupported property/],
    ['DTSTART;TZID=Europe/Paris:20260105T090000Z', 'DTSTART', /must not end in Z/],
    ['DTSTART:2026-01-05', 'DTSTART', /not a DATE/],
    ['DTSTART:20260105T090000\nRDATE;VALUE=PERIOD:20260105T090000/PT1H', 'RDATE', /VALUE=PERIOD is not supported/],
  ])('iCalendar %j → %s', (ical, part, reason) => {
    const { part: got, reason: why } = failure(ical);
    expect(got).toBe(part);
    expect(why).toMatch(reason);
  });
});
