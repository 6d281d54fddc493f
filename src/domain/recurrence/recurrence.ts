/**
 * A recurrence set (DTSTART + RRULE + RDATE − EXDATE) in an IANA zone, as instants in order.
 *
 * The rule is expanded in wall-clock time (`expand.ts`); each wall time becomes an instant with
 * §3.3.5 semantics (`zone.ts`). Because a gap moves a wall time forward, instants can come out of
 * wall order near a spring-forward transition; a small reorder buffer restores instant order and
 * duplicates at the same instant collapse into one occurrence (the earlier nominal time).
 */
import { formatOffset, formatWall, SECONDS_PER_DAY, wallSecondsOf } from './calendar.js';
import { describeRule } from './describe.js';
import { RecurrenceError } from './errors.js';
import { BudgetExhausted, WallExpander } from './expand.js';
import { formatInstant, parseDateTime, type RecurrenceInput } from './input.js';
import { parseRule, type Rule, type Until } from './rule.js';
import { Zone } from './zone.js';

export interface Occurrence {
  epochMs: number;
  /** '2025-03-09T07:30:00Z' */
  utc: string;
  /** The instant in the rule's zone, RFC 3339 with offset: '2025-03-09T03:30:00-04:00'. */
  local: string;
  /** The nominal wall time from the expansion (a gap-shifted 02:30 is still 02:30): the RECURRENCE-ID. */
  wall: string;
}

export interface RecurrenceLimits {
  /** How far past DTSTART (or the query's instant) to look before concluding there is no further occurrence. Default 200 years. */
  horizonYears?: number;
  /** Candidates examined between two occurrences before the rule is declared impossible or too sparse. Default 1,000,000. */
  maxIterations?: number;
}

export interface Recurrence {
  /** The first occurrence strictly after the instant. */
  nextAfter(afterEpochMs: number): Occurrence | undefined;
  /** The first `n` strictly after the instant; without one, the series from DTSTART inclusive. */
  take(n: number, afterEpochMs?: number): Occurrence[];
  /** Occurrences in [start, end). */
  between(startEpochMs: number, endEpochMs: number): Occurrence[];
  /** "every weekday at 08:30, Europe/Paris" */
  describe(): string;
}

const DEFAULT_HORIZON_YEARS = 200;
const DEFAULT_MAX_ITERATIONS = 1_000_000;
const YEAR_SECONDS = 365.2425 * SECONDS_PER_DAY;
/** Seeking starts this far before the query's wall time: more than any gap can move a wall time forward. */
const SEEK_MARGIN = 2 * SECONDS_PER_DAY;

/** One rule instance, resolved. `order` is the wall time it lands on (the nominal one unless in a gap). */
interface Instance {
  wall: number;
  epochSeconds: number;
  offset: number;
}

function occurrenceOf(i: Instance): Occurrence {
  return {
    epochMs: i.epochSeconds * 1000,
    utc: formatInstant(i.epochSeconds),
    local: `${formatWall(i.epochSeconds + i.offset)}${formatOffset(i.offset)}`,
    wall: formatWall(i.wall),
  };
}

