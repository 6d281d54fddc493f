/**
 * Recurrence: RFC 5545 rules expanded in wall-clock (floating) time, then each wall time resolved
 * to an instant in the rule's IANA zone with §3.3.5 semantics (gap → shifted forward and counted,
 * fold → the first), invalid dates skipped (errata 4271), UNTIL compared as an instant, RDATE
 * added, EXDATE removed, duplicates collapsed.
 *
 * The wall-clock expansion uses rrule.js in floating mode only (UTC fields standing for wall-clock
 * fields, so the host zone never matters); zone resolution uses the Temporal API.
 */
import rrulePkg from 'rrule';
import { Temporal } from 'temporal-polyfill';

const { RRule } = rrulePkg;
type Options = ReturnType<typeof RRule.parseString>;

export interface RecurrenceInput {
  /** Wall-clock 'YYYY-MM-DDTHH:mm:ss' in `tzid`, or a UTC instant ending in 'Z' (shown in `tzid`). */
  dtstart: string;
  /** IANA zone, 'UTC' allowed. */
  tzid: string;
  /** Rule parts without the 'RRULE:' prefix. */
  rrule?: string;
  /** 'YYYY-MM-DDTHH:mm:ss' (in tzid), '…Z' instants, or 'YYYY-MM-DD' dates (at DTSTART's time of day). */
  rdate?: string[];
  exdate?: string[];
}

export interface Occurrence {
  epochMs: number;
  /** '2025-03-09T07:30:00Z' */
  utc: string;
  /** The instant in the rule's zone, RFC 3339 with offset. */
  local: string;
  /** The nominal wall time from the expansion (a gap-shifted 02:30 is still 02:30): the RECURRENCE-ID. */
  wall: string;
}

export class RecurrenceError extends Error {
  readonly type = 'recurrence_invalid';
  constructor(
    readonly part: string,
    readonly reason: string,
  ) {
    super(`${part}: ${reason}`);
    this.name = 'RecurrenceError';
  }
}

export interface RecurrenceLimits {
  /**
   * How far past DTSTART (or the query instant) expansion looks before concluding there is no
   * further occurrence. Default by FREQ: 200 years (DAILY and slower), 20 years (HOURLY),
   * 120 days (MINUTELY), 2 days (SECONDLY) — about 175,000 candidates at most either way.
   */
  horizonYears?: number;
  /** Wall-clock candidates examined per query at most. Default 1,000,000. */
  maxIterations?: number;
}

export interface Recurrence {
  /** The first occurrence strictly after the instant. */
  nextAfter(afterEpochMs: number): Occurrence | undefined;
  /** The first `n` strictly after the instant; without one, the series from DTSTART inclusive. */
  take(n: number, afterEpochMs?: number): Occurrence[];
  /** Occurrences in [start, end). */
  between(startEpochMs: number, endEpochMs: number): Occurrence[];
  describe(): string;
}

const WALL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const RANGES: Record<string, [number, number, boolean]> = {
  // part: [min, max, negatives allowed]
  BYSECOND: [0, 60, false],
  BYMINUTE: [0, 59, false],
  BYHOUR: [0, 23, false],
  BYMONTHDAY: [1, 31, true],
  BYYEARDAY: [1, 366, true],
  BYWEEKNO: [1, 53, true],
  BYMONTH: [1, 12, false],
  BYSETPOS: [1, 366, true],
};
const KNOWN_PARTS = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', 'BYDAY', ...Object.keys(RANGES)]);

function checkZone(tzid: string): void {
  try {
    Temporal.Now.zonedDateTimeISO(tzid);
  } catch {
    throw new RecurrenceError('tzid', `unknown time zone "${tzid}"`);
  }
  if (/^[+-]\d/.test(tzid)) throw new RecurrenceError('tzid', 'must be an IANA zone name, not an offset');
}

function plain(value: string, part: string, dtstartTime?: Temporal.PlainTime): Temporal.PlainDateTime | Temporal.Instant {
  const instant = INSTANT_RE.exec(value);
  try {
    if (instant) return Temporal.Instant.from(value);
    if (WALL_RE.test(value)) return Temporal.PlainDateTime.from(value, { overflow: 'reject' });
    if (DATE_RE.test(value) && dtstartTime) return Temporal.PlainDate.from(value, { overflow: 'reject' }).toPlainDateTime(dtstartTime);
  } catch {
    throw new RecurrenceError(part, `"${value}" is not a valid date-time`);
  }
  throw new RecurrenceError(part, `"${value}" must be YYYY-MM-DDTHH:mm:ss, an instant ending in Z, or YYYY-MM-DD`);
}

