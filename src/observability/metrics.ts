/**
 * Prometheus metrics (prom-client): the worker's delivery and decision metrics behind the
 * ChimeMetrics port, the API's request metrics, and each process's Node.js metrics. Names follow
 * Prometheus conventions: `chime_` prefix, base units (seconds), `_total` on counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Channel } from '../domain/delivery.js';
import type { BreakerState, ChimeMetrics, DeliveryOutcome } from '../domain/metrics.js';

export { Registry };
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** A registry with the process's own metrics (CPU, memory, event-loop lag, GC) in it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

export function createDeliveryMetrics(registry: Registry, channels: readonly Channel[]): ChimeMetrics {
  const deliveries = new Counter({
    name: 'chime_deliveries_total',
    help: 'Delivery attempts by channel and how they ended (sent, already_sent, failed, retryable, busy)',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: 'chime_delivery_lateness_seconds',
    help: 'From the occurrence\'s scheduled instant to provider acceptance; deferred="true" when quiet hours or a snooze moved the send on purpose',
    labelNames: ['channel', 'deferred'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1_800, 3_600, 4 * 3_600, 12 * 3_600],
    registers: [registry],
  });
  const providerCalls = new Histogram({
    name: 'chime_provider_request_duration_seconds',
    help: 'One call to a channel\'s provider (SMTP, Twilio, the file sink), by how it ended',
    labelNames: ['channel', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const claims = new Gauge({
    name: 'chime_ledger_claims_in_flight',
    help: 'Delivery ledger claims taken and not yet settled in this process',
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'chime_decisions_total',
    help: 'Occurrence decisions recorded, by kind (delivered, deferred, skipped, missed) and reason',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  });
  const breaker = new Gauge({
    name: 'chime_circuit_breaker_state',
    help: 'Each provider\'s circuit breaker: 1 for its current state, 0 for the others',
    labelNames: ['channel', 'state'],
    registers: [registry],
  });
  const breakerChanged = (channel: Channel, state: BreakerState) => {
    for (const s of BREAKER_STATES) breaker.set({ channel, state: s }, s === state ? 1 : 0);
  };
  // Every series exists from the start: an alert on `== 1` or on a rate needs no "absent" case.
  for (const channel of channels) {
    breakerChanged(channel, 'closed');
    for (const outcome of ['sent', 'already_sent', 'failed', 'retryable', 'busy'] satisfies DeliveryOutcome[]) deliveries.inc({ channel, outcome }, 0);
  }
  claims.set(0);
  return {
    deliveryEnded: (channel, outcome) => deliveries.inc({ channel, outcome }),
    accepted: (channel, seconds, deferred) => lateness.observe({ channel, deferred: String(deferred) }, Math.max(0, seconds)),
    providerCall: (channel, seconds, outcome) => providerCalls.observe({ channel, outcome }, seconds),
    claimTaken: () => {
      claims.inc();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        claims.dec();
      };
    },
    decided: (kind, reason) => decisions.inc({ kind, reason }),
    breakerChanged,
  };
}

/** The API's request metrics: one histogram by route template (never the raw URL, whose ids would explode the series). */
export function createHttpMetrics(registry: Registry) {
  const requests = new Histogram({
    name: 'chime_http_request_duration_seconds',
    help: 'HTTP requests to the API by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    observe: (labels: { method: string; route: string; status_code: number }, seconds: number) =>
      requests.observe({ ...labels, status_code: String(labels.status_code) }, seconds),
  };
}
