import { createHash } from 'node:crypto';
import type { Channel, OccurrenceRef } from './delivery.js';

/**
 * The delivery idempotency key: hash(tenant, user, occurrence, channel).
 *
 * The occurrence enters through its nominal identity (reminder id + RECURRENCE-ID), so a deferred,
 * retried, replayed or continued-as-new delivery of the same occurrence always yields the same key.
 * Fields are length-prefixed before hashing so no two different tuples can collide by concatenation.
 */
export function deliveryIdempotencyKey(parts: {
  tenantId: string;
  userId: string;
  /** A reminder's occurrence, or an audience schedule's (its RECURRENCE-ID: the nominal local time). */
  occurrence: Pick<OccurrenceRef, 'reminderId' | 'recurrenceId'> | { scheduleId: string; recurrenceId: string };
  channel: Channel;
}): string {
  const { occurrence } = parts;
  const fields = [
    'chime.delivery.v1',
    parts.tenantId,
    parts.userId,
    // Reminder keys are as they always were; schedule ids live in a namespace of their own.
    'reminderId' in occurrence ? occurrence.reminderId : `schedule:${occurrence.scheduleId}`,
    occurrence.recurrenceId,
    parts.channel,
  ];
  const hash = createHash('sha256');
  for (const field of fields) hash.update(`${Buffer.byteLength(field)}:${field};`);
  return `dk_${hash.digest('hex').slice(0, 40)}`;
}
