/** Channel outcomes built inside workflow code, and how activity failures read there. */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { failedOutcome, skippedOutcome, type ChannelOutcome, type StopReason } from '../src/domain/decisions.js';
import type { Channel } from '../src/domain/delivery.js';

export const channelOutcome = {
  /** A delivery activity that failed for good: keep its failure type, never just a string. */
  failed(channel: Channel, error: unknown): ChannelOutcome {
    // An activity's failure wraps the ApplicationFailure; a local activity's may be it.
    const cause = error instanceof ApplicationFailure ? error : error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause : undefined;
    return failedOutcome(channel, cause?.type ?? 'unknown', cause?.message ?? (error instanceof Error ? error.message : String(error)));
  },
  /** A channel not sent because the occurrence stopped before its turn. */
  stopped: (channel: Channel, reason: StopReason): ChannelOutcome => skippedOutcome({ channel, reason, explanation: stopExplanation(reason) }),
};

/** Out of time: the attempt timed out, or the retry policy stopped because the next attempt would start too late. */
export const isTimeout = (error: unknown) =>
  error instanceof ActivityFailure && (error.cause instanceof TimeoutFailure || error.retryState === RetryState.TIMEOUT);

export function stopExplanation(reason: StopReason): string {
  switch (reason) {
    case 'paused':
      return 'the reminder was paused';
    case 'cancelled':
      return 'the reminder was cancelled';
    case 'rule_changed':
      return 'the rule was edited: this occurrence belonged to the old one';
    case 'channel_removed':
      return 'the channel was removed from the reminder';
  }
}
