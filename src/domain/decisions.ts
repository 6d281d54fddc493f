/**
 * What happened to an occurrence, as recorded by its reminder's workflow, stored in the decision
 * log and shown by the API: plain JSON, shared by workflows and activities.
 */
import type { Channel, OccurrenceRef } from './delivery.js';
import type { RenderFallback } from './templates/render.js';

/**
 * `blocked`: the workflow cannot plan (the rule, or the user's stored preferences, cannot be read as
 * valid); it waits for an edit or a preference change and then plans again.
 */
export type ReminderStatus = 'active' | 'paused' | 'blocked' | 'completed' | 'cancelled';

/** Why an occurrence that was already due ended without a send, besides the send-time policy's reasons. */
export type StopReason = 'paused' | 'cancelled' | 'rule_changed' | 'channel_removed';

/** How a templated message was rendered: the variant's locale, and why it is not exactly the template, if it is not. */
export interface RenderingNote {
  locale?: string;
  fallback?: RenderFallback;
}

/** What happened on one channel for one occurrence. */
export type ChannelOutcome =
  | { channel: Channel; outcome: 'sent'; idempotencyKey: string; providerMessageId: string; rendering?: RenderingNote }
  | { channel: Channel; outcome: 'failed'; errorType: string; message: string }
  | { channel: Channel; outcome: 'skipped'; reason: string; explanation: string }
  /** Stopped while the delivery was in flight: the ledger (`/deliveries`) says whether the provider took it. */
  | { channel: Channel; outcome: 'interrupted'; reason: StopReason; explanation: string };

export type OccurrenceDecision =
  | { kind: 'delivered'; occurrence: OccurrenceRef; decidedAt: string; deferredFrom?: string; channels: ChannelOutcome[] }
  | { kind: 'deferred'; occurrence: OccurrenceRef; decidedAt: string; until: string; explanation: string }
  /** `count`: the decision stands for that many occurrences, the last of which it names (a snooze's span). */
  | { kind: 'skipped'; occurrence: OccurrenceRef; decidedAt: string; reason: string; channels: ChannelOutcome[]; count?: number }
  | { kind: 'missed'; occurrence: OccurrenceRef; decidedAt: string; lateByMs: number; count: number };

/** A channel the provider took, with how its message was rendered when a template was used. */
export function sentOutcome(channel: Channel, receipt: { idempotencyKey: string; providerMessageId: string; rendering?: RenderingNote }): ChannelOutcome {
  return { channel, outcome: 'sent', idempotencyKey: receipt.idempotencyKey, providerMessageId: receipt.providerMessageId, ...(receipt.rendering ? { rendering: receipt.rendering } : {}) };
}

/** A channel whose provider refused it for good. */
export function failedOutcome(channel: Channel, errorType: string, message: string): ChannelOutcome {
  return { channel, outcome: 'failed', errorType, message };
}

/** A channel that ended without a send: the send-time policy's verdict, or why the occurrence stopped. */
export function skippedOutcome(skip: { channel: Channel; reason: string; explanation: string }): ChannelOutcome {
  return { channel: skip.channel, outcome: 'skipped', reason: skip.reason, explanation: skip.explanation };
}

/** How a delivery that reached its provider ended: sent, or refused for good. */
export type ReachedDelivery =
  | { kind: 'sent'; receipt: { idempotencyKey: string; providerMessageId: string; rendering?: RenderingNote } }
  | { kind: 'failed'; type: string; message: string };

/** The channel outcome of a delivery that reached its provider. */
export function reachedOutcome(channel: Channel, delivery: ReachedDelivery): ChannelOutcome {
  return delivery.kind === 'sent' ? sentOutcome(channel, delivery.receipt) : failedOutcome(channel, delivery.type, delivery.message);
}

/**
 * Why a send for `channel` must not start (or go on), if it must not: the reminder cancelled or
 * paused, or the channel removed from it. The workflow asks its own state; a one-step send the row
 * the API writes before it answers.
 */
export function stopFor(reminder: { status: ReminderStatus; channels: readonly Channel[] }, channel?: Channel): StopReason | undefined {
  if (reminder.status === 'cancelled') return 'cancelled';
  if (reminder.status === 'paused') return 'paused';
  if (channel && !reminder.channels.includes(channel)) return 'channel_removed';
  return undefined;
}

/** The reason a channel outcome gives a skipped decision. */
export function reasonOf(outcome: ChannelOutcome): string {
  return outcome.outcome === 'sent' ? 'sent' : outcome.outcome === 'failed' ? outcome.errorType : outcome.reason;
}

/**
 * The decision that ends a due occurrence with these channel outcomes: `delivered` when a channel
 * reached its provider (sent, or refused for good), `skipped` with the channels' reasons otherwise.
 */
export function occurrenceEnded(occurrence: OccurrenceRef, decidedAt: string, outcomes: ChannelOutcome[], deferredFrom?: string): OccurrenceDecision {
  const reached = outcomes.some((o) => o.outcome === 'sent' || o.outcome === 'failed');
  return reached
    ? { kind: 'delivered', occurrence, decidedAt, channels: outcomes, ...(deferredFrom !== undefined ? { deferredFrom } : {}) }
    : { kind: 'skipped', occurrence, decidedAt, reason: [...new Set(outcomes.map(reasonOf))].join(', ') || 'no_channel', channels: outcomes };
}
