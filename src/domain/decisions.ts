/**
 * What happened to an occurrence, as recorded by its reminder's workflow, stored in the decision
 * log and shown by the API: plain JSON, shared by workflows and activities.
 */
import type { Channel, OccurrenceRef } from './delivery.js';

export type ReminderStatus = 'active' | 'paused' | 'completed' | 'cancelled';

/** What happened on one channel for one occurrence. */
export type ChannelOutcome =
  | { channel: Channel; outcome: 'sent'; idempotencyKey: string; providerMessageId: string }
  | { channel: Channel; outcome: 'failed'; errorType: string; message: string }
  | { channel: Channel; outcome: 'skipped'; reason: string; explanation: string };

export type OccurrenceDecision =
  | { kind: 'delivered'; occurrence: OccurrenceRef; decidedAt: string; deferredFrom?: string; channels: ChannelOutcome[] }
  | { kind: 'deferred'; occurrence: OccurrenceRef; decidedAt: string; until: string; explanation: string }
  | { kind: 'skipped'; occurrence: OccurrenceRef; decidedAt: string; reason: string; channels: ChannelOutcome[] }
  | { kind: 'missed'; occurrence: OccurrenceRef; decidedAt: string; lateByMs: number; count: number };
