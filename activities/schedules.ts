/**
 * Activities of audience schedules: plan the next time-zone bucket, and deliver one page of a
 * bucket's recipients — each through the same send-time path as a reminder's occurrence: the
 * recipient's preferences as they are now, the layered policy, caps, `decide`, and the delivery
 * ledger. The audience is read page by page from the database, never carried in workflow history.
 */
import { ApplicationFailure } from '@temporalio/common';
import { sentOutcome, skippedOutcome, type ChannelOutcome } from '../src/domain/decisions.js';
import type { Channel } from '../src/domain/delivery.js';
import { ChimeErrorType } from '../src/domain/errors.js';
import type { ScheduleId, TenantId, UserId } from '../src/domain/ids.js';
import { capLookups, decide, resolvePolicy, type ChannelDecision, type PolicyOverrides } from '../src/domain/policy/index.js';
import { validatePreferences, type Preferences } from '../src/domain/preferences/index.js';
import { nextBucket, zoneKey, type Audience, type BucketMember } from '../src/domain/schedules/index.js';
import type { AudienceStore, RecipientGroup } from '../src/storage/audiences.js';
import type { NewDecision } from '../src/storage/decisions.js';
import type { Ledger } from '../src/storage/ledger.js';
import type { Deferral, ScheduleRunStore } from '../src/storage/schedule-runs.js';
import type { ScheduleStore } from '../src/storage/schedules.js';
import type { RecurrenceInput } from '../src/domain/recurrence/index.js';
import { createComposer, oncePerBatch, recipientFacts, type Compose, type StoredRecipient, type TemplateSource } from '../src/templates/compose.js';
import { activityContext, claimantOf } from './context.js';
import type { DeliverOnce, DeliveryLog } from './delivery.js';
import { NO_METRICS, type ChimeMetrics } from '../src/domain/metrics.js';

export interface ScheduleActivityDependencies {
  deliverOnce: DeliverOnce;
  schedules: Pick<ScheduleStore, 'get'>;
  audiences: AudienceStore;
  runs: ScheduleRunStore;
  categories: { categoryPolicyOf(tenantId: TenantId, category: string): Promise<PolicyOverrides | undefined> };
  ledger: Pick<Ledger, 'countSent'>;
  users: { recipientsOfMany(tenantId: TenantId, userIds: readonly UserId[]): Promise<Map<UserId, StoredRecipient>> };
  templates: TemplateSource;
  /** Decisions counted (Prometheus in the worker); none by default. */
  metrics?: ChimeMetrics;
}

/** A bucket member as the workflow carries it: which recipients, which occurrence. */
export interface PlannedMember {
  /** The recipient group's key in fences and runs (`zoneKey`). */
  key: string;
  recipients: BucketMember['recipients'];
  /** The zone the occurrence is in (the recipients' own, or the rule's). */
  zone: string;
  recurrenceId: string;
  /** The occurrence's instant (ISO, UTC) and local time. */
  scheduledFor: string;
  local: string;
}

export type PlannedBucket =
  | { kind: 'bucket'; firesAt: number; members: PlannedMember[]; smoothingMs: number; recipients?: number }
  /**
   * No bucket now: `ended` when none can come any more (the rule or the schedule's window is over,
   * or the schedule is archived or gone); else the audience has nobody yet.
   */
  | { kind: 'none'; ended: boolean };

export interface PlanBucketRequest {
  tenantId: string;
  scheduleId: string;
  /** Per recipient group, the last occurrence fanned out there. */
  fences: Record<string, number>;
  /** Groups without a fence start after this instant. */
  fence: number;
}

export interface PageRequest {
  tenantId: string;
  scheduleId: string;
  member: PlannedMember;
  afterUserId?: string;
  limit: number;
  /** The workflow's clock when it launched the page (decisions are reproducible from history). */
  nowEpochMs: number;
  /** How long a send may take (the catch-up window): each send's `sendBy`. */
  deliveryWindowMs: number;
  /** The page ran out of time: recipients still to send are decided again and, if still "send", failed. */
  windowClosed?: boolean;
}

