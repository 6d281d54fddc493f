/**
 * iCalendar content lines (DTSTART, RRULE, RDATE, EXDATE) → the structured `RecurrenceInput` the
 * API takes. A DTSTART without TZID is floating or UTC and is expanded as UTC.
 */
import { RecurrenceError } from './errors.js';
import { formatInstant, parseDateTime, type RecurrenceInput } from './input.js';
import { normalizeRecurrence } from './normalize.js';
import { Zone } from './zone.js';

const DATE_OR_DATE_TIME = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i;

/** 'YYYYMMDD[THHMMSS[Z]]' → 'YYYY-MM-DD[THH:mm:ss[Z]]'. */
function isoOf(value: string, property: string, utcAllowed: boolean): string {
  const m = DATE_OR_DATE_TIME.exec(value);
  if (!m) throw new RecurrenceError(property, `"${value}" is not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z])`);
  if (m[4] === undefined) return `${m[1]}-${m[2]}-${m[3]}`;
  if (m[7] && !utcAllowed) throw new RecurrenceError(property, `"${value}" must not end in Z when TZID is given`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? 'Z' : ''}`;
}

function instantIn(wall: string, tzid: string, property: string): string {
  const parsed = parseDateTime(wall, property);
  if (parsed.kind !== 'wall') throw new RecurrenceError(property, `"${wall}" must be a local date-time`);
  return formatInstant(Zone.of(tzid).resolve(parsed.wall).epochSeconds);
}

export function parseICal(text: string): RecurrenceInput {
  // Unfold (RFC 5545 §3.1), then one property per line.
  const lines = text
    .replace(/\r?\n[ \t]/g, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let dtstart: string | undefined;
  let tzid: string | undefined;
  let rrule: string | undefined;
  const rdate: string[] = [];
  const exdate: string[] = [];
  const zoned: { property: 'RDATE' | 'EXDATE'; zone: string; value: string }[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new RecurrenceError('ical', `"${line}" is not a content line (NAME:VALUE)`);
    const [rawName = '', ...params] = line.slice(0, colon).split(';');
    const name = rawName.toUpperCase();
    const value = line.slice(colon + 1).trim();
    const param = (key: string) => params.find((p) => p.toUpperCase().startsWith(`${key}=`))?.slice(key.length + 1).replace(/^"|"$/g, '');
    const valueType = param('VALUE')?.toUpperCase();
    if (valueType && valueType !== 'DATE' && valueType !== 'DATE-TIME') {
      throw new RecurrenceError(name, `VALUE=${valueType} is not supported (DATE or DATE-TIME)`);
    }
    switch (name) {
      case 'DTSTART': {
        if (dtstart !== undefined) throw new RecurrenceError('DTSTART', 'given more than once');
        const zone = param('TZID');
        if (zone) tzid = zone;
        dtstart = isoOf(value, 'DTSTART', !zone);
        if (!dtstart.includes('T')) dtstart = `${dtstart}T00:00:00`;
        break;
      }
      case 'RRULE':
        if (rrule !== undefined) throw new RecurrenceError('RRULE', 'only one RRULE is supported (RFC 5545 recommends one)');
        rrule = value;
        break;
      case 'RDATE':
      case 'EXDATE': {
        const zone = param('TZID');
        for (const v of value.split(',')) {
          const iso = isoOf(v.trim(), name, !zone);
          if (zone) zoned.push({ property: name, zone, value: iso });
          else (name === 'RDATE' ? rdate : exdate).push(iso);
        }
        break;
      }
      default:
        throw new RecurrenceError(rawName || 'ical', 'unsupported property (use DTSTART, RRULE, RDATE, EXDATE)');
    }
  }
  if (!dtstart) throw new RecurrenceError('DTSTART', 'is required');
  const zone = tzid ?? 'UTC';
  for (const { property, zone: own, value } of zoned) {
    // A value in another zone than DTSTART's is carried as the instant it names.
    (property === 'RDATE' ? rdate : exdate).push(own === zone || !value.includes('T') ? value : instantIn(value, own, property));
  }
  return normalizeRecurrence({
    dtstart,
    tzid: zone,
    ...(rrule !== undefined ? { rrule } : {}),
    ...(rdate.length ? { rdate } : {}),
    ...(exdate.length ? { exdate } : {}),
  });
}
