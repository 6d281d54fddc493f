/**
 * Time-zone buckets of an audience schedule. A rule "Mondays 09:00" in each recipient's local time
 * fires once per zone of the audience, at 09:00 there: one bucket is the set of zones whose next
 * local occurrence falls at the same instant. The schedule's workflow sleeps until the earliest
 * bucket, fans out to its zones' recipients, and moves those zones' fences past it.
 *
 * Pure: the zones and fences come in, the next bucket goes out (the recurrence engine reads tz data,
 * so this runs in an activity, never in workflow code).
 */
import { compileRecurrence, type Occurrence, type RecurrenceInput } from '../recurrence/index.js';

/** A group of recipients that fires together: the users of one zone, or everyone (pinned schedules). */
export interface BucketMember {
  /** The zone the occurrence was expanded in (the recipients' own, or the pinned rule's). */
  zone: string;
  /** Which recipients: those whose stored zone is `zone`, those with no zone (who use the rule's), or all. */
  recipients: { zone: string } | { zone: null } | 'all';
  /** The occurrence's nominal identity: its local wall time (recipient-local) or its instant (pinned). */
  recurrenceId: string;
  occurrence: Occurrence;
}

export interface Bucket {
  firesAt: number;
  members: BucketMember[];
}

export interface BucketRequest {
  recurrence: RecurrenceInput;
  zoneMode: 'recipient-local' | 'pinned';
  /** Distinct stored zones of the audience; `null` stands for recipients with no zone (they use the rule's). */
  zones: Array<string | null>;
  /** Per zone key (see `zoneKey`): the last occurrence fanned out there. Zones without one start at `fence`. */
  fences: Record<string, number>;
  fence: number;
  /** The schedule ends: nothing after this instant. */
  endsAt?: number;
}

/** The key of a recipient group in fences and runs: its zone, `~rule` for recipients with none, `*` for everyone. */
export function zoneKey(recipients: BucketMember['recipients']): string {
  return recipients === 'all' ? '*' : recipients.zone ?? '~rule';
}

/** The earliest next bucket, or undefined when the rule has no occurrence left (or the audience is empty). */
export function nextBucket({ recurrence, zoneMode, zones, fences, fence, endsAt }: BucketRequest): Bucket | undefined {
  const candidates: BucketMember[] = [];
  const groups: Array<BucketMember['recipients']> =
    zoneMode === 'pinned' ? ['all'] : zones.map((zone) => (zone === null ? { zone: null } : { zone }));
  for (const recipients of groups) {
    const zone = recipients === 'all' || recipients.zone === null ? recurrence.tzid : recipients.zone;
    const after = Math.max(fence, fences[zoneKey(recipients)] ?? -Infinity);
    const occurrence = compileRecurrence({ ...recurrence, tzid: zone }).nextAfter(after);
    if (!occurrence || (endsAt !== undefined && occurrence.epochMs > endsAt)) continue;
    candidates.push({ zone, recipients, recurrenceId: zoneMode === 'pinned' ? occurrence.utc : occurrence.wall, occurrence });
  }
  if (candidates.length === 0) return undefined;
  const firesAt = Math.min(...candidates.map((c) => c.occurrence.epochMs));
  return { firesAt, members: candidates.filter((c) => c.occurrence.epochMs === firesAt) };
}
