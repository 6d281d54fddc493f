/**
 * Activities: every side effect of a reminder's life. Built by a factory that receives its
 * dependencies; the worker (src/entry/worker.ts) is the one place where real ones are made.
 */
import { ApplicationFailure } from '@temporalio/common';
import { compileRecurrence, RecurrenceError, type Occurrence, type RecurrenceInput } from '../src/domain/recurrence/index.js';
import { deliveryIdempotencyKey } from '../src/domain/idempotency.js';
import { ChimeErrorType, DeliveryError } from '../src/domain/errors.js';
import type { Channel, ContactDirectory, MessageSender, OccurrenceRef, ProviderAcceptance } from '../src/domain/delivery.js';
import type { OccurrenceDecision } from '../workflows/reminder.js';

/** Port: where occurrence decisions are stored for the API and for audits. */
export interface DecisionLog {
  record(entry: { tenantId: string; userId: string; decision: OccurrenceDecision }): Promise<void>;
}

export interface ActivityDependencies {
  senders: Partial<Record<Channel, MessageSender>>;
  contacts: ContactDirectory;
  decisions: DecisionLog;
}

/** The send-time verdict for one channel of one occurrence. */
export type ChannelVerdict =
  | { channel: Channel; action: 'send' }
  | { channel: Channel; action: 'defer'; untilEpochMs: number; reason: string; explanation: string }
  | { channel: Channel; action: 'skip'; reason: string; explanation: string };

export interface DecideRequest {
  tenantId: string;
  userId: string;
  occurrence: OccurrenceRef;
  category: string;
  channels: Channel[];
  policy?: Record<string, unknown>;
  /** The workflow's clock, so the decision is reproducible from history. */
  nowEpochMs: number;
  deferredSinceEpochMs?: number;
  /** The following occurrence's instant: a deferral that reaches it collapses this one. */
  followingEpochMs?: number;
}

export interface PlanRequest {
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
}

/** At most this many missed occurrences are walked per plan; a longer outage takes several plans. */
const MISSED_WALK_LIMIT = 1_000;

export interface DeliverRequest {
  tenantId: string;
  userId: string;
  occurrence: OccurrenceRef;
  channel: Channel;
  content: { title: string; body: string };
}

export interface DeliveryReceipt extends ProviderAcceptance {
  channel: Channel;
  idempotencyKey: string;
}

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
  return error;
}

export function createActivities({ senders, contacts, decisions }: ActivityDependencies) {
  return {
    /**
     * Expands the recurrence in its zone: the next `count` occurrences, and how many fell behind the
     * catch-up window. Runs here, never in workflow code: tz data is not replay-safe.
     */
    async planOccurrences({ recurrence, afterEpochMs, notBeforeEpochMs, count }: PlanRequest): Promise<Plan> {
      try {
        const rule = compileRecurrence(recurrence);
        const missed: Plan['missed'] = { count: 0 };
        let cursor = afterEpochMs;
        for (let o = rule.take(1, cursor)[0]; o && o.epochMs < notBeforeEpochMs; o = rule.nextAfter(o.epochMs)) {
          missed.count++;
          missed.last = o;
          cursor = o.epochMs;
          if (missed.count >= MISSED_WALK_LIMIT) break;
        }
        return { upcoming: rule.take(count, cursor), missed };
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Reads the user's preferences as they are now and decides each channel (send, defer, skip). */
    async decideOccurrence(request: DecideRequest): Promise<ChannelVerdict[]> {
      return request.channels.map((channel) => ({ channel, action: 'send' as const }));
    },

    async recordDecision(entry: { tenantId: string; userId: string; decision: OccurrenceDecision }): Promise<void> {
      await decisions.record(entry);
    },

    async deliver(request: DeliverRequest): Promise<DeliveryReceipt> {
      const { tenantId, userId, occurrence, channel, content } = request;
      const idempotencyKey = deliveryIdempotencyKey({ tenantId, userId, occurrence, channel });
      try {
        const sender = senders[channel];
        if (!sender) throw new DeliveryError(ChimeErrorType.NoContactPoint, `channel ${channel} is not configured`);
        const to = await contacts.contactPoint(tenantId, userId, channel);
        if (!to) throw new DeliveryError(ChimeErrorType.NoContactPoint, `user has no ${channel} contact point`);
        const acceptance = await sender.send({
          channel,
          to,
          subject: content.title,
          text: content.body,
          idempotencyKey,
        });
        return { ...acceptance, channel, idempotencyKey };
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}

export type ReminderActivities = ReturnType<typeof createActivities>;
