import { formatWall } from './calendar.js';
import { parseDateTime, type RecurrenceInput } from './input.js';
import { Zone } from './zone.js';

/**
 * The stored form of a recurrence: DTSTART as wall-clock time in `tzid` (a UTC instant given as
 * `…Z` becomes the same instant's wall time in the zone). Validates the zone and DTSTART.
 */
export function normalizeRecurrence(input: RecurrenceInput): RecurrenceInput {
  const zone = Zone.of(input.tzid);
  const start = parseDateTime(input.dtstart, 'DTSTART');
  if (start.kind !== 'instant') return input;
  return { ...input, dtstart: formatWall(zone.wallAt(start.epochSeconds)) };
}
