/**
 * One channel of one occurrence to one recipient, at most once per idempotency key — the one
 * delivery path of reminders and audience schedules alike. The ledger row is claimed before the
 * provider call and settled after it; a key found settled returns the stored result without calling
 * the provider again; a later attempt of the same claimant takes over a claim its dead predecessor
 * left behind.
 */
import type { Channel, MessageSender, ProviderAcceptance } from '../src/domain/delivery.js';
import { NO_METRICS, type ChimeMetrics, type DeliveryOutcome } from '../src/domain/metrics.js';
import { ChimeErrorType, DeliveryError } from '../src/domain/errors.js';
import { redactContactPoints } from '../src/domain/redaction.js';
import { deliveryIdempotencyKey } from '../src/domain/idempotency.js';
import type { TenantId, UserId } from '../src/domain/ids.js';
import { isStorageError } from '../src/storage/errors.js';
import type { Claimant, DeliverySource, Ledger } from '../src/storage/ledger.js';
import type { RenderingNote } from '../src/domain/decisions.js';
import type { Composed } from '../src/templates/compose.js';

/** A sender may look for an earlier, possibly accepted attempt before sending again (Twilio). */
export type RetryAwareSender = MessageSender & {
  send(message: Parameters<MessageSender['send']>[0], context?: { possiblyAttempted?: boolean; since?: Date }): Promise<ProviderAcceptance>;
};

export interface DeliveryReceipt extends ProviderAcceptance {
  channel: Channel;
  idempotencyKey: string;
  /** How a templated message was rendered (absent for plain content and for a key found settled). */
  rendering?: RenderingNote;
}

export interface DeliveryTarget {
  tenantId: TenantId;
  userId: UserId;
  source: DeliverySource;
  /** RECURRENCE-ID: the occurrence's nominal identity (never the deferred send time). */
  recurrenceId: string;
  occurrenceAt: Date;
  channel: Channel;
  /** Counted by per-category frequency caps. */
  category: string;
  /** The send was moved past `occurrenceAt` on purpose (quiet hours, a snooze): its lateness is policy, not delay. */
  deferred?: boolean;
}

/** Who it goes to and what it says, worked out after the claim (a settled key needs neither). */
export interface PreparedMessage extends Composed {
  to: string | undefined;
}

/** How an attempt ended. `failed` carries the typed error; `permanent` ones are recorded on the ledger as final. */
export type DeliveryResult =
  /** `alreadySent`: the key was found settled as sent; nothing was sent this time. */
  | { kind: 'sent'; receipt: DeliveryReceipt; alreadySent?: boolean }
  | { kind: 'failed'; type: string; message: string; permanent: boolean; retryAfterMs?: number; cause?: unknown }
  /** Another live attempt holds the key: try again later (it will be settled or freed). */
  | { kind: 'busy' };

export interface DeliverOptions {
  /** The contact point and the rendered message, read after the claim (a settled key needs neither). */
  prepare: () => Promise<PreparedMessage>;
  claimant?: Claimant;
  leaseMs: number;
  /** Called right before the provider call: throws to stop (a cancelled reminder). */
  beforeProviderCall?: () => void;
  /** How long to keep trying to record a provider's acceptance while the database is away. */
  settleRetryMs: number;
  /** Where the attempt's events are logged (an activity's logger carries its workflow and activity ids). */
  log?: DeliveryLog;
}

/** The few fields a delivery's log lines carry: ids only, never a contact point or a message. */
export interface DeliveryLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/**
 * Retries `write` while the database is away (transient storage errors only), with capped
 * exponential backoff and jitter, for at most `forMs`: used where the work before it (a provider
 * call) cannot be repeated safely, so the write must not give up at the first blip.
 */
