/**
 * Which calendar days satisfy a rule's day-level BYxxx parts (BYMONTH, BYWEEKNO, BYYEARDAY,
 * BYMONTHDAY, BYDAY): a day is a candidate when it passes every part the rule gives. Negative
 * values count from the end of the month, year or week-numbering year.
 */
import { civil, dayNumber, monthLength, weekdayOf, weekOf, yearLength, type Weekday } from './calendar.js';
import type { ByDay } from './rule.js';

export interface DayParts {
  byMonth?: number[];
  byWeekNo?: number[];
  byYearDay?: number[];
  byMonthDay?: number[];
  byDay?: ByDay[];
  /** Ordinal weekdays count within the year (YEARLY without BYMONTH) rather than the month. */
  ordinalsInYear: boolean;
  wkst: Weekday;
}

export class DayFilter {
  readonly months?: ReadonlySet<number>;
  private readonly monthDays?: Set<number>;
  private readonly yearDays?: Set<number>;
  private readonly weekNos?: Set<number>;
  /** Weekdays without an ordinal. */
  private readonly weekdays?: Set<number>;
  /** weekday → the ordinals asked for it (2MO, -1MO). */
  private readonly ordinals?: Map<number, Set<number>>;
  private readonly ordinalsInYear: boolean;
  private readonly wkst: Weekday;
  /** No day-level part at all: every day passes. */
  private readonly open: boolean;

  constructor(parts: DayParts) {
    if (parts.byMonth) this.months = new Set(parts.byMonth);
    if (parts.byMonthDay) this.monthDays = new Set(parts.byMonthDay);
    if (parts.byYearDay) this.yearDays = new Set(parts.byYearDay);
    if (parts.byWeekNo) this.weekNos = new Set(parts.byWeekNo);
    const plain = parts.byDay?.filter((d) => d.ordinal === undefined) ?? [];
    if (plain.length) this.weekdays = new Set(plain.map((d) => d.weekday));
    for (const { weekday, ordinal } of parts.byDay ?? []) {
      if (ordinal === undefined) continue;
      this.ordinals ??= new Map();
      this.ordinals.set(weekday, (this.ordinals.get(weekday) ?? new Set()).add(ordinal));
    }
    this.ordinalsInYear = parts.ordinalsInYear;
    this.wkst = parts.wkst;
    this.open = !this.months && !this.monthDays && !this.yearDays && !this.weekNos && !this.weekdays && !this.ordinals;
  }

  matches(day: number): boolean {
    if (this.open) return true;
    const { year, month, day: dom } = civil(day);
    if (this.months && !this.months.has(month)) return false;
    if (this.monthDays && !this.monthDays.has(dom) && !this.monthDays.has(dom - monthLength(year, month) - 1)) return false;
    if (this.yearDays) {
      const doy = day - dayNumber(year, 1, 1) + 1;
      if (!this.yearDays.has(doy) && !this.yearDays.has(doy - yearLength(year) - 1)) return false;
    }
    if (this.weekNos) {
      const { week, weeksInYear } = weekOf(day, this.wkst);
      if (!this.weekNos.has(week) && !this.weekNos.has(week - weeksInYear - 1)) return false;
    }
    if (!this.weekdays && !this.ordinals) return true;
    const weekday = weekdayOf(day);
    if (this.weekdays?.has(weekday)) return true;
    const ordinals = this.ordinals?.get(weekday);
    if (!ordinals) return false;
    const [index, length] = this.ordinalsInYear ? [day - dayNumber(year, 1, 1), yearLength(year)] : [dom - 1, monthLength(year, month)];
    return ordinals.has(Math.floor(index / 7) + 1) || ordinals.has(-(Math.floor((length - 1 - index) / 7) + 1));
  }
}
