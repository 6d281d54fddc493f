/**
 * THE send-time decision. One pure function turns (occurrence, the user's current preferences, the
 * resolved policy, now, recent send counts) into a decision per channel. The reminder workflow's
 * activity and the preview both call it — the preview with a simulated `now` — so they cannot
 * disagree. No clock, no environment, no host time zone: everything it reads is in its input.
 */
import { Temporal } from 'temporal-polyfill';
import type { Channel } from '../delivery.js';
import type { Preferences, QuietWindow } from '../preferences/schema.js';
import type { DeliveryPolicy } from './policy.js';
import { quietUntil, type QuietInterval } from './quiet-hours.js';

/** Why a channel is not sent. Closed: every value has an explanation below and in the README. */
export const SKIP_REASONS = [
  'channel_disabled',
  'opted_out_category',
  'no_contact_point',
  'contact_unverified',
  'collapsed',
  'expired',
  'quiet_hours',
  'frequency_cap',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
export type DeferReason = 'quiet_hours';

/** The occurrence being decided, by its nominal identity and its scheduled instant. */
export interface OccurrenceToDecide {
  /** The instant the occurrence was scheduled for (epoch ms); never the deferred send time. */
  scheduledFor: number;
  /** RECURRENCE-ID (wall clock for follow-user reminders, instant for pinned ones). */
  recurrenceId: string;
  /** Tenant-defined category, e.g. `reminders`, `digest`. */
  category: string;
  /** Channels the reminder asks for, in order; duplicates are ignored. */
  channels: readonly Channel[];
}

export interface DecisionInput {
  occurrence: OccurrenceToDecide;
  /** The user's preferences as they are at `now` — not as they were when the occurrence was planned. */
  preferences: Preferences;
  /** Resolved with `resolvePolicy(categoryPolicy, reminderPolicy)`. */
  policy: DeliveryPolicy;
  /** The decision instant (epoch ms). The preview passes `scheduledFor`. */
  now: number;
  /**
   * Sends of this category to this user per channel within that channel's cap window before `now`
   * (see `capLookups`). A capped channel with no entry counts as 0.
   */
  recentSends?: Partial<Record<Channel, number>>;
  /** A later occurrence of the same reminder is already due (scheduledFor ≤ now): for collapse. */
  pendingNewer?: boolean;
  /**
   * How long a send may take from `now` before it is decided again (the catch-up window): gives each
   * `send` its `sendBy`. Absent (previews): no bound is computed.
   */
  deliveryWindowMs?: number;
}

export type ChannelDecision =
  /** `sendBy`: past this instant the delivery stops retrying and the occurrence is decided again (expiry included). */
  | { channel: Channel; action: 'send'; quietHoursBypassed: boolean; explanation: string; sendBy?: number }
  | { channel: Channel; action: 'defer'; until: number; reason: DeferReason; explanation: string }
  | { channel: Channel; action: 'skip'; reason: SkipReason; explanation: string };

/** Plain JSON: recorded in workflow history, the decision ledger and the API as is. */
export interface OccurrenceDecision {
  recurrenceId: string;
  scheduledFor: number;
  decidedAt: number;
  /** The zone quiet hours were evaluated in: the user's zone at `decidedAt`. */
  timeZone: string;
  channels: ChannelDecision[];
}

export type OverallOutcome =
  | { outcome: 'sent'; channels: Channel[]; explanation: string }
  | { outcome: 'deferred'; until: number; explanation: string }
  | { outcome: 'skipped'; reasons: Array<SkipReason | 'no_channel'>; explanation: string };

const LABEL: Record<Channel, string> = { email: 'email', sms: 'SMS' };
const CONTACT: Record<Channel, string> = { email: 'email address', sms: 'SMS number' };

/**
 * Decides every requested channel of one occurrence at `now`. Order of checks, first match wins:
 * channel off, category opt-out, no / unverified contact (user intent: no policy overrides these),
 * collapsed, expired, quiet hours (skip / defer / bypass), frequency cap, send. See README.md.
 */
export function decide(input: DecisionInput): OccurrenceDecision {
  const { occurrence, preferences, now } = input;
  const zone = preferences.timeZone;
  // Quiet hours are the same for every channel: computed once, in the user's zone at `now`.
  const quiet = quietUntil(now, zone, preferences.quietHours);
  const channels = [...new Set(occurrence.channels)].map((channel) =>
    decideChannel(channel, input, quiet),
  );
  return { recurrenceId: occurrence.recurrenceId, scheduledFor: occurrence.scheduledFor, decidedAt: now, timeZone: zone, channels };
}

function decideChannel(
  channel: Channel,
  { occurrence, preferences, policy, now, recentSends, pendingNewer, deliveryWindowMs }: DecisionInput,
  quiet: { until: number; interval: QuietInterval } | undefined,
): ChannelDecision {
  const label = LABEL[channel];
  const skip = (reason: SkipReason, why: string): ChannelDecision => ({
    channel,
    action: 'skip',
    reason,
    explanation: `${label} skipped: ${why}`,
  });
  const zone = preferences.timeZone;

  // 1. What the user wants, which no policy overrides (bypass included).
  if (!preferences.channels[channel]) return skip('channel_disabled', `${label} is turned off in the user's preferences`);
  const optOut = preferences.optOuts[occurrence.category];
  if (optOut === 'all' || optOut?.includes(channel)) {
    return skip('opted_out_category', `opted out of category ${occurrence.category}`);
  }
  const contact = preferences.contacts[channel];
  if (!contact) return skip('no_contact_point', `no ${CONTACT[channel]} on file`);
  if (!contact.verified) return skip('contact_unverified', `the ${CONTACT[channel]} is not verified`);

  // 2. Whether this occurrence is still worth sending at all.
  if (pendingNewer && policy.collapse) {
    return skip('collapsed', 'a later occurrence of this reminder is already due; the backlog collapses to it');
  }
  const expireAfterMs = policy.expireAfterMs;
  const lateMs = now - occurrence.scheduledFor;
  if (expireAfterMs !== undefined && lateMs > expireAfterMs) {
    return skip('expired', `${duration(lateMs)} after its scheduled time, beyond the ${duration(expireAfterMs)} expiry`);
  }

  // 3. Quiet hours, in the user's current zone.
  let bypassed = false;
  if (quiet) {
    const window = `${windowLabel(quiet.interval.window)} ${zone}`;
    if (policy.quietHours === 'skip') return skip('quiet_hours', `quiet hours ${window} (policy: skip during quiet hours)`);
    if (policy.quietHours === 'defer') {
      const target = `${wallTime(quiet.until, zone)} ${zone} on ${wallDate(quiet.until, zone)}`;
      if (expireAfterMs !== undefined && quiet.until - occurrence.scheduledFor > expireAfterMs) {
        return skip(
          'expired',
          `quiet hours ${window} end at ${target}, ${duration(quiet.until - occurrence.scheduledFor)} after its scheduled time, beyond the ${duration(expireAfterMs)} expiry`,
        );
      }
      return {
        channel,
        action: 'defer',
        until: quiet.until,
        reason: 'quiet_hours',
        explanation: `${label} deferred to ${target} by quiet hours ${windowLabel(quiet.interval.window)}`,
      };
    }
    bypassed = true;
  }

  // 4. Frequency caps are counted at the moment of sending (a deferred channel is capped when it wakes).
  const cap = policy.frequencyCaps[channel];
  const sent = recentSends?.[channel] ?? 0;
  if (cap && sent >= cap.max) {
    return skip(
      'frequency_cap',
      `frequency cap of ${cap.max} per ${duration(cap.windowMs)} for category ${occurrence.category} reached (${sent} sent)`,
    );
  }

  const sendBy =
    deliveryWindowMs === undefined
      ? undefined
      : Math.min(now + deliveryWindowMs, expireAfterMs === undefined ? Infinity : occurrence.scheduledFor + expireAfterMs);
  return {
    channel,
    action: 'send',
    quietHoursBypassed: bypassed,
    explanation: bypassed && quiet
      ? `${label}: send now, bypassing quiet hours ${windowLabel(quiet.interval.window)} ${zone} (critical)`
      : `${label}: send now`,
    ...(sendBy !== undefined ? { sendBy } : {}),
  };
}

/**
 * Sums a decision up: `deferred` if any channel waits (the occurrence is not finished), else `sent`
 * if any channel is sent, else `skipped` (`no_channel` when nothing was requested).
 */
export function overallOutcome(decision: OccurrenceDecision): OverallOutcome {
  const explanation = decision.channels.map((c) => c.explanation).join('; ');
  const deferred = decision.channels.filter((c) => c.action === 'defer');
  if (deferred.length > 0) return { outcome: 'deferred', until: Math.min(...deferred.map((c) => c.until)), explanation };
  const sent = decision.channels.filter((c) => c.action === 'send').map((c) => c.channel);
  if (sent.length > 0) return { outcome: 'sent', channels: sent, explanation };
  const reasons = [...new Set(decision.channels.flatMap((c) => (c.action === 'skip' ? [c.reason] : [])))];
  return reasons.length > 0
    ? { outcome: 'skipped', reasons, explanation }
    : { outcome: 'skipped', reasons: ['no_channel'], explanation: 'skipped: no channel requested' };
}

// ---- formatting (deterministic: no Intl, no host zone) ---------------------------------------------

function windowLabel(window: QuietWindow): string {
  return `${window.start}–${window.end}`;
}

function zoned(epochMs: number, zone: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(zone);
}

function wallTime(epochMs: number, zone: string): string {
  const z = zoned(epochMs, zone);
  return `${String(z.hour).padStart(2, '0')}:${String(z.minute).padStart(2, '0')}`;
}

function wallDate(epochMs: number, zone: string): string {
  return zoned(epochMs, zone).toPlainDate().toString();
}

/** "3 h", "2 h 30 min", "45 min", "1 d 2 h", "1 d" */
export function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts = [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : `${Math.max(0, Math.round(ms / 1000))} s`;
}
