/**
 * An RRULE value parsed and validated into a typed rule. Every RFC 5545 §3.3.10 rule part is
 * understood; combinations the RFC forbids are refused with the part and the reason.
 */
import { WEEKDAYS, type Weekday } from './calendar.js';
import { RecurrenceError } from './errors.js';

export const FREQUENCIES = ['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
export type Frequency = (typeof FREQUENCIES)[number];

/** BYDAY entry: a weekday, optionally the n-th (negative: from the end) within the month or year. */
export interface ByDay {
  weekday: Weekday;
  ordinal?: number;
}

/** UNTIL as written: a UTC instant, a floating date-time (only for floating/UTC rules), or a DATE. */
export type Until =
  | { kind: 'instant'; epochSeconds: number }
  | { kind: 'wall'; year: number; month: number; day: number; hour: number; minute: number; second: number }
  | { kind: 'date'; year: number; month: number; day: number };

export interface Rule {
  freq: Frequency;
  interval: number;
  count?: number;
  until?: Until;
  bySecond?: number[];
  byMinute?: number[];
  byHour?: number[];
  byDay?: ByDay[];
  byMonthDay?: number[];
  byYearDay?: number[];
  byWeekNo?: number[];
  byMonth?: number[];
  bySetPos?: number[];
  wkst: Weekday;
}

/** [min, max, negatives allowed] of each numeric list part. */
const LIST_PARTS = {
  BYSECOND: [0, 60, false],
  BYMINUTE: [0, 59, false],
  BYHOUR: [0, 23, false],
  BYMONTHDAY: [1, 31, true],
  BYYEARDAY: [1, 366, true],
  BYWEEKNO: [1, 53, true],
  BYMONTH: [1, 12, false],
  BYSETPOS: [1, 366, true],
} as const satisfies Record<string, readonly [number, number, boolean]>;
type ListPart = keyof typeof LIST_PARTS;

const KNOWN_PARTS = new Set<string>(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', 'BYDAY', ...Object.keys(LIST_PARTS)]);
const MONTH_LONGEST = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function positiveInteger(part: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) throw new RecurrenceError(part, `"${raw}" must be a positive integer`);
  return Number(raw);
}

function weekday(part: string, raw: string): Weekday {
  const index = (WEEKDAYS as readonly string[]).indexOf(raw.toUpperCase());
  if (index < 0) throw new RecurrenceError(part, `"${raw}" is not a weekday (MO, TU, WE, TH, FR, SA, SU)`);
  return index as Weekday;
}

function numberList(part: ListPart, raw: string): number[] {
  const [min, max, negatives] = LIST_PARTS[part];
  const values = raw.split(',').map((item) => {
    const n = Number(item);
    const abs = Math.abs(n);
    if (!/^[+-]?\d{1,3}$/.test(item) || abs < min || abs > max || (n < 0 && !negatives) || (negatives && n === 0)) {
      throw new RecurrenceError(part, `"${item}" is out of range (${negatives ? '±' : ''}${min}..${max})`);
    }
    return n;
  });
  return [...new Set(values)].sort((a, b) => a - b);
}

function parseUntil(raw: string): Until {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i.exec(raw);
  if (!m) throw new RecurrenceError('UNTIL', `"${raw}" is not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSSZ)`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > (MONTH_LONGEST[month - 1] as number) || hour > 23 || minute > 59 || second > 59) {
    throw new RecurrenceError('UNTIL', `"${raw}" is not a valid date-time`);
  }
  if (m[4] === undefined) return { kind: 'date', year, month, day };
  if (m[7]) return { kind: 'instant', epochSeconds: Date.UTC(year, month - 1, day, hour, minute, second) / 1000 };
  return { kind: 'wall', year, month, day, hour, minute, second };
}

function parseByDay(raw: string): ByDay[] {
  return raw.split(',').map((item) => {
    const m = /^([+-]?\d{1,2})?([A-Za-z]{2})$/.exec(item);
    if (!m) throw new RecurrenceError('BYDAY', `"${item}" is not a weekday with an optional ordinal (e.g. MO, 2TU, -1FR)`);
    const day = weekday('BYDAY', m[2] as string);
    if (m[1] === undefined) return { weekday: day };
    const ordinal = Number(m[1]);
    if (ordinal === 0 || Math.abs(ordinal) > 53) throw new RecurrenceError('BYDAY', `"${item}": the ordinal must be ±1..53`);
    return { weekday: day, ordinal };
  });
}

/** Parses 'FREQ=…;…' (an optional 'RRULE:' prefix is accepted). */
export function parseRule(text: string): Rule {
  const parts = new Map<string, string>();
  for (const piece of text.trim().replace(/^RRULE:/i, '').split(';')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const name = (eq < 0 ? piece : piece.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? '' : piece.slice(eq + 1);
    if (!KNOWN_PARTS.has(name)) throw new RecurrenceError(name || 'RRULE', 'unknown rule part');
    if (parts.has(name)) throw new RecurrenceError(name, 'given more than once');
    if (value === '') throw new RecurrenceError(name, 'has no value');
    parts.set(name, value);
  }
  const freqRaw = parts.get('FREQ');
  if (freqRaw === undefined) throw new RecurrenceError('FREQ', 'is required');
  const freq = FREQUENCIES.find((f) => f === freqRaw.toUpperCase());
  if (!freq) throw new RecurrenceError('FREQ', `"${freqRaw}" is not one of ${FREQUENCIES.join(', ')}`);

  const rule: Rule = { freq, interval: 1, wkst: 0 };
  const interval = parts.get('INTERVAL');
  if (interval !== undefined) rule.interval = positiveInteger('INTERVAL', interval);
  const count = parts.get('COUNT');
  const until = parts.get('UNTIL');
  if (count !== undefined && until !== undefined) throw new RecurrenceError('COUNT', 'COUNT and UNTIL must not both be given');
  if (count !== undefined) rule.count = positiveInteger('COUNT', count);
  if (until !== undefined) rule.until = parseUntil(until);
  const wkst = parts.get('WKST');
  if (wkst !== undefined) rule.wkst = weekday('WKST', wkst);
  const byDay = parts.get('BYDAY');
  if (byDay !== undefined) rule.byDay = parseByDay(byDay);
  const lists: Record<ListPart, keyof Rule> = {
    BYSECOND: 'bySecond',
    BYMINUTE: 'byMinute',
    BYHOUR: 'byHour',
    BYMONTHDAY: 'byMonthDay',
    BYYEARDAY: 'byYearDay',
    BYWEEKNO: 'byWeekNo',
    BYMONTH: 'byMonth',
    BYSETPOS: 'bySetPos',
  };
  for (const [part, key] of Object.entries(lists) as [ListPart, keyof Rule][]) {
    const raw = parts.get(part);
    if (raw !== undefined) (rule as unknown as Record<string, number[]>)[key] = numberList(part, raw);
  }
  checkCombinations(rule);
  return rule;
}

/** The RFC 5545 table of which BYxxx parts each FREQ allows, plus rules that can never match. */
function checkCombinations(rule: Rule): void {
  const { freq } = rule;
  if (rule.byWeekNo && freq !== 'YEARLY') throw new RecurrenceError('BYWEEKNO', 'is only allowed with FREQ=YEARLY');
  if (rule.byYearDay && (freq === 'DAILY' || freq === 'WEEKLY' || freq === 'MONTHLY')) {
    throw new RecurrenceError('BYYEARDAY', `is not allowed with FREQ=${freq}`);
  }
  if (rule.byMonthDay && freq === 'WEEKLY') throw new RecurrenceError('BYMONTHDAY', 'is not allowed with FREQ=WEEKLY');
  const ordinals = rule.byDay?.filter((d) => d.ordinal !== undefined) ?? [];
  if (ordinals.length > 0) {
    if (freq !== 'MONTHLY' && freq !== 'YEARLY') throw new RecurrenceError('BYDAY', `ordinals (e.g. 1MO) are only allowed with FREQ=MONTHLY or YEARLY, not ${freq}`);
    if (freq === 'YEARLY' && rule.byWeekNo) throw new RecurrenceError('BYDAY', 'ordinals are not allowed together with BYWEEKNO');
    const withinMonth = freq === 'MONTHLY' || rule.byMonth !== undefined;
    const tooLarge = ordinals.find((d) => Math.abs(d.ordinal as number) > (withinMonth ? 5 : 53));
    if (tooLarge) throw new RecurrenceError('BYDAY', `ordinal ${tooLarge.ordinal} is out of range (±1..${withinMonth ? 5 : 53}) within a ${withinMonth ? 'month' : 'year'}`);
  }
  const hasOtherBy = ['bySecond', 'byMinute', 'byHour', 'byDay', 'byMonthDay', 'byYearDay', 'byWeekNo', 'byMonth'].some((k) => rule[k as keyof Rule] !== undefined);
  if (rule.bySetPos && !hasOtherBy) throw new RecurrenceError('BYSETPOS', 'requires another BYxxx rule part');
  if (rule.byMonthDay && rule.byMonth) {
    const longest = Math.max(...rule.byMonth.map((m) => MONTH_LONGEST[m - 1] as number));
    if (rule.byMonthDay.every((d) => Math.abs(d) > longest)) {
      throw new RecurrenceError('BYMONTHDAY', `no month in BYMONTH=${rule.byMonth.join(',')} has a day ${rule.byMonthDay.join(',')}`);
    }
  }
}
