/** The structured recurrence the API stores, and the date-time values inside it. */
import { formatWall, SECONDS_PER_DAY, wallSecondsOf } from './calendar.js';
import { RecurrenceError } from './errors.js';

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

export type DateTimeValue =
  | { kind: 'wall'; wall: number }
  | { kind: 'instant'; epochSeconds: number }
  | { kind: 'date'; day: number };

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(Z)?)?$/;

/** Parses 'YYYY-MM-DDTHH:mm:ss', '…Z' or 'YYYY-MM-DD'; a date that does not exist is an error naming `part`. */
export function parseDateTime(value: string, part: string): DateTimeValue {
  const m = DATE_TIME.exec(value);
  if (!m) throw new RecurrenceError(part, `"${value}" must be YYYY-MM-DDTHH:mm:ss, an instant ending in Z, or YYYY-MM-DD`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const wall = wallSecondsOf(y, mo, d, h, mi, s);
  if (wall === undefined) throw new RecurrenceError(part, `"${value}" is not a valid date-time`);
  if (m[4] === undefined) return { kind: 'date', day: wall / SECONDS_PER_DAY };
  return m[7] ? { kind: 'instant', epochSeconds: wall } : { kind: 'wall', wall };
}

/** '2025-03-09T07:30:00Z' */
export const formatInstant = (epochSeconds: number): string => `${formatWall(epochSeconds)}Z`;
