/**
 * The wall-clock expander: a rule and a floating DTSTART in, wall-clock seconds out, ascending,
 * with no time zone anywhere. The rule is walked period by period (a year, month, week, day, hour,
 * minute or second, INTERVAL apart); each period's candidate days are the real calendar days that
 * satisfy every BYxxx part (so Feb 30 is never produced, and never counted), crossed with its
 * times, then BYSETPOS picks among them.
 *
 * Seeking: without COUNT, the n-th period is computed directly, so "the next one after now" costs
 * the same for a rule that started ten years ago as for one that started today.
 */
import { civil, dayNumber, monthLength, SECONDS_PER_DAY, weekdayOf, weekOf, weekStart, type Weekday } from './calendar.js';
import { DayFilter } from './day-filter.js';
import { RecurrenceError } from './errors.js';
import type { Frequency, Rule } from './rule.js';

/** Unit sizes of the sub-daily frequencies, in seconds. */
const UNIT_SECONDS: Partial<Record<Frequency, number>> = { HOURLY: 3600, MINUTELY: 60, SECONDLY: 1 };

export interface ExpansionBudget {
  /** Periods plus candidate days examined between two occurrences before giving up with an error. */
  maxIterations: number;
}

export class WallExpander {
  private readonly freq: Frequency;
  private readonly interval: number;
  private readonly filter: DayFilter;
  private readonly hours?: Set<number>;
  private readonly minutes?: Set<number>;
  private readonly seconds?: Set<number>;
  /** Sorted seconds of day (DAILY and slower) or of the hour / minute (HOURLY, MINUTELY). */
  private readonly times: number[];
  private readonly setPos?: number[];
  private readonly wkst: Weekday;
  /** YEARLY with BYWEEKNO: a period is a week-numbering year (its week 1 to its last week), as in libical. */
  private readonly byWeekYear: boolean;
  /** Index of DTSTART's period in the frequency's unit (year, month index, week start day, day, hour, minute, second). */
  private readonly firstPeriod: number;
  readonly count?: number;

  constructor(
    rule: Rule,
    /** DTSTART in wall-clock seconds. */
    readonly dtstart: number,
  ) {
    this.freq = rule.freq;
    this.interval = rule.interval;
    this.wkst = rule.wkst;
    if (rule.count !== undefined) this.count = rule.count;
    if (rule.bySetPos) this.setPos = rule.bySetPos;
    const startDay = Math.floor(dtstart / SECONDS_PER_DAY);
    const sod = dtstart - startDay * SECONDS_PER_DAY;
    const start = { ...civil(startDay), hour: Math.floor(sod / 3600), minute: Math.floor(sod / 60) % 60, second: sod % 60 };

    // RFC 5545 §3.3.10: what the rule does not say comes from DTSTART. Like libical, a yearly
    // BYMONTHDAY takes DTSTART's month, and BYWEEKNO alone takes DTSTART's weekday.
    const noDayParts = !rule.byWeekNo && !rule.byYearDay && !rule.byMonthDay && !rule.byDay;
    let byMonth = rule.byMonth;
    let byMonthDay = rule.byMonthDay;
    let byDay = rule.byDay;
    if (noDayParts) {
      if (this.freq === 'YEARLY') {
        byMonth ??= [start.month];
        byMonthDay = [start.day];
      } else if (this.freq === 'MONTHLY') byMonthDay = [start.day];
      else if (this.freq === 'WEEKLY') byDay = [{ weekday: weekdayOf(startDay) }];
    }
    if (this.freq === 'YEARLY' && rule.byMonthDay && !rule.byMonth && !rule.byWeekNo && !rule.byYearDay) byMonth = [start.month];
    if (rule.byWeekNo && !rule.byDay && !rule.byMonthDay && !rule.byYearDay) byDay = [{ weekday: weekdayOf(startDay) }];
    this.byWeekYear = this.freq === 'YEARLY' && rule.byWeekNo !== undefined;
    const daily = isDayOrSlower(this.freq);
    const hourList = rule.byHour ?? (daily ? [start.hour] : undefined);
    const minuteList = rule.byMinute ?? (daily || this.freq === 'HOURLY' ? [start.minute] : undefined);
    const secondList = rule.bySecond ?? (this.freq !== 'SECONDLY' ? [start.second] : undefined);
    if (hourList) this.hours = new Set(hourList);
    if (minuteList) this.minutes = new Set(minuteList);
    if (secondList) this.seconds = new Set(secondList);
    // Second 60 (a leap second) has no wall-clock time in IANA zones: it is never produced.
    const secs = (secondList ?? []).filter((s) => s < 60);
    if (daily) this.times = cross(cross(hourList as number[], minuteList as number[], 60), secs, 60);
    else if (this.freq === 'HOURLY') this.times = cross(minuteList as number[], secs, 60);
    else if (this.freq === 'MINUTELY') this.times = secs;
    else this.times = [0];

    this.filter = new DayFilter({
      ...(byMonth ? { byMonth } : {}),
      ...(rule.byWeekNo ? { byWeekNo: rule.byWeekNo } : {}),
      ...(rule.byYearDay ? { byYearDay: rule.byYearDay } : {}),
      ...(byMonthDay ? { byMonthDay } : {}),
      ...(byDay ? { byDay } : {}),
      ordinalsInYear: this.freq === 'YEARLY' && !byMonth,
      wkst: this.wkst,
    });
    this.firstPeriod = this.periodOf(dtstart);
  }

