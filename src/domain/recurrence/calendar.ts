/**
 * Proleptic Gregorian calendar arithmetic on integers: day numbers (days since 1970-01-01) and
 * wall-clock seconds (day number × 86,400 + second of day, a "floating" time with no zone).
 * No Date, no Intl, no host time zone: the expander runs on these alone.
 */

export const SECONDS_PER_DAY = 86_400;

/** RFC 5545 weekdays, Monday first: MO=0 … SU=6. */
export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** Day number of a civil date (Howard Hinnant's days_from_civil). */
export function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Civil date of a day number (civil_from_days). */
export function civil(dayNo: number): CivilDate {
  const z = dayNo + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
export const yearLength = (year: number): number => (isLeapYear(year) ? 366 : 365);

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export const monthLength = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : (MONTH_DAYS[month - 1] as number);

/** 1970-01-01 was a Thursday (TH = 3). */
export const weekdayOf = (dayNo: number): Weekday => ((((dayNo + 3) % 7) + 7) % 7) as Weekday;

/** The first day of the week (starting on `wkst`) that contains `dayNo`. */
export const weekStart = (dayNo: number, wkst: Weekday): number => dayNo - ((weekdayOf(dayNo) - wkst + 7) % 7);

/**
 * RFC 5545 week numbering (ISO 8601 generalised to any WKST): a week belongs to the year holding
 * at least four of its days, i.e. its fourth day. Returns the week's year, its number (1-based)
 * and the number of weeks that year has, so negative BYWEEKNO values can be matched.
 */
export function weekOf(dayNo: number, wkst: Weekday): { weekYear: number; week: number; weeksInYear: number } {
  const fourth = weekStart(dayNo, wkst) + 3;
  const weekYear = civil(fourth).year;
  const week = Math.floor((fourth - dayNumber(weekYear, 1, 1)) / 7) + 1;
  // The last week of the year is the one whose fourth day falls on or before Dec 31.
  const dec31 = dayNumber(weekYear, 12, 31);
  const lastFourth = weekStart(dec31, wkst) + 3;
  const lastWeekFourth = lastFourth > dec31 ? lastFourth - 7 : lastFourth;
  const weeksInYear = Math.floor((lastWeekFourth - dayNumber(weekYear, 1, 1)) / 7) + 1;
  return { weekYear, week, weeksInYear };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const padYear = (y: number) => (y >= 0 && y <= 9999 ? `${y}`.padStart(4, '0') : `${y < 0 ? '-' : '+'}${`${Math.abs(y)}`.padStart(6, '0')}`);

/** 'YYYY-MM-DDTHH:mm:ss' of a wall-clock second. */
export function formatWall(wallSeconds: number): string {
  const dayNo = Math.floor(wallSeconds / SECONDS_PER_DAY);
  const sod = wallSeconds - dayNo * SECONDS_PER_DAY;
  const { year, month, day } = civil(dayNo);
  return `${padYear(year)}-${pad2(month)}-${pad2(day)}T${pad2(Math.floor(sod / 3600))}:${pad2(Math.floor(sod / 60) % 60)}:${pad2(sod % 60)}`;
}

/** '+05:30', '-04:00', 'Z'-free; seconds only when the offset has them (historic LMT). */
export function formatOffset(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const s = abs % 60;
  return `${sign}${pad2(Math.floor(abs / 3600))}:${pad2(Math.floor(abs / 60) % 60)}${s ? `:${pad2(s)}` : ''}`;
}

/** Wall-clock second of 'YYYY-MM-DDTHH:mm:ss' fields, or undefined when the date does not exist. */
export function wallSecondsOf(year: number, month: number, day: number, hour: number, minute: number, second: number): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > monthLength(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  return dayNumber(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
}
