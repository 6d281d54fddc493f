/**
 * Activities: every side effect of a reminder's life. Built by a factory that receives its
 * dependencies; the worker (src/entry/runtime.ts) is the one place where real ones are made.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { compileRecurrence, RecurrenceError, type Occurrence, type RecurrenceInput } from '../src/domain/recurrence/index.js';
import { ChimeErrorType, DeliveryError, InvalidInputError } from '../src/domain/errors.js';
import type { Channel, MessageSender, OccurrenceRef } from '../src/domain/delivery.js';
import {
  capLookups,
  decide,
  recurrenceInZone,
  resolvePolicy,
  type ChannelDecision,
  type PolicyOverrides,
  type ZoneMode,
} from '../src/domain/policy/index.js';
import { validatePreferences, type Preferences } from '../src/domain/preferences/index.js';
import type { ReminderId, TenantId, UserId } from '../src/domain/ids.js';
import { occurrenceEnded, reachedOutcome, skippedOutcome, stopFor, type ChannelOutcome, type OccurrenceDecision, type ReachedDelivery, type ReminderStatus, type StopReason } from '../src/domain/decisions.js';
import type { Ledger } from '../src/storage/ledger.js';
import type { DecisionLog, NewDecision } from '../src/storage/decisions.js';
import type { ReminderStore, SendContext } from '../src/storage/reminders.js';
import type { MessageContent } from '../src/domain/templates/index.js';
import { createComposer, recipientFacts, type StoredRecipient, type TemplateSource } from '../src/templates/compose.js';
import { NO_METRICS, type ChimeMetrics } from '../src/domain/metrics.js';
import { activityContext, claimantOf } from './context.js';
import { createDeliverer, type DeliveryReceipt, type DeliveryResult } from './delivery.js';

/** Port: a user as the database has them now. */
export interface RecipientSource {
  recipientOf(tenantId: TenantId, userId: UserId): Promise<StoredRecipient | undefined>;
}

/** The tenant's policy for a category, the layer between the defaults and a reminder's own. */
export interface CategoryPolicySource {
  categoryPolicyOf(tenantId: TenantId, category: string): Promise<PolicyOverrides | undefined>;
}

export interface ActivityDependencies {
  senders: Partial<Record<Channel, MessageSender>>;
  recipients: RecipientSource;
  templates: TemplateSource;
  categories: CategoryPolicySource;
  ledger: Pick<Ledger, 'claim' | 'settle' | 'countSent'>;
  decisions: Pick<DecisionLog, 'record' | 'recordWithStatus'>;
  /**
   * Keeps the stored reminder's status (what lists show) in step with its workflow; read right before
   * a one-step send (the API writes a pause, cancel or channel removal there before it answers).
   */
  reminders: Pick<ReminderStore, 'update' | 'get' | 'sendContext'>;
  /** Deliveries and decisions counted (Prometheus in the worker); none by default. */
  metrics?: ChimeMetrics;
}

export interface PlanRequest {
  /** With `zoneMode: 'follow-user'`, the rule is expanded in this user's zone as the database has it now. */
  tenantId?: string;
  userId?: string;
  zoneMode?: ZoneMode;
  recurrence: RecurrenceInput;
  /** Exclusive lower bound: the last occurrence already handled. Absent: from DTSTART. */
  afterEpochMs?: number;
  /** Occurrences before this instant are past the catch-up window: counted as missed, not planned. */
  notBeforeEpochMs: number;
  count: number;
}

export interface Plan {
  upcoming: Occurrence[];
  missed: { count: number; last?: Occurrence };
  /** The zone the rule was expanded in. */
  timeZone: string;
}

export interface DecideRequest {
  tenantId: string;
  userId: string;
  occurrence: OccurrenceRef;
  category: string;
  channels: Channel[];
  policy?: PolicyOverrides;
  /** The zone quiet hours fall back to when the user has none (the reminder's own). */
  fallbackTimeZone: string;
  /** The workflow's clock, so the decision is reproducible from history. */
  nowEpochMs: number;
  /** The following occurrence's instant: when it is already due, this one collapses (if the policy says so). */
  followingEpochMs?: number;
  /** How long a send may take before it is decided again (each `send` gets its `sendBy`). */
  deliveryWindowMs?: number;
}

export interface DeliverRequest {
  tenantId: string;
  userId: string;
  occurrence: OccurrenceRef;
  channel: Channel;
  /** Counted by per-category frequency caps. */
  category: string;
  /** The reminder's title and body, and its template if it has one (rendered here, for this recipient, now). */
  content: MessageContent;
  /** Quiet hours or a snooze moved the send past its scheduled instant (its lateness is policy). */
  deferred?: boolean;
}

