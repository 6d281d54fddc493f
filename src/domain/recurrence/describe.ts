/** A rule in plain English: "every weekday at 08:30", "every month on the last Friday at 18:00, 6 times". */
import { civil, SECONDS_PER_DAY, weekdayOf } from './calendar.js';
import { formatInstant } from './input.js';
import type { ByDay, Frequency, Rule } from './rule.js';

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const UNITS: Record<Frequency, string> = {
  SECONDLY: 'second',
  MINUTELY: 'minute',
  HOURLY: 'hour',
  DAILY: 'day',
  WEEKLY: 'week',
  MONTHLY: 'month',
  YEARLY: 'year',
};

/** "a, b and c" */
const list = (items: string[]) => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

const NTH_WORDS = ['', 'first', 'second', 'third', 'fourth', 'fifth'];
/** 1 → 'first', -1 → 'last', -2 → 'second-to-last', 20 → '20th' */
function nth(n: number): string {
  if (n === -1) return 'last';
  if (n < 0) return `${nth(-n)}-to-last`;
  return NTH_WORDS[n] ?? ordinal(n);
}

const monthDay = (d: number) => (d === -1 ? 'the last day' : d < 0 ? `the ${nth(d)} day` : `the ${ordinal(d)}`);

function days(byDay: ByDay[]): string {
  const plain = byDay.filter((d) => d.ordinal === undefined).map((d) => d.weekday);
  const key = [...plain].sort().join('');
  if (byDay.length === plain.length && key === '01234') return 'weekday';
  if (byDay.length === plain.length && key === '56') return 'weekend day';
  return list(byDay.map((d) => (d.ordinal === undefined ? DAY_NAMES[d.weekday] : `the ${nth(d.ordinal)} ${DAY_NAMES[d.weekday]}`) as string));
}

const hhmm = (sod: number) => {
  const p = (n: number) => `${n}`.padStart(2, '0');
  const s = sod % 60;
  return `${p(Math.floor(sod / 3600))}:${p(Math.floor(sod / 60) % 60)}${s ? `:${p(s)}` : ''}`;
};

export function describeRule(rule: Rule, dtstart: number, untilEpochSeconds: number | undefined): string {
  const startDay = Math.floor(dtstart / SECONDS_PER_DAY);
  const sod = dtstart - startDay * SECONDS_PER_DAY;
  const start = civil(startDay);
  const unit = UNITS[rule.freq];
  const every = rule.interval === 1 ? `every ${unit}` : `every ${rule.interval} ${unit}s`;
  const subDaily = rule.freq === 'HOURLY' || rule.freq === 'MINUTELY' || rule.freq === 'SECONDLY';
  const noDayParts = !rule.byDay && !rule.byMonthDay && !rule.byYearDay && !rule.byWeekNo;
  const parts: string[] = [];

  const plainDaysOnly = rule.byDay?.every((d) => d.ordinal === undefined) ?? false;
  // "the last weekday": BYSETPOS picking among plain weekdays reads naturally; other uses are spelled out.
  const setPosOverDays = rule.bySetPos !== undefined && plainDaysOnly && !rule.byMonthDay && !rule.byYearDay && !rule.byWeekNo;
  if ((rule.freq === 'WEEKLY' || rule.freq === 'DAILY') && rule.interval === 1 && plainDaysOnly && rule.byDay) {
    parts.push(`every ${days(rule.byDay)}`);
  } else if (rule.freq === 'WEEKLY' && rule.interval === 1 && noDayParts) {
    parts.push(`every ${DAY_NAMES[weekdayOf(startDay)]}`);
  } else {
    parts.push(every);
    if (rule.byDay && setPosOverDays) {
      parts.push(`on the ${list((rule.bySetPos as number[]).map(nth))} ${days(rule.byDay).replace(/ and /g, ' or ')}`);
    } else if (rule.byDay) parts.push(`on ${({ weekday: 'weekdays', 'weekend day': 'weekends' } as Record<string, string>)[days(rule.byDay)] ?? days(rule.byDay)}`);
    if (rule.freq === 'WEEKLY' && noDayParts) parts.push(`on ${DAY_NAMES[weekdayOf(startDay)]}`);
  }
  if (rule.byMonthDay && plainDaysOnly && rule.byDay) parts[parts.length - 1] += ` ${list(rule.byMonthDay.map(monthDay))}`;
  else if (rule.byMonthDay) parts.push(`on ${list(rule.byMonthDay.map(monthDay))}`);
  if (rule.byYearDay) parts.push(`on day ${list(rule.byYearDay.map(String))} of the year`);
  if (rule.byWeekNo) parts.push(`in week ${list(rule.byWeekNo.map(String))}`);
  if (noDayParts && rule.freq === 'MONTHLY') parts.push(`on ${monthDay(start.day)}`);
  if (noDayParts && rule.freq === 'YEARLY') {
    parts.push(`on ${list((rule.byMonth ?? [start.month]).map((m) => `${MONTH_NAMES[m - 1]} ${start.day}`))}`);
  } else if (rule.byMonth) parts.push(`in ${list(rule.byMonth.map((m) => MONTH_NAMES[m - 1] as string))}`);
  if (rule.bySetPos && !setPosOverDays) parts.push(`(only the ${list(rule.bySetPos.map(nth))} of those in each ${unit})`);

  if (subDaily) {
    if (rule.byHour) parts.push(`during hour${rule.byHour.length > 1 ? 's' : ''} ${list(rule.byHour.map((h) => `${h}`.padStart(2, '0')))}`);
    if (rule.byMinute && rule.freq !== 'HOURLY') parts.push(`at minute ${list(rule.byMinute.map(String))}`);
    parts.push(`from ${hhmm(sod)}`);
  } else {
    const hours = rule.byHour ?? [Math.floor(sod / 3600)];
    const minutes = rule.byMinute ?? [Math.floor(sod / 60) % 60];
    const seconds = rule.bySecond ?? [sod % 60];
    const times = hours.flatMap((h) => minutes.flatMap((m) => seconds.map((s) => h * 3600 + m * 60 + s))).sort((a, b) => a - b);
    parts.push(times.length > 6 ? `at ${times.length} times a day from ${hhmm(times[0] as number)}` : `at ${list(times.map(hhmm))}`);
  }
  if (rule.count !== undefined) parts.push(rule.count === 1 ? 'once' : `${rule.count} times`);
  if (untilEpochSeconds !== undefined) parts.push(`until ${formatInstant(untilEpochSeconds)}`);
  const text = parts.join(' ');
  return rule.count !== undefined || untilEpochSeconds !== undefined ? text.replace(/ (once|\d+ times|until)/, ', $1') : text;
}