export interface PageResult {
  /** Recipients this page looked at. */
  processed: number;
  /** The next page's cursor; absent when the group is done (its run is then marked complete). */
  nextAfterUserId?: string;
  /** The earliest deferral this page made, if any. */
  deferredUntil?: number;
}

export interface DeferredPageRequest {
  tenantId: string;
  scheduleId: string;
  nowEpochMs: number;
  limit: number;
  deliveryWindowMs: number;
}

export interface DeferredPageResult {
  processed: number;
  /** When the next deferred recipient is due, if any remain. */
  nextDeferralAt?: number;
}

/** One recipient's turn through the send-time path: what to record, and whether to wait for quiet hours. */
interface RecipientResult {
  decision?: NewDecision;
  deferral?: Deferral;
  /** A provider could not take it now: the page is retried (the ledger keeps what was sent). */
  transient?: string;
}

const PAGE_CONCURRENCY = 8;
const DELIVERY_LEASE_MS = 2 * 60_000;
const SETTLE_RETRY_MS = 40_000;

const groupOf = (recipients: BucketMember['recipients']): RecipientGroup => (recipients === 'all' ? 'all' : { zone: recipients.zone });

function contactOf(preferences: Preferences, channel: Channel): string | undefined {
  return channel === 'email' ? preferences.contacts.email?.address : preferences.contacts.sms?.number;
}

async function mapPooled<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await run(items[i]!);
    }),
  );
  return results;
}

