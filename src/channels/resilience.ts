/**
 * Circuit breaker + bulkhead around a MessageSender, so a dead provider does not tie up every
 * worker slot for a full timeout per delivery.
 *
 * - closed: calls pass; `failureThreshold` consecutive transient failures open the circuit.
 * - open: calls fail at once with a retryable ProviderUnavailable whose `retryAfterMs` is the
 *   remaining open time (Temporal's retry policy takes it from there; no retry loop here).
 * - half-open: after `openMs`, one trial call passes; success closes, a transient failure re-opens.
 * - bulkhead: at most `maxConcurrent` calls in flight; the rest wait up to `queueWaitMs` for a
 *   slot (first come, first served), then fail, also retryable. A burst of due messages then waits a
 *   few milliseconds in the worker instead of going back through Temporal's retry.
 *
 * Only transient failures count. A permanent error (invalid number, SMTP 5xx) proves the provider
 * is up and answering, so it counts as a success for the breaker.
 */
import { ChimeErrorType, DeliveryError } from '../domain/errors.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a trial call. */
  openMs: number;
  /** Calls allowed in flight at once (bulkhead). Default: unbounded. */
  maxConcurrent?: number;
  /** How long a call waits for a bulkhead slot before it is rejected. Default 0: rejected at once. */
  queueWaitMs?: number;
  /** How long a caller rejected by the bulkhead is told to wait. Default 1 000 ms. */
  bulkheadRetryAfterMs?: number;
  /** Observes state changes (log them: an open circuit is an operator-visible event). */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerStats {
  state: CircuitState;
  consecutiveFailures: number;
  inFlight: number;
}

export type GuardedSender<S extends MessageSender> = S & { breaker(): CircuitBreakerStats };

function isTransient(error: unknown): boolean {
  return !(error instanceof DeliveryError) || !error.permanent;
}

/**
 * Wraps `sender` (any extra methods and `send` arguments pass through unchanged). One breaker per
 * wrapped sender: wrap once per provider in the worker's composition root.
 */
export function withCircuitBreaker<S extends MessageSender>(sender: S, options: CircuitBreakerOptions): GuardedSender<S> {
  if (options.failureThreshold < 1) throw new RangeError('failureThreshold must be at least 1');
  const now = options.now ?? Date.now;
  const maxConcurrent = options.maxConcurrent ?? Number.POSITIVE_INFINITY;
  let state: CircuitState = 'closed';
  let consecutiveFailures = 0;
  let openedAt = 0;
  let trialInFlight = false;
  let inFlight = 0;
  /** Calls waiting for a slot, oldest first: a released slot passes straight to the next. */
  const waiting: Array<() => void> = [];
  const queueWaitMs = options.queueWaitMs ?? 0;

  function acquire(): Promise<boolean> | boolean {
    if (inFlight < maxConcurrent) {
      inFlight += 1;
      return true;
    }
    if (queueWaitMs <= 0) return false;
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(grant), 1);
        resolve(false);
      }, queueWaitMs);
      waiting.push(grant);
    });
  }

  function release() {
    const next = waiting.shift();
    if (next) next();
    else inFlight -= 1;
  }

  function moveTo(next: CircuitState) {
    if (next === state) return;
    const previous = state;
    state = next;
    options.onStateChange?.(next, previous);
  }

  function unavailable(message: string, retryAfterMs: number): DeliveryError {
    return new DeliveryError(ChimeErrorType.ProviderUnavailable, `${sender.channel} provider: ${message}`, {
      retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)),
    });
  }

  const send = async (message: OutboundMessage, ...rest: unknown[]): Promise<ProviderAcceptance> => {
    let trial = false;
    if (state === 'open') {
      const remaining = openedAt + options.openMs - now();
      if (remaining > 0) throw unavailable('circuit open after repeated failures', remaining);
      moveTo('half-open');
    }
    if (state === 'half-open') {
      if (trialInFlight) throw unavailable('circuit half-open, trial call in flight', options.openMs);
      trial = true;
      trialInFlight = true;
    }
    if (!(await acquire())) {
      if (trial) trialInFlight = false;
      throw unavailable(`bulkhead full (${maxConcurrent} calls in flight)`, options.bulkheadRetryAfterMs ?? 1_000);
    }
    if (!trial && state === 'open') {
      // Opened while this call waited for its slot.
      release();
      throw unavailable('circuit open after repeated failures', openedAt + options.openMs - now());
    }
    try {
      const result = await (sender.send as (m: OutboundMessage, ...r: unknown[]) => Promise<ProviderAcceptance>)(message, ...rest);
      consecutiveFailures = 0;
      moveTo('closed');
      return result;
    } catch (error) {
      if (isTransient(error)) {
        consecutiveFailures += 1;
        if (trial || consecutiveFailures >= options.failureThreshold) {
          openedAt = now();
          moveTo('open');
        }
      } else {
        consecutiveFailures = 0;
        moveTo('closed');
      }
      throw error;
    } finally {
      release();
      if (trial) trialInFlight = false;
    }
  };

  return {
    ...sender,
    send,
    breaker: () => ({ state, consecutiveFailures, inFlight }),
  } as GuardedSender<S>;
}