/** Wall-clock fields as a UTC Date: rrule.js's floating representation. */
const floating = (p: Temporal.PlainDateTime) => new Date(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second));
const fromFloating = (d: Date) =>
  new Temporal.PlainDateTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());

function parseRule(text: string, dtstartIsUtc: boolean): { options: Partial<Options>; until?: Temporal.Instant } {
  const parts = new Map<string, string>();
  for (const piece of text.replace(/^RRULE:/i, '').split(';')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const name = (eq < 0 ? piece : piece.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? '' : piece.slice(eq + 1);
    if (!KNOWN_PARTS.has(name)) throw new RecurrenceError(name, 'unknown rule part');
    if (parts.has(name)) throw new RecurrenceError(name, 'given twice');
    parts.set(name, value);
  }
  if (!parts.has('FREQ')) throw new RecurrenceError('FREQ', 'is required');
  if (parts.has('COUNT') && parts.has('UNTIL')) throw new RecurrenceError('COUNT', 'COUNT and UNTIL cannot both be given');
  for (const [name, [min, max, negative]] of Object.entries(RANGES)) {
    const raw = parts.get(name);
    if (raw === undefined) continue;
    for (const item of raw.split(',')) {
      const n = Number(item);
      const abs = Math.abs(n);
      if (!/^[+-]?\d+$/.test(item) || abs < min || abs > max || (n < 0 && !negative) || (negative && n === 0)) {
        throw new RecurrenceError(name, `"${item}" is out of range (${negative ? '±' : ''}${min}..${max})`);
      }
    }
  }
  for (const name of ['INTERVAL', 'COUNT']) {
    const raw = parts.get(name);
    if (raw !== undefined && (!/^\d+$/.test(raw) || Number(raw) < 1)) throw new RecurrenceError(name, 'must be a positive integer');
  }
  // A quick, exact check for the classic impossible rule (BYMONTHDAY=30;BYMONTH=2), before any search.
  const monthDays = parts.get('BYMONTHDAY')?.split(',').map(Number);
  const months = parts.get('BYMONTH')?.split(',').map(Number);
  if (monthDays && months) {
    const longest = Math.max(...months.map((m) => [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 31));
    if (monthDays.every((d) => Math.abs(d) > longest)) {
      throw new RecurrenceError('BYMONTHDAY', `no month in BYMONTH=${months.join(',')} has day ${monthDays.join(',')}`);
    }
  }
  let until: Temporal.Instant | undefined;
  const untilRaw = parts.get('UNTIL');
  if (untilRaw !== undefined) {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(untilRaw);
    if (!m) throw new RecurrenceError('UNTIL', `"${untilRaw}" is not a DATE or DATE-TIME`);
    if (m[4] !== undefined && m[7] !== 'Z' && !dtstartIsUtc) throw new RecurrenceError('UNTIL', 'must be in UTC (end with Z) when DTSTART has a zone');
    until = Temporal.Instant.from(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '23'}:${m[5] ?? '59'}:${m[6] ?? '59'}Z`);
    parts.delete('UNTIL');
  }
  let options: Partial<Options>;
  try {
    options = RRule.parseString([...parts].map(([k, v]) => `${k}=${v}`).join(';'));
  } catch (error) {
    const name = /'([A-Z]+)'/.exec(String(error))?.[1] ?? 'RRULE';
    throw new RecurrenceError(name, error instanceof Error ? error.message : String(error));
  }
  return { options, ...(until ? { until } : {}) };
}

function toOccurrence(wall: Temporal.PlainDateTime, tzid: string): Occurrence {
  const zoned = wall.toZonedDateTime(tzid, { disambiguation: 'compatible' });
  const epochMs = zoned.epochMilliseconds;
  return {
    epochMs,
    utc: new Date(epochMs).toISOString().replace('.000Z', 'Z'),
    local: zoned.toString({ timeZoneName: 'never', fractionalSecondDigits: 0 }),
    wall: wall.toString({ fractionalSecondDigits: 0 }),
  };
}

export function compileRecurrence(input: RecurrenceInput, limits: RecurrenceLimits = {}): Recurrence {
  checkZone(input.tzid);
  const start = plain(input.dtstart, 'DTSTART');
  const dtstart = start instanceof Temporal.Instant ? start.toZonedDateTimeISO(input.tzid).toPlainDateTime() : start;
  const startTime = dtstart.toPlainTime();
  const { options, until } = input.rrule ? parseRule(input.rrule, input.tzid === 'UTC') : { options: undefined, until: undefined };
  const YEAR_MS = 365.25 * 86_400_000;
  const defaultHorizonMs: Record<number, number> = {
    [RRule.HOURLY]: 20 * YEAR_MS,
    [RRule.MINUTELY]: 120 * 86_400_000,
    [RRule.SECONDLY]: 2 * 86_400_000,
  };
  const horizonMs =
    limits.horizonYears !== undefined ? limits.horizonYears * YEAR_MS : (defaultHorizonMs[options?.freq ?? RRule.DAILY] ?? 200 * YEAR_MS);
  const dtstartFloating = floating(dtstart).getTime();
  // UNTIL (an instant) bounds the floating expansion too, with a day's slack for the zone offset.
  const untilFloating = until ? until.epochMilliseconds + 86_400_000 : Infinity;
  /** The rule, expanded in floating time no further than `horizonMs` past `fromFloatingMs`. */
  const ruleUpTo = (fromFloatingMs: number) =>
    options &&
    new RRule({
      ...options,
      dtstart: floating(dtstart),
      tzid: null,
      ...(options.count ? {} : { until: new Date(Math.min(untilFloating, Math.max(fromFloatingMs, dtstartFloating) + horizonMs)) }),
    });
  const rule = ruleUpTo(dtstartFloating);
  /** Wall-clock time at an instant, as a floating epoch (the instant shifted by its zone offset). */
  const floatingAt = (epochMs: number) =>
    Number.isFinite(epochMs) ? epochMs + Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(input.tzid).offsetNanoseconds / 1e6 : dtstartFloating;
  const maxIterations = limits.maxIterations ?? 1_000_000;

  const resolve = (value: string, part: string): Occurrence => {
    const p = plain(value, part, startTime);
    return p instanceof Temporal.Instant
      ? toOccurrence(p.toZonedDateTimeISO(input.tzid).toPlainDateTime(), input.tzid)
      : toOccurrence(p, input.tzid);
  };
  const rdates = (input.rdate ?? []).map((v) => resolve(v, 'RDATE'));
  const excluded = new Set((input.exdate ?? []).map((v) => resolve(v, 'EXDATE').epochMs));
  const first = toOccurrence(dtstart, input.tzid);

  /** Rule occurrences (DTSTART first, as RFC 5545 counts it) with instant > after, in order, up to n. */
  function expand(afterEpochMs: number, n: number, endEpochMs = Infinity): Occurrence[] {
    const out: Occurrence[] = [];
    const limitMs = Math.min(endEpochMs, Math.max(afterEpochMs, first.epochMs) + horizonMs);
    const rule = ruleUpTo(floatingAt(Math.max(afterEpochMs, first.epochMs)));
    if (!rule) {
      if (first.epochMs > afterEpochMs && first.epochMs < endEpochMs) out.push(first);
    } else {
      let iterations = 0;
      rule.all((date) => {
        if (++iterations > maxIterations) return false;
        const occurrence = toOccurrence(fromFloating(date), input.tzid);
        if (until && occurrence.epochMs > until.epochMilliseconds) return false;
        if (occurrence.epochMs >= limitMs) return false;
        if (occurrence.epochMs > afterEpochMs) out.push(occurrence);
        return out.length < n + excluded.size + 2;
      });
    }
    for (const r of rdates) if (r.epochMs > afterEpochMs && r.epochMs < endEpochMs) out.push(r);
    out.sort((a, b) => a.epochMs - b.epochMs);
    const unique: Occurrence[] = [];
    for (const o of out) {
      if (excluded.has(o.epochMs) || unique.at(-1)?.epochMs === o.epochMs) continue;
      unique.push(o);
      if (unique.length >= n) break;
    }
    return unique;
  }

  const recurrence: Recurrence = {
    nextAfter: (afterEpochMs) => expand(afterEpochMs, 1)[0],
    take: (n, afterEpochMs) => (n <= 0 ? [] : expand(afterEpochMs ?? -Infinity, n)),
    between: (startEpochMs, endEpochMs) => expand(startEpochMs - 1, Number.MAX_SAFE_INTEGER, endEpochMs),
    describe: () => {
      // Described from the rule as written (with its own UNTIL), not the search-bounded one.
      const written = options && new RRule({ ...options, dtstart: floating(dtstart), ...(until ? { until: new Date(until.epochMilliseconds) } : {}) });
      const text = !written ? 'once' : written.isFullyConvertibleToText() ? written.toText() : `RRULE:${input.rrule ?? ''}`;
      return `${text} at ${startTime.toString({ smallestUnit: 'minute' })} (${input.tzid})`;
    },
  };
  if (rule && rdates.length === 0 && recurrence.take(1).length === 0) {
    throw new RecurrenceError('RRULE', 'the rule never produces an occurrence');
  }
  return recurrence;
}

/**
 * The stored form of a recurrence: DTSTART as wall-clock time in `tzid` (a UTC instant given as
 * `…Z` becomes the same instant's wall time in the zone). Validates like `compileRecurrence`.
 */
export function normalizeRecurrence(input: RecurrenceInput): RecurrenceInput {
  checkZone(input.tzid);
  const start = plain(input.dtstart, 'DTSTART');
  if (!(start instanceof Temporal.Instant)) return input;
  return { ...input, dtstart: start.toZonedDateTimeISO(input.tzid).toPlainDateTime().toString({ fractionalSecondDigits: 0 }) };
}

/** Parses iCalendar DTSTART / RRULE / RDATE / EXDATE lines into a RecurrenceInput. */
export function parseICal(text: string): RecurrenceInput {
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  let dtstart: string | undefined;
  let tzid = 'UTC';
  let rrule: string | undefined;
  const rdate: string[] = [];
  const exdate: string[] = [];
  const dateTime = (value: string, part: string, utcAllowed: boolean): string => {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
    if (!m) throw new RecurrenceError(part, `"${value}" is not a DATE or DATE-TIME`);
    if (m[4] === undefined) return `${m[1]}-${m[2]}-${m[3]}`;
    if (m[7] && !utcAllowed) throw new RecurrenceError(part, 'must not be UTC here');
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}`;
  };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new RecurrenceError('ical', `"${line}" is not a content line`);
    const [name = '', ...params] = line.slice(0, colon).split(';');
    const value = line.slice(colon + 1);
    const param = (key: string) => params.find((p) => p.toUpperCase().startsWith(`${key}=`))?.slice(key.length + 1);
    switch (name.toUpperCase()) {
      case 'DTSTART': {
        const zone = param('TZID');
        if (zone) tzid = zone;
        dtstart = dateTime(value, 'DTSTART', !zone);
        if (!dtstart.includes('T')) dtstart = `${dtstart}T00:00:00`;
        break;
      }
      case 'RRULE':
        if (rrule !== undefined) throw new RecurrenceError('RRULE', 'only one RRULE is supported');
        rrule = value;
        break;
      case 'RDATE':
      case 'EXDATE': {
        const list = name.toUpperCase() === 'RDATE' ? rdate : exdate;
        const zone = param('TZID');
        for (const v of value.split(',')) {
          const parsed = dateTime(v, name.toUpperCase(), !zone);
          list.push(zone && zone !== tzid ? Temporal.PlainDateTime.from(parsed).toZonedDateTime(zone).toInstant().toString() : parsed);
        }
        break;
      }
      default:
        throw new RecurrenceError(name || 'ical', 'unsupported property (use DTSTART, RRULE, RDATE, EXDATE)');
    }
  }
  if (!dtstart) throw new RecurrenceError('DTSTART', 'is required');
  return normalizeRecurrence({
    dtstart,
    tzid,
    ...(rrule !== undefined ? { rrule } : {}),
    ...(rdate.length ? { rdate } : {}),
    ...(exdate.length ? { exdate } : {}),
  });
}
