/** What happened on one channel for one occurrence: recorded in the decision and shown to operators. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { Channel } from '../src/domain/delivery.js';

export type ChannelOutcome =
  | { channel: Channel; outcome: 'sent'; idempotencyKey: string; providerMessageId: string }
  | { channel: Channel; outcome: 'failed'; errorType: string; message: string }
  | { channel: Channel; outcome: 'skipped'; reason: string; explanation: string };

export const channelOutcome = {
  /** A delivery activity that failed for good: keep its failure type, never just a string. */
  failed(channel: Channel, error: unknown): ChannelOutcome {
    const cause = error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause : undefined;
    return {
      channel,
      outcome: 'failed',
      errorType: cause?.type ?? 'unknown',
      message: cause?.message ?? (error instanceof Error ? error.message : String(error)),
    };
  },
};
