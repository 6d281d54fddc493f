/**
 * Zone modes of a reminder (DESIGN.md, "Idempotency" and "Send-time policy").
 *
 * - `pinned` (the default, as `src/reminders/service.ts` creates reminders today): the rule is
 *   expanded in its own `tzid`, whatever the user's zone; an occurrence is identified by its UTC
 *   instant.
 * - `follow-user`: the rule is expanded in the user's *current* zone, so 09:00 stays 09:00 local
 *   after a move; an occurrence is identified by its wall-clock date-time, so a user who flies from
 *   Tokyo to New York does not get the same 09:00 twice.
 *
 * Quiet hours are always evaluated in the user's current zone, in both modes.
 */
export const ZONE_MODES = ['pinned', 'follow-user'] as const;
export type ZoneMode = (typeof ZONE_MODES)[number];
export const DEFAULT_ZONE_MODE: ZoneMode = 'pinned';

/** The RECURRENCE-ID of an occurrence: its wall time for follow-user reminders, its instant for pinned ones. */
export function recurrenceIdFor(zoneMode: ZoneMode, occurrence: { wall: string; utc: string }): string {
  return zoneMode === 'follow-user' ? occurrence.wall : occurrence.utc;
}

/** The rule a reminder expands: a follow-user rule in the user's current zone, a pinned one in its own. */
export function recurrenceInZone<R extends { tzid: string }>(recurrence: R, zoneMode: ZoneMode, userTimeZone: string | undefined): R {
  return zoneMode === 'follow-user' && userTimeZone ? { ...recurrence, tzid: userTimeZone } : recurrence;
}