/** A due occurrence decided and sent in one activity: the decision's inputs and the message. */
export interface SendOccurrenceRequest extends DecideRequest {
  content: MessageContent;
  /** Quiet hours or a snooze moved the send past its scheduled instant (its lateness is policy). */
  deferred?: boolean;
  /** How to record the occurrence's decision when every channel ends here (none is deferred, stopped or left to retry). */
  record?: {
    /** n-th decision about this occurrence. */
    sequence: number;
    /** Outcomes of channels that ended before this call (removed from the reminder meanwhile). */
    outcomes: ChannelOutcome[];
    /** The last occurrence of the series: the reminder completes with its decision. */
    completesSeries: boolean;
  };
}

/** How one channel that the decision sends ended inside a one-step send. */
export type OneStepDelivery =
  /** Sent, or refused for good by the provider (recorded on the ledger as final). */
  | ReachedDelivery
  /** The database shows the reminder paused or cancelled, or the channel removed: not started. */
  | { kind: 'stopped'; reason: StopReason }
  /** Its send-by instant passed before its turn: not started, to be decided again. */
  | { kind: 'timed_out' }
  /** Not settled: a transient failure, or another live attempt holds the key. `deliver` retries it within its send-by bound. */
  | { kind: 'retry'; type: string };

export interface SendOccurrenceResult {
  verdicts: ChannelDecision[];
  /** One entry per channel the decision sends. */
  deliveries: Partial<Record<Channel, OneStepDelivery>>;
  /** Every channel ended here: the occurrence's decision, recorded (and the reminder completed, if asked). */
  recorded?: { decision: OccurrenceDecision; reminderStatus?: ReminderStatus };
}

export type { DeliveryReceipt };

export interface RecordDecisionRequest {
  tenantId: string;
  userId: string;
  decision: OccurrenceDecision;
  /** n-th decision about this occurrence: (reminder, occurrence, sequence) is stored once. */
  sequence: number;
  /** The status the reminder settles in with this decision (the last occurrence completes it): one call, not two. */
  reminderStatus?: ReminderStatus;
}

export interface RecordStatusRequest {
  tenantId: string;
  reminderId: string;
  status: ReminderStatus;
  /** Why a blocked reminder cannot plan. */
  reason?: string;
}

/** At most this many missed occurrences are walked per plan; a longer outage takes several plans. */
const MISSED_WALK_LIMIT = 1_000;
/**
 * A delivery claim's lease: longer than one attempt (the activity's 1-minute start-to-close). A later
 * attempt of the same activity takes a claim over at once: Temporal starts it only after the earlier
 * one failed or timed out (a dead worker shows within the 20-second heartbeat timeout).
 */
const DELIVERY_LEASE_MS = 2 * 60_000;
/** How long a delivery keeps trying to record a provider's acceptance while the database is away. */
const SETTLE_RETRY_MS = 40_000;
const HEARTBEAT_EVERY_MS = 5_000;

/** Activity failure types of our own (besides ChimeErrorType). */
export const ActivityErrorType = {
  /** Another worker holds the ledger lease of this key: retry later, it will be settled or freed. */
  DeliveryInProgress: 'delivery_in_progress',
} as const;

/** Turns a domain failure into the Temporal failure whose `type` the retry policy understands. */
function toActivityFailure(error: unknown): unknown {
  if (error instanceof DeliveryError) {
    return ApplicationFailure.create({
      type: error.type,
      message: error.message,
      nonRetryable: error.permanent,
      cause: error,
      ...(error.options.retryAfterMs !== undefined ? { nextRetryDelay: error.options.retryAfterMs } : {}),
    });
  }
  if (error instanceof RecurrenceError) {
    return ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, cause: error });
  }
  if (error instanceof InvalidInputError) {
    return ApplicationFailure.create({ type: ChimeErrorType.PreferencesInvalid, message: error.message, nonRetryable: true });
  }
  return error;
}

/** The failure a delivery that did not end in a send throws: retried by Temporal unless it is permanent. */
function deliveryFailure(result: Exclude<DeliveryResult, { kind: 'sent' }>): ApplicationFailure {
  if (result.kind === 'busy') {
    return ApplicationFailure.create({ type: ActivityErrorType.DeliveryInProgress, message: 'another worker is delivering this key' });
  }
  return ApplicationFailure.create({
    type: result.type,
    message: result.message,
    nonRetryable: result.permanent,
    ...(result.cause !== undefined ? { cause: result.cause as Error } : {}),
    ...(result.retryAfterMs !== undefined ? { nextRetryDelay: result.retryAfterMs } : {}),
  });
}