  /** The period (in the frequency's own unit) that contains a wall-clock second. */
  private periodOf(wall: number): number {
    const day = Math.floor(wall / SECONDS_PER_DAY);
    switch (this.freq) {
      case 'YEARLY':
        return this.byWeekYear ? weekOf(day, this.wkst).weekYear : civil(day).year;
      case 'MONTHLY': {
        const { year, month } = civil(day);
        return year * 12 + month - 1;
      }
      case 'WEEKLY':
        return weekStart(day, this.wkst);
      case 'DAILY':
        return day;
      default:
        return Math.floor(wall / (UNIT_SECONDS[this.freq] as number));
    }
  }

  /** The k-th period's unit value (year, month index, week-start day, day, or hour/minute/second index). */
  private periodValue(k: number): number {
    return this.firstPeriod + k * this.interval * (this.freq === 'WEEKLY' ? 7 : 1);
  }

  /** The first period index k ≥ 0 whose period could contain `wall` or later. */
  periodIndexAt(wall: number): number {
    const unitsApart = this.periodOf(wall) - this.firstPeriod;
    return Math.max(0, Math.floor(unitsApart / (this.interval * (this.freq === 'WEEKLY' ? 7 : 1))));
  }

  /** Candidate wall-clock seconds of the k-th period, ascending (before BYSETPOS and DTSTART clipping). */
  private candidates(k: number, out: number[]): number {
    const v = this.periodValue(k);
    let examined = 1;
    const pushDay = (day: number) => {
      examined++;
      if (!this.filter.matches(day)) return;
      for (const t of this.times) out.push(day * SECONDS_PER_DAY + t);
    };
    switch (this.freq) {
      case 'YEARLY': {
        if (this.byWeekYear) {
          for (let d = firstWeek(v, this.wkst), end = firstWeek(v + 1, this.wkst); d < end; d++) pushDay(d);
          break;
        }
        const months = this.filter.months ? [...this.filter.months].sort((a, b) => a - b) : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        for (const month of months) {
          const first = dayNumber(v, month, 1);
          for (let d = 0, n = monthLength(v, month); d < n; d++) pushDay(first + d);
        }
        break;
      }
      case 'MONTHLY': {
        const year = Math.floor(v / 12);
        const month = v - year * 12 + 1;
        if (this.filter.months && !this.filter.months.has(month)) break;
        const first = dayNumber(year, month, 1);
        for (let d = 0, n = monthLength(year, month); d < n; d++) pushDay(first + d);
        break;
      }
      case 'WEEKLY':
        for (let d = 0; d < 7; d++) pushDay(v + d);
        break;
      case 'DAILY':
        pushDay(v);
        break;
      default: {
        const unit = UNIT_SECONDS[this.freq] as number;
        const wall = v * unit;
        const day = Math.floor(wall / SECONDS_PER_DAY);
        if (!this.filter.matches(day) || !this.timeMatches(wall - day * SECONDS_PER_DAY)) break;
        for (const t of this.times) out.push(wall + t);
      }
    }
    return examined;
  }

  private timeMatches(sod: number): boolean {
    const f = this.freq;
    if (this.hours && !this.hours.has(Math.floor(sod / 3600))) return false;
    if ((f === 'MINUTELY' || f === 'SECONDLY') && this.minutes && !this.minutes.has(Math.floor(sod / 60) % 60)) return false;
    if (f === 'SECONDLY' && this.seconds && !this.seconds.has(sod % 60)) return false;
    return true;
  }

  /** Wall-clock start of the k-th period. */
  private periodStart(k: number): number {
    const v = this.periodValue(k);
    switch (this.freq) {
      case 'YEARLY':
        return (this.byWeekYear ? firstWeek(v, this.wkst) : dayNumber(v, 1, 1)) * SECONDS_PER_DAY;
      case 'MONTHLY':
        return dayNumber(Math.floor(v / 12), (((v % 12) + 12) % 12) + 1, 1) * SECONDS_PER_DAY;
      case 'WEEKLY':
      case 'DAILY':
        return v * SECONDS_PER_DAY;
      default:
        return v * (UNIT_SECONDS[this.freq] as number);
    }
  }