export function createScheduleActivities({ deliverOnce, schedules, audiences, runs, categories, ledger, users, templates, metrics = NO_METRICS }: ScheduleActivityDependencies) {
  /** A composer for one page: its tenant template is read once, whatever the page's size. */
  const composerForPage = (): Compose => createComposer({ templates: oncePerBatch(templates) });

  async function loadSchedule(tenantId: string, scheduleId: string) {
    const schedule = await schedules.get(tenantId as TenantId, scheduleId as ScheduleId);
    return schedule && schedule.status !== 'archived' ? schedule : undefined;
  }

  /**
   * One recipient, one occurrence: decide with the recipient's preferences of now, send what the
   * decision says to send (each channel once per idempotency key), and say what to record.
   */
  async function serveRecipient(
    context: {
      tenantId: TenantId;
      scheduleId: ScheduleId;
      schedule: NonNullable<Awaited<ReturnType<typeof loadSchedule>>>;
      policy: ReturnType<typeof resolvePolicy>;
      claimant?: { id: string; attempt: number };
      log?: DeliveryLog;
      now: number;
      deliveryWindowMs: number;
      windowClosed: boolean;
      compose: Compose;
    },
    recipient: { userId: UserId; stored: StoredRecipient | undefined; zone: string; key: string },
    occurrence: { recurrenceId: string; scheduledFor: string },
    channels: Channel[],
    sequence: number,
  ): Promise<RecipientResult> {
    const { tenantId, scheduleId, schedule, policy, now } = context;
    const occurrenceAt = new Date(occurrence.scheduledFor);
    const base = { tenantId, userId: recipient.userId, source: { scheduleId }, recurrenceId: occurrence.recurrenceId, occurrenceAt, sequence, decidedAt: new Date(now) };
    let preferences: Preferences;
    try {
      preferences = validatePreferences({ timeZone: recipient.zone, ...((recipient.stored?.preferences as object | undefined) ?? {}) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const outcomes: ChannelOutcome[] = channels.map((channel) => ({ channel, outcome: 'failed', errorType: ChimeErrorType.PreferencesInvalid, message }));
      return { decision: { ...base, kind: 'failed', reason: ChimeErrorType.PreferencesInvalid, channels: outcomes } };
    }
    const recentSends: Partial<Record<Channel, number>> = {};
    for (const { channel, since } of capLookups(policy, channels, now)) {
      recentSends[channel] = await ledger.countSent({ tenantId, userId: recipient.userId, channel, category: schedule.category, since: new Date(since) });
    }
    const verdicts = decide({
      occurrence: { scheduledFor: occurrenceAt.getTime(), recurrenceId: occurrence.recurrenceId, category: schedule.category, channels },
      preferences,
      policy,
      now,
      recentSends,
      deliveryWindowMs: context.deliveryWindowMs,
    }).channels;

    const outcomes: ChannelOutcome[] = [];
    let transient: string | undefined;
    for (const verdict of verdicts) {
      if (verdict.action === 'skip') outcomes.push(skippedOutcome(verdict));
      if (verdict.action !== 'send') continue;
      if (context.windowClosed) {
        outcomes.push({ channel: verdict.channel, outcome: 'failed', errorType: 'delivery_timeout', message: 'the provider did not take it within its send-by bound' });
        continue;
      }
      const result = await deliverOnce(
        { tenantId, userId: recipient.userId, source: { scheduleId }, recurrenceId: occurrence.recurrenceId, occurrenceAt, channel: verdict.channel, category: schedule.category, ...(sequence > 0 ? { deferred: true } : {}) },
        {
          prepare: async () => {
            const { title, body } = schedule.content;
            const composed = await context.compose({
              tenantId,
              channel: verdict.channel,
              recipient: recipientFacts(recipient.userId, preferences, recipient.stored),
              source: { kind: 'schedule', id: scheduleId, name: schedule.name, title, body, category: schedule.category },
              occurrence: { atEpochMs: occurrenceAt.getTime(), nowEpochMs: Date.now() },
              content: schedule.content,
            });
            return { to: contactOf(preferences, verdict.channel), ...composed };
          },
          leaseMs: DELIVERY_LEASE_MS,
          settleRetryMs: SETTLE_RETRY_MS,
          ...(context.claimant ? { claimant: context.claimant } : {}),
          ...(context.log ? { log: context.log } : {}),
        },
      );
      if (result.kind === 'sent') {
        outcomes.push(sentOutcome(verdict.channel, result.receipt));
      } else if (result.kind === 'failed' && result.permanent) {
        outcomes.push({ channel: verdict.channel, outcome: 'failed', errorType: result.type, message: result.message });
      } else {
        transient = result.kind === 'busy' ? 'another attempt holds the delivery' : result.message;
      }
    }
    if (transient !== undefined) return { transient };

    const deferred = verdicts.filter((v): v is Extract<ChannelDecision, { action: 'defer' }> => v.action === 'defer');
    if (deferred.length > 0) {
      const until = Math.min(...deferred.map((v) => v.until));
      return {
        decision: { ...base, kind: 'deferred', reason: deferred.map((v) => v.explanation).join('; '), deferredUntil: new Date(until), channels: outcomes },
        deferral: { userId: recipient.userId, recurrenceId: occurrence.recurrenceId, zone: recipient.key, occurrenceAt, until: new Date(until), channels: deferred.map((v) => v.channel), sequence: sequence + 1 },
      };
    }
    const failure = outcomes.find((o): o is Extract<ChannelOutcome, { outcome: 'failed' }> => o.outcome === 'failed');
    const reasons = [...new Set(outcomes.flatMap((o) => (o.outcome === 'skipped' ? [o.reason] : [])))];
    return {
      decision: outcomes.some((o) => o.outcome === 'sent')
        ? { ...base, kind: 'sent', channels: outcomes }
        : failure
          ? { ...base, kind: 'failed', reason: failure.errorType, channels: outcomes }
          : { ...base, kind: 'skipped', reason: reasons.join(', ') || 'no_channel', channels: outcomes },
    };
  }

  function heartbeat(details?: unknown) {
    activityContext()?.heartbeat(details);
  }

  /** Records what a page decided, defers who waits for quiet hours, and fails the page if a provider was away. */
  async function settlePage(
    tenantId: TenantId,
    scheduleId: ScheduleId,
    run: { recurrenceId: string; zone: string; firesAt: Date },
    results: RecipientResult[],
  ): Promise<number | undefined> {
    const decisions = results.flatMap((r) => (r.decision ? [r.decision] : []));
    const deferrals = results.flatMap((r) => (r.deferral ? [r.deferral] : []));
    await runs.defer(tenantId, scheduleId, deferrals);
    await runs.record({ tenantId, scheduleId, ...run }, decisions, new Date());
    for (const d of decisions) metrics.decided(d.kind, d.kind === 'skipped' ? (d.reason ?? '') : '');
    const transient = results.find((r) => r.transient !== undefined)?.transient;
    if (transient !== undefined) {
      // Retried by Temporal: recipients recorded above are passed over, the rest are served again.
      throw ApplicationFailure.create({ type: ChimeErrorType.ProviderUnavailable, message: transient });
    }
    return deferrals.length > 0 ? Math.min(...deferrals.map((d) => d.until.getTime())) : undefined;
  }

  return {
    /** The next time-zone bucket of the schedule's audience, with everything the fan-out needs but the recipients. */
    async planScheduleBucket({ tenantId, scheduleId, fences, fence }: PlanBucketRequest): Promise<PlannedBucket> {
      const schedule = await loadSchedule(tenantId, scheduleId);
      if (!schedule?.recurrence.dtstart || !schedule.recurrence.tzid) return { kind: 'none', ended: true };
      const recurrence: RecurrenceInput = {
        dtstart: schedule.recurrence.dtstart,
        tzid: schedule.recurrence.tzid,
        ...(schedule.recurrence.rrule ? { rrule: schedule.recurrence.rrule } : {}),
        ...(schedule.recurrence.rdate ? { rdate: schedule.recurrence.rdate } : {}),
        ...(schedule.recurrence.exdate ? { exdate: schedule.recurrence.exdate } : {}),
      };
      const query = { tenantId: tenantId as TenantId, audience: schedule.audience as Audience, category: schedule.category };
      const counts = schedule.zoneMode === 'pinned' ? undefined : await audiences.countByZone(query);
      const window = {
        fence: Math.max(fence, (schedule.startsAt?.getTime() ?? -Infinity) - 1),
        ...(schedule.endsAt ? { endsAt: schedule.endsAt.getTime() } : {}),
      };
      const bucket = nextBucket({ recurrence, zoneMode: schedule.zoneMode, zones: counts ? [...counts.keys()] : [], fences, ...window });
      if (!bucket) {
        // With recipients, no bucket means every group's rule is over. With none yet, the schedule
        // waits for some unless its rule has nothing left from now on.
        const empty = counts !== undefined && counts.size === 0;
        const ended = !empty || nextBucket({ recurrence, zoneMode: 'pinned', zones: [], fences: {}, ...window, fence: Math.max(window.fence, Date.now()) }) === undefined;
        return { kind: 'none', ended };
      }
      const members = bucket.members.map((m) => ({
        key: zoneKey(m.recipients),
        recipients: m.recipients,
        zone: m.zone,
        recurrenceId: m.recurrenceId,
        scheduledFor: m.occurrence.utc,
        local: m.occurrence.local,
      }));
      const recipients = counts
        ? bucket.members.reduce((sum, m) => sum + (m.recipients === 'all' ? 0 : (counts.get(m.recipients.zone) ?? 0)), 0)
        : undefined;
      return { kind: 'bucket', firesAt: bucket.firesAt, members, smoothingMs: schedule.smoothingMs, ...(recipients !== undefined ? { recipients } : {}) };
    },

    /** One page of a bucket member's recipients, each served once; the last page marks the run complete. */
    async deliverSchedulePage(request: PageRequest): Promise<PageResult> {
      const tenantId = request.tenantId as TenantId;
      const scheduleId = request.scheduleId as ScheduleId;
      const { member } = request;
      const schedule = await loadSchedule(tenantId, scheduleId);
      const run = { recurrenceId: member.recurrenceId, zone: member.key, firesAt: new Date(member.scheduledFor) };
      if (!schedule) return { processed: 0 };
      const query = { tenantId, audience: schedule.audience as Audience, category: schedule.category };
      const page = await audiences.page(query, groupOf(member.recipients), {
        ...(request.afterUserId !== undefined ? { afterUserId: request.afterUserId } : {}),
        limit: request.limit,
      });
      // Recipients decided before a crash are passed over: a page re-run decides and records nothing twice.
      const done = await runs.decided({ tenantId, scheduleId, recurrenceId: member.recurrenceId }, page.map((u) => u.id), 0);
      const policy = resolvePolicy(await categories.categoryPolicyOf(tenantId, schedule.category), schedule.policy as PolicyOverrides);
      const claimant = claimantOf();
      const log = activityContext()?.log;
      const context = { tenantId, scheduleId, schedule, policy, ...(claimant ? { claimant } : {}), ...(log ? { log } : {}), now: request.nowEpochMs, deliveryWindowMs: request.deliveryWindowMs, windowClosed: request.windowClosed ?? false, compose: composerForPage() };
      let served = 0;
      const results = await mapPooled(
        page.filter((u) => !done.has(u.id)),
        PAGE_CONCURRENCY,
        async (user) => {
          const result = await serveRecipient(context, { userId: user.id, stored: user, zone: member.zone, key: member.key }, member, schedule.channels, 0);
          heartbeat(++served);
          return result;
        },
      );
      const deferredUntil = await settlePage(tenantId, scheduleId, run, results);
      const last = page.at(-1);
      if (page.length < request.limit) await runs.complete({ tenantId, scheduleId, recurrenceId: member.recurrenceId, zone: member.key }, new Date());
      return {
        processed: page.length,
        ...(page.length === request.limit && last ? { nextAfterUserId: last.id } : {}),
        ...(deferredUntil !== undefined ? { deferredUntil } : {}),
      };
    },

    /** Recipients whose quiet hours are over, decided again (at most `limit` of them). */
    async deliverDeferredPage(request: DeferredPageRequest): Promise<DeferredPageResult> {
      const tenantId = request.tenantId as TenantId;
      const scheduleId = request.scheduleId as ScheduleId;
      const schedule = await loadSchedule(tenantId, scheduleId);
      if (!schedule) return { processed: 0 };
      const due = await runs.dueDeferrals(tenantId, scheduleId, new Date(request.nowEpochMs), request.limit);
      const stored = await users.recipientsOfMany(tenantId, due.map((d) => d.userId));
      const policy = resolvePolicy(await categories.categoryPolicyOf(tenantId, schedule.category), schedule.policy as PolicyOverrides);
      const claimant = claimantOf();
      const log = activityContext()?.log;
      const context = { tenantId, scheduleId, schedule, policy, ...(claimant ? { claimant } : {}), ...(log ? { log } : {}), now: request.nowEpochMs, deliveryWindowMs: request.deliveryWindowMs, windowClosed: false, compose: composerForPage() };
      // Grouped by occurrence and run, so each group's decisions count into its own run.
      const groups = new Map<string, Deferral[]>();
      for (const d of due) groups.set(`${d.recurrenceId}\u0000${d.zone}`, [...(groups.get(`${d.recurrenceId}\u0000${d.zone}`) ?? []), d]);
      let earliest: number | undefined;
      for (const group of groups.values()) {
        const [first] = group;
        if (!first) continue;
        const decidedBefore = new Map<number, Set<UserId>>();
        for (const sequence of new Set(group.map((d) => d.sequence))) {
          decidedBefore.set(sequence, await runs.decided({ tenantId, scheduleId, recurrenceId: first.recurrenceId }, group.filter((d) => d.sequence === sequence).map((d) => d.userId), sequence));
        }
        const pending = group.filter((d) => !decidedBefore.get(d.sequence)?.has(d.userId));
        const results = await mapPooled(pending, PAGE_CONCURRENCY, (d) =>
          serveRecipient(
            context,
            { userId: d.userId, stored: stored.get(d.userId), zone: validZone(stored.get(d.userId)?.preferences, schedule.recurrence.tzid ?? 'UTC'), key: d.zone },
            { recurrenceId: d.recurrenceId, scheduledFor: d.occurrenceAt.toISOString() },
            d.channels,
            d.sequence,
          ),
        );
        await runs.settleDeferrals(tenantId, scheduleId, group);
        const until = await settlePage(tenantId, scheduleId, { recurrenceId: first.recurrenceId, zone: first.zone, firesAt: first.occurrenceAt }, results);
        if (until !== undefined) earliest = Math.min(earliest ?? Infinity, until);
      }
      const next = await runs.nextDeferral(tenantId, scheduleId);
      return { processed: due.length, ...(next ? { nextDeferralAt: next.getTime() } : {}) };
    },
  };
}

/** The recipient's stored zone, or the fallback when it has none. */
function validZone(stored: unknown, fallback: string): string {
  const zone = (stored as { timeZone?: unknown } | undefined)?.timeZone;
  return typeof zone === 'string' ? zone : fallback;
}

export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