/** Each channel's outcome when every one ended in a one-step send (skipped, sent or refused for good); otherwise none. */
function endedHere(verdicts: ChannelDecision[], deliveries: SendOccurrenceResult['deliveries']): ChannelOutcome[] | undefined {
  const skipped: ChannelOutcome[] = [];
  const reached: ChannelOutcome[] = [];
  for (const verdict of verdicts) {
    const delivery = deliveries[verdict.channel];
    if (verdict.action === 'skip') skipped.push(skippedOutcome(verdict));
    else if (delivery?.kind === 'sent' || delivery?.kind === 'failed') reached.push(reachedOutcome(verdict.channel, delivery));
    else return undefined;
  }
  return [...skipped, ...reached];
}

function contactOf(preferences: Preferences, channel: Channel): string | undefined {
  return channel === 'email' ? preferences.contacts.email?.address : preferences.contacts.sms?.number;
}

const decisionKind = (d: OccurrenceDecision) =>
  d.kind === 'delivered' ? (d.channels.some((c) => c.outcome === 'sent') ? 'sent' : 'failed') : d.kind;

export function createActivities({ senders, recipients, templates, categories, ledger, decisions, reminders, metrics = NO_METRICS }: ActivityDependencies) {
  const deliverOnce = createDeliverer({ senders, ledger, metrics });
  const compose = createComposer({ templates });
  /** The user as the database has them now; the preferences read with `fallbackTimeZone` where they name no zone. */
  const preferencesOf = (stored: StoredRecipient | undefined, fallbackTimeZone: string): Preferences =>
    validatePreferences({ timeZone: fallbackTimeZone, ...((stored?.preferences as object | undefined) ?? {}) });
  const currentPreferences = async (tenantId: string, userId: string, fallbackTimeZone: string): Promise<Preferences> =>
    preferencesOf(await recipients.recipientOf(tenantId as TenantId, userId as UserId), fallbackTimeZone);

  /** Decides each channel — send, defer or skip — with the user's preferences and the category's policy as they are now. */
  async function decideWith(request: DecideRequest, prefs: Preferences, categoryPolicy: PolicyOverrides | undefined): Promise<ChannelDecision[]> {
    const { tenantId, userId, occurrence, nowEpochMs: now } = request;
    // Default → category → reminder.
    const policy = resolvePolicy(categoryPolicy, request.policy);
    const recentSends: Partial<Record<Channel, number>> = {};
    for (const { channel, since } of capLookups(policy, request.channels, now)) {
      recentSends[channel] = await ledger.countSent({
        tenantId: tenantId as TenantId,
        userId: userId as UserId,
        channel,
        category: request.category,
        since: new Date(since),
      });
    }
    const decision = decide({
      occurrence: {
        scheduledFor: Date.parse(occurrence.scheduledFor),
        recurrenceId: occurrence.recurrenceId,
        category: request.category,
        channels: request.channels,
      },
      preferences: prefs,
      policy,
      now,
      recentSends,
      pendingNewer: request.followingEpochMs !== undefined && request.followingEpochMs <= now,
      ...(request.deliveryWindowMs !== undefined ? { deliveryWindowMs: request.deliveryWindowMs } : {}),
    });
    return decision.channels;
  }

  /**
   * One channel through the ledger (claim, provider, settle). `recipient` is the user as already read
   * for this send, if it was; otherwise they are read after the claim (a settled key needs no read).
   */
  function deliverChannel(request: DeliverRequest, context: ReturnType<typeof activityContext>, recipient?: { stored: StoredRecipient | undefined }) {
    const { tenantId, userId, occurrence, channel } = request;
    const claimant = claimantOf(context);
    return deliverOnce(
      {
        tenantId: tenantId as TenantId,
        userId: userId as UserId,
        source: { reminderId: occurrence.reminderId as ReminderId },
        recurrenceId: occurrence.recurrenceId,
        occurrenceAt: new Date(occurrence.scheduledFor),
        channel,
        category: request.category,
        ...(request.deferred ? { deferred: true } : {}),
      },
      {
        ...(context ? { log: context.log } : {}),
        prepare: async () => {
          const stored = recipient ? recipient.stored : await recipients.recipientOf(tenantId as TenantId, userId as UserId);
          const preferences = preferencesOf(stored, 'UTC');
          const { title, body } = request.content;
          const composed = await compose({
            tenantId: tenantId as TenantId,
            channel,
            recipient: recipientFacts(userId, preferences, stored),
            source: { kind: 'reminder', id: occurrence.reminderId, title, body, category: request.category },
            occurrence: { atEpochMs: Date.parse(occurrence.scheduledFor), nowEpochMs: Date.now() },
            content: request.content,
          });
          return { to: contactOf(preferences, channel), ...composed };
        },
        leaseMs: DELIVERY_LEASE_MS,
        settleRetryMs: SETTLE_RETRY_MS,
        ...(claimant ? { claimant } : {}),
        beforeProviderCall: () => {
          if (context?.cancellationSignal.aborted) throw new CancelledFailure('the reminder stopped before the provider was called');
        },
      },
    );
  }

  /** Heartbeats show a dead worker within the heartbeat timeout and bring a cancellation. None at the start: a quick activity (most of them) costs the server no heartbeat write at all. */
  async function heartbeating<T>(work: (context: ReturnType<typeof activityContext>) => Promise<T>): Promise<T> {
    const context = activityContext();
    const beating = context && setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await work(context);
    } finally {
      clearInterval(beating);
    }
  }

  /** Stores a decision once per (reminder, occurrence, sequence), and the status the reminder settles in with it. */
  async function recordNow({ tenantId, userId, decision, sequence, reminderStatus }: RecordDecisionRequest): Promise<void> {
    const reason =
      decision.kind === 'skipped' ? decision.reason : decision.kind === 'deferred' ? decision.explanation : undefined;
    const kind = decisionKind(decision);
    const row: NewDecision & { source: { reminderId: ReminderId } } = {
      tenantId: tenantId as TenantId,
      userId: userId as UserId,
      source: { reminderId: decision.occurrence.reminderId as ReminderId },
      recurrenceId: decision.occurrence.recurrenceId,
      occurrenceAt: new Date(decision.occurrence.scheduledFor),
      sequence,
      decidedAt: new Date(decision.decidedAt),
      kind,
      ...(reason !== undefined ? { reason } : {}),
      ...(decision.kind === 'deferred' ? { deferredUntil: new Date(decision.until) } : {}),
      channels: decision.kind === 'delivered' || decision.kind === 'skipped' ? decision.channels : [],
      // The decision as the workflow made it: the API answers from here when the workflow is gone.
      details: { decision, ...(decision.kind === 'missed' ? { count: decision.count, lateByMs: decision.lateByMs } : {}) },
    };
    if (reminderStatus) await decisions.recordWithStatus(row, reminderStatus);
    else await decisions.record(row);
    // Counted once recorded (a retried record is stored once, and may count twice: a counter, not a ledger).
    // A deferral's explanation is free text: its series are counted under the kind alone.
    metrics.decided(kind, decision.kind === 'skipped' ? decision.reason : '');
    activityContext()?.log.info('decision recorded', {
      tenantId,
      reminderId: decision.occurrence.reminderId,
      recurrenceId: decision.occurrence.recurrenceId,
      scheduledFor: decision.occurrence.scheduledFor,
      kind,
      ...(decision.kind === 'skipped' ? { reason: decision.reason } : {}),
    });
  }

  return {
    /**
     * Expands the recurrence — a follow-user rule in the user's zone as it is now — : the next
     * `count` occurrences, and how many fell behind the catch-up window. Runs here, never in workflow
     * code: tz data and the database are not replay-safe.
     */
    async planOccurrences({ tenantId, userId, zoneMode, recurrence, afterEpochMs, notBeforeEpochMs, count }: PlanRequest): Promise<Plan> {
      try {
        const followsUser = zoneMode === 'follow-user' && tenantId !== undefined && userId !== undefined;
        const zone = followsUser ? (await currentPreferences(tenantId, userId, recurrence.tzid)).timeZone : recurrence.tzid;
        const rule = compileRecurrence(recurrenceInZone(recurrence, zoneMode ?? 'pinned', zone));
        const missed: Plan['missed'] = { count: 0 };
        let cursor = afterEpochMs;
        for (let o = rule.take(1, cursor)[0]; o && o.epochMs < notBeforeEpochMs; o = rule.nextAfter(o.epochMs)) {
          missed.count++;
          missed.last = o;
          cursor = o.epochMs;
          if (missed.count >= MISSED_WALK_LIMIT) break;
        }
        return { upcoming: rule.take(count, cursor), missed, timeZone: zone };
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Reads the user's preferences as they are now and decides each channel: send, defer or skip. */
    async decideOccurrence(request: DecideRequest): Promise<ChannelDecision[]> {
      try {
        const { tenantId, category } = request;
        const prefs = await currentPreferences(tenantId, request.userId, request.fallbackTimeZone);
        return await decideWith(request, prefs, await categories.categoryPolicyOf(tenantId as TenantId, category));
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /**
     * The usual due occurrence in one task-queue round trip: decides every channel at send time, as
     * `decideOccurrence` does, and delivers each one the decision sends, as `deliver` does — with one
     * read of the user for both. Right before each channel it reads the stored reminder: the API
     * writes a pause, a cancel or a channel removal there before it answers, so no channel starts
     * after a stop the API has answered. A channel it cannot settle at once is left to `deliver`
     * (Temporal's retries, within its send-by bound); a failure it cannot report (an acceptance it
     * could not record) throws, and the retry decides again, with the same clock, and finds on the
     * ledger what was already sent.
     */
    async sendOccurrence(request: SendOccurrenceRequest): Promise<SendOccurrenceResult> {
      return heartbeating(async (context) => {
        const { tenantId, userId, occurrence } = request;
        const reminderId = occurrence.reminderId as ReminderId;
        // One read for the decision and the first channel's stop check; without the reminder's row
        // (never expected while its workflow runs) the user and the policy are read alone.
        const seen = await reminders.sendContext(tenantId as TenantId, reminderId, request.category);
        const stored = seen ? seen.recipient : await recipients.recipientOf(tenantId as TenantId, userId as UserId);
        const categoryPolicy = seen ? seen.categoryPolicy : await categories.categoryPolicyOf(tenantId as TenantId, request.category);
        let verdicts: ChannelDecision[];
        try {
          verdicts = await decideWith(request, preferencesOf(stored, request.fallbackTimeZone), categoryPolicy);
        } catch (error) {
          throw toActivityFailure(error);
        }
        const deliveries: SendOccurrenceResult['deliveries'] = {};
        let reminder: Pick<SendContext, 'status' | 'channels'> | undefined = seen;
        let first = true;
        for (const verdict of verdicts) {
          if (verdict.action !== 'send') continue;
          const { channel } = verdict;
          // Read again before each later channel: a stop may have been answered while the one before was sent.
          if (!first) reminder = await reminders.get(tenantId as TenantId, reminderId);
          first = false;
          const stop = reminder ? stopFor(reminder, channel) : 'cancelled'; // no row: deleted, as good as cancelled
          if (stop) {
            deliveries[channel] = { kind: 'stopped', reason: stop };
            continue;
          }
          if (verdict.sendBy !== undefined && Date.now() >= verdict.sendBy) {
            deliveries[channel] = { kind: 'timed_out' };
            continue;
          }
          const result = await deliverChannel({ ...request, channel }, context, { stored });
          if (result.kind === 'sent') deliveries[channel] = { kind: 'sent', receipt: result.receipt };
          else if (result.kind === 'failed' && result.permanent) deliveries[channel] = { kind: 'failed', type: result.type, message: result.message };
          else deliveries[channel] = { kind: 'retry', type: result.kind === 'busy' ? ActivityErrorType.DeliveryInProgress : result.type };
        }
        const outcomes = request.record && endedHere(verdicts, deliveries);
        if (!request.record || !outcomes) return { verdicts, deliveries };
        // Decided at the workflow's clock, the decision's own `now`; the channels in the order the
        // workflow settles them: what ended before, the skipped ones, the ones that reached a provider.
        const decision = occurrenceEnded(occurrence, new Date(request.nowEpochMs).toISOString(), [...request.record.outcomes, ...outcomes]);
        const reminderStatus = request.record.completesSeries ? ('completed' as const) : undefined;
        await recordNow({ tenantId, userId, decision, sequence: request.record.sequence, ...(reminderStatus ? { reminderStatus } : {}) });
        return { verdicts, deliveries, recorded: { decision, ...(reminderStatus ? { reminderStatus } : {}) } };
      });
    },

    async recordStatus({ tenantId, reminderId, status, reason }: RecordStatusRequest): Promise<void> {
      await reminders.update(tenantId as TenantId, reminderId as ReminderId, { status, statusReason: status === 'blocked' ? (reason ?? null) : null });
    },

    async recordDecision(request: RecordDecisionRequest): Promise<void> {
      await recordNow(request);
    },

    /**
     * Delivers one occurrence on one channel at most once per idempotency key: the ledger row is
     * claimed before the provider call and settled after it. A retry that finds the key settled
     * returns the stored result without calling the provider again.
     */
    async deliver(request: DeliverRequest): Promise<DeliveryReceipt> {
      // Heartbeats also bring the cancellation of a delivery whose reminder was paused or cancelled meanwhile.
      return heartbeating(async (context) => {
        const result = await deliverChannel(request, context);
        if (result.kind === 'sent') return result.receipt;
        throw deliveryFailure(result);
      });
    },
  };
}

export type ReminderActivities = ReturnType<typeof createActivities>;