  /**
   * Sub-daily rules skip what cannot match whole: a day outside the day-level parts, an hour
   * outside BYHOUR (MINUTELY, SECONDLY), a minute outside BYMINUTE (SECONDLY). Returns the first
   * period index after `k` that starts at or after the skipped span's end, or undefined when the
   * k-th period is worth expanding.
   */
  private skipFrom(k: number): number | undefined {
    const unit = UNIT_SECONDS[this.freq] as number;
    const wall = this.periodValue(k) * unit;
    const day = Math.floor(wall / SECONDS_PER_DAY);
    const sod = wall - day * SECONDS_PER_DAY;
    let span: number | undefined;
    if (!this.filter.matches(day)) span = SECONDS_PER_DAY;
    else if (this.freq !== 'HOURLY' && this.hours && !this.hours.has(Math.floor(sod / 3600))) span = 3600;
    else if (this.freq === 'SECONDLY' && this.minutes && !this.minutes.has(Math.floor(sod / 60) % 60)) span = 60;
    if (span === undefined) return undefined;
    const next = (Math.floor(wall / span) + 1) * span;
    return Math.max(k + 1, Math.ceil((next / unit - this.firstPeriod) / this.interval));
  }

  /**
   * The rule's wall-clock instances ascending, from DTSTART (included only when the rule matches
   * it, as libical, python-dateutil and rrule.js do: RFC 5545 leaves an unsynchronised DTSTART
   * undefined, and a reminder "every Monday" created on a Wednesday must not fire that Wednesday),
   * starting at period `fromPeriod` (0 unless seeking; a COUNT rule must count from DTSTART),
   * ending (undefined) with the first period that starts after `endWall`.
   */
  cursor(budget: ExpansionBudget, fromPeriod = 0, endWall = Infinity): WallCursor {
    if (fromPeriod > 0 && this.count !== undefined) throw new Error('a COUNT rule cannot seek');
    const buffer: number[] = [];
    let position = 0;
    let k = fromPeriod;
    let emitted = 0;
    let iterations = 0;
    let last = this.dtstart - 1; // nothing before DTSTART
    const subDaily = !isDayOrSlower(this.freq);
    const next = (): number | undefined => {
      if (this.count !== undefined && emitted >= this.count) return undefined;
      for (;;) {
        while (position < buffer.length) {
          const wall = buffer[position++] as number;
          if (wall <= last) continue;
          last = wall;
          emitted++;
          iterations = 0;
          return wall;
        }
        if (++iterations > budget.maxIterations) throw new BudgetExhausted();
        if (this.periodStart(k) > endWall) return undefined;
        buffer.length = 0;
        position = 0;
        const skipTo = subDaily ? this.skipFrom(k) : undefined;
        if (skipTo !== undefined) {
          k = skipTo;
          continue;
        }
        iterations += this.candidates(k, buffer);
        k++;
        if (this.setPos && buffer.length > 0) applySetPos(buffer, this.setPos);
      }
    };
    return { next };
  }
}

export interface WallCursor {
  /** The next wall-clock instance; undefined once COUNT is reached or the next period starts after the end given. */
  next(): number | undefined;
}

/** Thrown when the iteration budget runs out; the caller turns it into a RecurrenceError with context. */
export class BudgetExhausted extends RecurrenceError {
  constructor() {
    super('RRULE', 'expansion exceeded its iteration budget: the rule is impossible or too sparse');
  }
}

/** Day number on which week 1 of `weekYear` starts: the week holding January 4th. */
const firstWeek = (weekYear: number, wkst: Weekday) => weekStart(dayNumber(weekYear, 1, 4), wkst);

const isDayOrSlower = (f: Frequency) => f === 'DAILY' || f === 'WEEKLY' || f === 'MONTHLY' || f === 'YEARLY';

function cross(outer: number[], inner: number[], base: number): number[] {
  const out: number[] = [];
  for (const o of [...outer].sort((a, b) => a - b)) for (const i of [...inner].sort((a, b) => a - b)) out.push(o * base + i);
  return out;
}

/** Keeps the BYSETPOS-selected positions of a sorted candidate set, ascending and unique. */
function applySetPos(buffer: number[], positions: number[]): void {
  const picked = new Set<number>();
  for (const p of positions) {
    const v = buffer[p > 0 ? p - 1 : buffer.length + p];
    if (v !== undefined) picked.add(v);
  }
  buffer.length = 0;
  buffer.push(...[...picked].sort((a, b) => a - b));
}