async function retryWhileUnavailable<T>(write: () => Promise<T>, forMs: number): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const delay = Math.min(5_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (!isStorageError(error) || !error.transient || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export function createDeliverer({
  senders,
  ledger,
  metrics = NO_METRICS,
}: {
  senders: Partial<Record<Channel, MessageSender>>;
  ledger: Pick<Ledger, 'claim' | 'settle'>;
  metrics?: ChimeMetrics;
}) {
  return async function deliverOnce(target: DeliveryTarget, options: DeliverOptions): Promise<DeliveryResult> {
    const { tenantId, userId, source, recurrenceId, channel } = target;
    const idempotencyKey = deliveryIdempotencyKey({ tenantId, userId, occurrence: { ...source, recurrenceId }, channel });
    const fields = { tenantId, userId, ...source, recurrenceId, channel, idempotencyKey };
    let result: DeliveryResult;
    try {
      result = await attempt(target, options, idempotencyKey);
    } catch (error) {
      // Thrown (not returned) errors are retried by Temporal; their messages are already redacted.
      metrics.deliveryEnded(channel, 'retryable');
      options.log?.warn('delivery failed', { ...fields, outcome: 'retryable', errorType: error instanceof Error ? error.name : 'unknown' });
      throw error;
    }
    const outcome = outcomeOf(result);
    metrics.deliveryEnded(channel, outcome);
    if (result.kind === 'failed') options.log?.warn('delivery failed', { ...fields, outcome, errorType: result.type, permanent: result.permanent });
    else options.log?.info(outcome === 'busy' ? 'delivery busy' : 'delivery settled', { ...fields, outcome, ...(result.kind === 'sent' ? { providerMessageId: result.receipt.providerMessageId } : {}) });
    return result;
  };

  async function attempt(target: DeliveryTarget, options: DeliverOptions, idempotencyKey: string): Promise<DeliveryResult> {
    const { tenantId, userId, source, recurrenceId, channel } = target;
    const claim = await ledger.claim(
      { idempotencyKey, tenantId, userId, source, recurrenceId, occurrenceAt: target.occurrenceAt, channel, category: target.category },
      { leaseMs: options.leaseMs, ...(options.claimant ? { claimant: options.claimant } : {}) },
    );
    if (claim.kind === 'busy') return { kind: 'busy' };
    if (claim.kind === 'settled') {
      const { delivery } = claim;
      if (delivery.status === 'sent') {
        const acceptedAt = (delivery.settledAt ?? delivery.claimedAt).toISOString();
        return { kind: 'sent', alreadySent: true, receipt: { channel, idempotencyKey, provider: delivery.provider ?? 'unknown', providerMessageId: delivery.providerMessageId ?? '', acceptedAt } };
      }
      return { kind: 'failed', type: delivery.lastError?.type ?? ChimeErrorType.ProviderRejected, message: delivery.lastError?.message ?? 'delivery failed earlier', permanent: true };
    }
    const fence = { attempt: claim.delivery.attempts }; // a stale attempt's late settle changes nothing
    let accepted = false;
    const releaseClaim = metrics.claimTaken();
    try {
      options.beforeProviderCall?.();
      const sender = senders[channel] as RetryAwareSender | undefined;
      if (!sender) throw new DeliveryError(ChimeErrorType.NoContactPoint, `channel ${channel} is not configured`);
      const { to, message, rendering } = await options.prepare();
      if (!to) throw new DeliveryError(ChimeErrorType.NoContactPoint, `user has no ${channel} contact point`);
      // A second attempt at this key may follow an accepted-but-unanswered first one.
      const possibly = claim.delivery.attempts > 1 ? { possiblyAttempted: true, since: claim.delivery.createdAt } : undefined;
      const acceptance = await sender.send({ channel, to, ...message, idempotencyKey }, possibly);
      accepted = true;
      metrics.accepted(channel, (Date.now() - target.occurrenceAt.getTime()) / 1000, target.deferred === true);
      // The provider took it: this write must not give up at a database blip, or a retry would send again.
      await retryWhileUnavailable(
        () => ledger.settle(idempotencyKey, { status: 'sent', provider: acceptance.provider, providerMessageId: acceptance.providerMessageId }, fence),
        options.settleRetryMs,
      );
      return { kind: 'sent', receipt: { ...acceptance, channel, idempotencyKey, ...(rendering ? { rendering } : {}) } };
    } catch (error) {
      // Accepted but not recorded (the database stayed away): the claim stays open, and the retry
      // that takes it over checks the provider first where it can (see the README's duplicate windows).
      if (accepted) throw error;
      if (!(error instanceof DeliveryError)) {
        const message = error instanceof Error ? error.message : String(error);
        const redacted = redactContactPoints(message);
        await ledger.settle(idempotencyKey, { status: 'unknown', errorType: 'unknown', errorMessage: redacted }, fence);
        // What is thrown ends up in workflow history: never with a contact point in it.
        throw redacted === message ? error : new Error(redacted);
      }
      await ledger.settle(idempotencyKey, { status: error.permanent ? 'failed' : 'unknown', errorType: error.type, errorMessage: error.message }, fence);
      return {
        kind: 'failed',
        type: error.type,
        message: error.message,
        permanent: error.permanent,
        cause: error,
        ...(error.options.retryAfterMs !== undefined ? { retryAfterMs: error.options.retryAfterMs } : {}),
      };
    } finally {
      releaseClaim();
    }
  }
}

function outcomeOf(result: DeliveryResult): DeliveryOutcome {
  if (result.kind === 'busy') return 'busy';
  if (result.kind === 'failed') return result.permanent ? 'failed' : 'retryable';
  return result.alreadySent ? 'already_sent' : 'sent';
}
export type DeliverOnce = ReturnType<typeof createDeliverer>;
