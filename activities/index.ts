/**
 * Activities: every side effect of a reminder's life. Built by a factory that receives its
 * dependencies; the worker (src/entry/worker.ts) is the one place where real ones are made.
 */
import { ApplicationFailure } from '@temporalio/common';
import { compileRecurrence, RecurrenceError, type Occurrence, type RecurrenceInput } from '../src/domain/recurrence/index.js';
import { deliveryIdempotencyKey } from '../src/domain/idempotency.js';
import { ChimeErrorType, DeliveryError } from '../src/domain/errors.js';
import type { Channel, ContactDirectory, MessageSender, OccurrenceRef, ProviderAcceptance } from '../src/domain/delivery.js';

export interface ActivityDependencies {
  senders: Partial<Record<Channel, MessageSender>>;
  contacts: ContactDirectory;
}

export interface UpcomingRequest {
  recurrence: RecurrenceInput;
  /** Exclusive lower bound; absent means "from DTSTART". */
  afterEpochMs?: number;
  count: number;
}

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

export function createActivities({ senders, contacts }: ActivityDependencies) {
  return {
    /** Expands the recurrence in its zone. Runs here, never in workflow code: tz data is not replay-safe. */
    async upcomingOccurrences({ recurrence, afterEpochMs, count }: UpcomingRequest): Promise<Occurrence[]> {
      try {
        return compileRecurrence(recurrence).take(count, afterEpochMs);
      } catch (error) {
        throw toActivityFailure(error);
      }
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
