/**
 * The preview: what will happen to the next occurrences under the user's preferences and the
 * policy as they are now. It runs the very `decide()` the workflow runs — at each occurrence's
 * instant, and again at the end of a deferral, exactly as the workflow would — so the two cannot
 * disagree.
 */
import type { Channel } from '../delivery.js';
import type { Preferences } from '../preferences/schema.js';
import { decide, overallOutcome, type ChannelDecision, type OverallOutcome } from './decide.js';
import type { DeliveryPolicy } from './policy.js';

export interface PreviewOccurrence {
  epochMs: number;
  utc: string;
  local: string;
  recurrenceId: string;
}

export interface PreviewItem {
  utc: string;
  local: string;
  outcome: OverallOutcome['outcome'];
  /** One line per change, for people: "email deferred to 07:00 Europe/Paris … by quiet hours". */
  explanation: string;
  channels: ChannelDecision[];
  /** When deferred: what is decided at the end of the deferral. */
  afterDeferral?: { at: string; outcome: OverallOutcome['outcome']; explanation: string; channels: ChannelDecision[] };
}

export function previewOccurrences(
  occurrences: readonly PreviewOccurrence[],
  context: { preferences: Preferences; policy: DeliveryPolicy; category: string; channels: readonly Channel[] },
): PreviewItem[] {
  return occurrences.map((o, i) => {
    const following = occurrences[i + 1];
    const at = (now: number) =>
      decide({
        occurrence: { scheduledFor: o.epochMs, recurrenceId: o.recurrenceId, category: context.category, channels: context.channels },
        preferences: context.preferences,
        policy: context.policy,
        now,
        pendingNewer: following !== undefined && following.epochMs <= now,
      });
    const first = at(o.epochMs);
    const summary = overallOutcome(first);
    const item: PreviewItem = { utc: o.utc, local: o.local, outcome: summary.outcome, explanation: summary.explanation, channels: first.channels };
    if (summary.outcome === 'deferred') {
      const then = at(summary.until);
      const later = overallOutcome(then);
      item.afterDeferral = {
        at: new Date(summary.until).toISOString(),
        outcome: later.outcome,
        explanation: later.explanation,
        channels: then.channels,
      };
    }
    return item;
  });
}
