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
  occurrence: Pick<OccurrenceRef, 'reminderId' | 'recurrenceId'>;
  channel: Channel;
}): string {
  const fields = [
    'chime.delivery.v1',
    parts.tenantId,
    parts.userId,
    parts.occurrence.reminderId,
    parts.occurrence.recurrenceId,
    parts.channel,
  ];
  const hash = createHash('sha256');
  for (const field of fields) hash.update(`${Buffer.byteLength(field)}:${field};`);
  return `dk_${hash.digest('hex').slice(0, 40)}`;
}
