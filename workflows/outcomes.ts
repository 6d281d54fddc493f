/** Channel outcomes built inside workflow code. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ChannelOutcome } from '../src/domain/decisions.js';
import type { Channel } from '../src/domain/delivery.js';

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
