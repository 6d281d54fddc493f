/**
 * Port: what the worker counts while it delivers and decides. The Prometheus adapter
 * (src/observability/metrics.ts) implements it; tests and tools that need no metrics use NO_METRICS.
 */
import type { Channel } from './delivery.js';

/** How one delivery attempt ended, as the ledger sees it. */
export type DeliveryOutcome =
  /** The provider accepted it. */
  | 'sent'
  /** The key was found settled as sent: nothing was sent again. */
  | 'already_sent'
  /** A permanent failure: recorded, never retried. */
  | 'failed'
  /** A transient failure (or the key was settled failed earlier): Temporal retries or the decision records it. */
  | 'retryable'
  /** Another live attempt holds the key. */
  | 'busy';

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface ChimeMetrics {
  deliveryEnded(channel: Channel, outcome: DeliveryOutcome): void;
  /** A provider accepted a message `latenessSeconds` after the occurrence's scheduled instant. */
  accepted(channel: Channel, latenessSeconds: number, deferred: boolean): void;
  /** One provider call, from the request to its answer. */
  providerCall(channel: Channel, seconds: number, outcome: 'accepted' | 'error'): void;
  /** A ledger claim was taken; the returned function releases it from the in-flight count. */
  claimTaken(): () => void;
  decided(kind: string, reason: string): void;
  breakerChanged(channel: Channel, state: BreakerState): void;
}

const nothing = () => {};
export const NO_METRICS: ChimeMetrics = {
  deliveryEnded: nothing,
  accepted: nothing,
  providerCall: nothing,
  claimTaken: () => nothing,
  decided: nothing,
  breakerChanged: nothing,
};