export function compileRecurrence(input: RecurrenceInput, limits: RecurrenceLimits = {}): Recurrence {
  const zone = Zone.of(input.tzid);
  const start = parseDateTime(input.dtstart, 'DTSTART');
  if (start.kind === 'date') throw new RecurrenceError('DTSTART', `"${input.dtstart}" needs a time of day (YYYY-MM-DDTHH:mm:ss)`);
  const dtstart = start.kind === 'instant' ? zone.wallAt(start.epochSeconds) : start.wall;
  const rule = input.rrule === undefined ? undefined : parseRule(input.rrule);
  const until = rule?.until ? untilInstant(rule.until, zone) : undefined;
  const horizon = (limits.horizonYears ?? DEFAULT_HORIZON_YEARS) * YEAR_SECONDS;
  const budget = { maxIterations: limits.maxIterations ?? DEFAULT_MAX_ITERATIONS };
  const expander = rule && new WallExpander(rule, dtstart);
  const first = resolve(zone, dtstart);
  if (until !== undefined && until < first.epochSeconds) throw new RecurrenceError('UNTIL', 'is before DTSTART');

  const timeOfDay = dtstart % SECONDS_PER_DAY;
  const instanceOf = (value: string, part: string): Instance => {
    const v = parseDateTime(value, part);
    if (v.kind === 'instant') return resolve(zone, zone.wallAt(v.epochSeconds));
    return resolve(zone, v.kind === 'wall' ? v.wall : v.day * SECONDS_PER_DAY + timeOfDay);
  };
  const rdates = (input.rdate ?? []).map((v) => instanceOf(v, 'RDATE')).sort((a, b) => a.epochSeconds - b.epochSeconds);
  const excluded = new Set((input.exdate ?? []).map((v) => instanceOf(v, 'EXDATE').epochSeconds));

  /**
   * Rule instances in instant order, strictly after `after`, up to `end`: the rule is walked in
   * wall-clock order and a gap-shifted instance waits until nothing can come before it.
   */
  function* ruleInstances(after: number, end: number): Generator<Instance> {
    if (!expander) {
      if (first.epochSeconds > after && first.epochSeconds < end) yield first;
      return;
    }
    const from = Math.max(after, first.epochSeconds);
    const fromWall = zone.wallAt(from) - SEEK_MARGIN;
    const seekable = expander.count === undefined && Number.isFinite(after);
    const endInstant = Math.min(end, until ?? Infinity);
    const stopWall = Math.min(Number.isFinite(endInstant) ? zone.wallAt(endInstant) + SEEK_MARGIN : Infinity, fromWall + SEEK_MARGIN + horizon);
    const cursor = expander.cursor(budget, seekable ? expander.periodIndexAt(fromWall) : 0, stopWall);
    const shifted: Instance[] = []; // gap-shifted instances, by instant
    for (;;) {
      const wall = cursor.next();
      if (wall === undefined || wall > stopWall) break;
      const r = zone.resolve(wall);
      const instance = { wall, epochSeconds: r.epochSeconds, offset: r.offset };
      if (r.shifted) {
        shifted.push(instance);
        shifted.sort((a, b) => a.epochSeconds - b.epochSeconds);
        continue;
      }
      while (shifted.length > 0 && (shifted[0] as Instance).epochSeconds <= instance.epochSeconds) yield shifted.shift() as Instance;
      yield instance;
    }
    yield* shifted;
  }

  /** The recurrence set strictly after `after` and before `end`, in order, at most `n`. */
  function collect(after: number, end: number, n: number): Occurrence[] {
    const out: Occurrence[] = [];
    if (n <= 0) return out;
    let r = 0;
    while (r < rdates.length && (rdates[r] as Instance).epochSeconds <= after) r++;
    let lastEpoch = -Infinity;
    const push = (i: Instance) => {
      if (i.epochSeconds <= lastEpoch) return; // same instant twice: one occurrence
      lastEpoch = i.epochSeconds;
      if (!excluded.has(i.epochSeconds)) out.push(occurrenceOf(i));
    };
    const ruleEnd = Math.min(end, until === undefined ? Infinity : until + 1);
    for (const instance of ruleInstances(after, end)) {
      if (instance.epochSeconds <= after) continue;
      if (instance.epochSeconds >= ruleEnd) break;
      while (r < rdates.length && (rdates[r] as Instance).epochSeconds <= instance.epochSeconds && out.length < n) push(rdates[r++] as Instance);
      if (out.length < n) push(instance);
      if (out.length >= n) return out;
    }
    while (r < rdates.length && (rdates[r] as Instance).epochSeconds < end && out.length < n) push(rdates[r++] as Instance);
    return out;
  }

  const toSeconds = (ms: number) => Math.floor(ms / 1000);
  const recurrence: Recurrence = {
    nextAfter: (afterEpochMs) => collect(toSeconds(afterEpochMs), Infinity, 1)[0],
    take: (n, afterEpochMs) => collect(afterEpochMs === undefined ? -Infinity : toSeconds(afterEpochMs), Infinity, n),
    between: (startEpochMs, endEpochMs) => collect(Math.ceil(startEpochMs / 1000) - 1, Math.ceil(endEpochMs / 1000), Number.MAX_SAFE_INTEGER),
    describe: () => `${rule ? describeRule(rule, dtstart, until) : `once, at ${formatWall(dtstart).replace('T', ' ').slice(0, 16)}`}, ${input.tzid}`,
  };
  if (expander) checkProducesSomething(expander, rule as Rule, zone, until, horizon, budget);
  if (recurrence.take(1).length === 0) throw new RecurrenceError('EXDATE', 'excludes every occurrence');
  return recurrence;
}

/** Rejects a rule that matches nothing, or nothing before UNTIL. */
function checkProducesSomething(expander: WallExpander, rule: Rule, zone: Zone, until: number | undefined, horizon: number, budget: { maxIterations: number }) {
  let wall: number | undefined;
  try {
    wall = expander.cursor(budget, 0, expander.dtstart + horizon).next();
  } catch (error) {
    if (error instanceof BudgetExhausted) {
      throw new RecurrenceError('RRULE', `FREQ=${rule.freq} with these BYxxx parts matches nothing within ${budget.maxIterations} candidates`);
    }
    throw error;
  }
  if (wall === undefined || wall > expander.dtstart + horizon) {
    throw new RecurrenceError('RRULE', `the rule produces no occurrence within ${Math.round(horizon / YEAR_SECONDS)} years of DTSTART`);
  }
  if (until !== undefined && zone.resolve(wall).epochSeconds > until) throw new RecurrenceError('UNTIL', 'the rule produces no occurrence between DTSTART and UNTIL');
}

function resolve(zone: Zone, wall: number): Instance {
  const r = zone.resolve(wall);
  return { wall, epochSeconds: r.epochSeconds, offset: r.offset };
}

/** UNTIL as an instant: a UTC value as is; a floating value in the rule's zone (only UTC allows it); a DATE through the end of that local day. */
function untilInstant(until: Until, zone: Zone): number {
  switch (until.kind) {
    case 'instant':
      return until.epochSeconds;
    case 'wall':
      if (zone.id !== 'UTC') throw new RecurrenceError('UNTIL', 'must be a UTC date-time (ending in Z) when DTSTART has a time zone');
      return wallSecondsOf(until.year, until.month, until.day, until.hour, until.minute, until.second) as number;
    case 'date': {
      const nextMidnight = (wallSecondsOf(until.year, until.month, until.day, 0, 0, 0) as number) + SECONDS_PER_DAY;
      return zone.resolve(nextMidnight).epochSeconds - 1;
    }
  }
}
