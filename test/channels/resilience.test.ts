/**
 * Circuit breaker and bulkhead around a sender. The breaker's clock is injected, so open → half-open
 * needs no sleeping; the "provider down for a while, then back" case runs against the fake Twilio.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withCircuitBreaker, type CircuitState } from '../../src/channels/resilience.js';
import { createTwilioSmsSender } from '../../src/channels/sms-twilio.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../../src/domain/delivery.js';
import { ChimeErrorType, DeliveryError } from '../../src/domain/errors.js';
import { startFakeTwilio, twilioError, type FakeTwilio } from '../support/fake-twilio.js';

const message: OutboundMessage = { channel: 'sms', to: '+15005550006', subject: '', text: 'hi', idempotencyKey: 'dk_breaker' };
const ok: ProviderAcceptance = { provider: 'stub', providerMessageId: 'p1', acceptedAt: '2025-03-01T12:00:00.000Z' };
const transient = () => new DeliveryError(ChimeErrorType.ProviderUnavailable, '503');
const permanent = () => new DeliveryError(ChimeErrorType.RecipientInvalid, '21211');

/** A sender whose outcomes the test scripts, counting calls that reached it. */
function scripted(outcomes: (() => Promise<ProviderAcceptance>)[]) {
  let calls = 0;
  const sender: MessageSender = {
    channel: 'sms',
    send: () => {
      calls += 1;
      const next = outcomes.shift();
      return next ? next() : Promise.resolve(ok);
    },
  };
  return { sender, calls: () => calls };
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe('circuit breaker', () => {
  it('opens after N consecutive transient failures and then fails fast without calling the provider', async () => {
    let now = 1_000_000;
    const provider = scripted([() => Promise.reject(transient()), () => Promise.reject(transient()), () => Promise.reject(transient())]);
    const guarded = withCircuitBreaker(provider.sender, { failureThreshold: 3, openMs: 30_000, now: () => now });
    for (let i = 0; i < 3; i += 1) await failure(guarded.send(message));
    expect(guarded.breaker().state).toBe('open');

    now += 10_000;
    const fast = await failure(guarded.send(message));
    expect(fast.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(fast.permanent).toBe(false);
    expect(fast.options.retryAfterMs).toBe(20_000);
    expect(provider.calls()).toBe(3);
  });

  it('half-opens after openMs, lets one trial through, and closes when it succeeds', async () => {
    let now = 0;
    const changes: [CircuitState, CircuitState][] = [];
    let releaseTrial!: () => void;
    const provider = scripted([
      () => Promise.reject(transient()),
      () => new Promise<ProviderAcceptance>((resolve) => (releaseTrial = () => resolve(ok))),
    ]);
    const guarded = withCircuitBreaker(provider.sender, {
      failureThreshold: 1,
      openMs: 5_000,
      now: () => now,
      onStateChange: (state, previous) => changes.push([previous, state]),
    });
    await failure(guarded.send(message));
    now += 5_000;
    const trial = guarded.send(message);
    expect(guarded.breaker().state).toBe('half-open');
    const concurrent = await failure(guarded.send(message));
    expect(concurrent.type).toBe(ChimeErrorType.ProviderUnavailable);
    releaseTrial();
    await expect(trial).resolves.toEqual(ok);
    expect(guarded.breaker().state).toBe('closed');
    await guarded.send(message);
    expect(provider.calls()).toBe(3);
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('re-opens for another openMs when the half-open trial fails', async () => {
    let now = 0;
    const provider = scripted([() => Promise.reject(transient()), () => Promise.reject(transient())]);
    const guarded = withCircuitBreaker(provider.sender, { failureThreshold: 1, openMs: 5_000, now: () => now });
    await failure(guarded.send(message));
    now += 5_000;
    await failure(guarded.send(message));
    expect(guarded.breaker().state).toBe('open');
    now += 1_000;
    expect((await failure(guarded.send(message))).options.retryAfterMs).toBe(4_000);
    expect(provider.calls()).toBe(2);
  });

  it('does not count permanent errors: a provider that answers "invalid number" is up', async () => {
    const provider = scripted([
      () => Promise.reject(transient()),
      () => Promise.reject(permanent()),
      () => Promise.reject(transient()),
      () => Promise.reject(permanent()),
    ]);
    const guarded = withCircuitBreaker(provider.sender, { failureThreshold: 2, openMs: 5_000 });
    for (let i = 0; i < 4; i += 1) await failure(guarded.send(message));
    expect(guarded.breaker()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('passes the permanent error through unchanged', async () => {
    const error = permanent();
    const guarded = withCircuitBreaker(scripted([() => Promise.reject(error)]).sender, { failureThreshold: 1, openMs: 1 });
    await expect(guarded.send(message)).rejects.toBe(error);
  });
});

describe('bulkhead', () => {
  it('fails calls beyond maxConcurrent fast and retryable, without touching the provider', async () => {
    const releases: (() => void)[] = [];
    const provider = scripted(
      Array.from({ length: 2 }, () => () => new Promise<ProviderAcceptance>((resolve) => releases.push(() => resolve(ok)))),
    );
    const guarded = withCircuitBreaker(provider.sender, { failureThreshold: 5, openMs: 1_000, maxConcurrent: 2, bulkheadRetryAfterMs: 250 });
    const inFlight = [guarded.send(message), guarded.send(message)];
    const rejected = await failure(guarded.send(message));
    expect(rejected.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(rejected.options.retryAfterMs).toBe(250);
    expect(guarded.breaker().inFlight).toBe(2);
    for (const release of releases) release();
    await Promise.all(inFlight);
    await guarded.send(message);
    expect(provider.calls()).toBe(3);
  });

  it('lets a call wait up to queueWaitMs for a slot, first come first served, then turns it back retryable', async () => {
    vi.useFakeTimers();
    try {
      const releases: (() => void)[] = [];
      const order: string[] = [];
      const sender: MessageSender = {
        channel: 'sms',
        send: (m) => {
          order.push(m.idempotencyKey);
          return new Promise<ProviderAcceptance>((resolve) => releases.push(() => resolve(ok)));
        },
      };
      const guarded = withCircuitBreaker(sender, { failureThreshold: 5, openMs: 1_000, maxConcurrent: 1, queueWaitMs: 100 });
      const send = (key: string) => guarded.send({ ...message, idempotencyKey: key });
      const first = send('a');
      const second = send('b'); // waits for a's slot
      const third = failure(send('c')); // waits behind b
      await vi.advanceTimersByTimeAsync(50);
      expect(order).toEqual(['a']);
      releases.shift()!(); // a done: its slot goes to b, never to a newcomer
      await first;
      await vi.advanceTimersByTimeAsync(0);
      expect(order).toEqual(['a', 'b']);
      expect(guarded.breaker().inFlight).toBe(1);
      await vi.advanceTimersByTimeAsync(60); // c has waited 110 ms: turned back
      const rejected = await third;
      expect(rejected.type).toBe(ChimeErrorType.ProviderUnavailable);
      expect(rejected.permanent).toBe(false);
      releases.shift()!();
      await second;
      expect(guarded.breaker().inFlight).toBe(0);
      expect(order).toEqual(['a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('provider down for a while, then back (fake Twilio)', () => {
  let fake: FakeTwilio;
  beforeAll(async () => {
    fake = await startFakeTwilio();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('stops calling Twilio while it is down, then delivers exactly one message per key once it is back', async () => {
    let now = 0;
    const sms = createTwilioSmsSender({ accountSid: fake.accountSid, authToken: fake.authToken, from: '+15005550001', baseUrl: fake.url, timeoutMs: 2_000 });
    const guarded = withCircuitBreaker(sms, { failureThreshold: 3, openMs: 60_000, now: () => now });
    fake.defaultBehaviour = { kind: 'server-error', status: 503 };

    const keys = Array.from({ length: 10 }, (_, i) => `dk_outage_${i}`);
    for (const key of keys) {
      const error = await failure(guarded.send({ ...message, idempotencyKey: key }));
      expect(error.permanent).toBe(false);
    }
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(3);

    fake.defaultBehaviour = { kind: 'accept' };
    now += 60_000;
    // Temporal retries each delivery; the first through is the half-open trial.
    for (const key of keys) await guarded.send({ ...message, idempotencyKey: key }, { possiblyAttempted: true });
    for (const key of keys) expect(fake.acceptedFor(key)).toHaveLength(1);
    expect(guarded.breaker().state).toBe('closed');
  });

  it('keeps passing the SMS-specific send context and lookup through the wrapper', async () => {
    const sms = createTwilioSmsSender({ accountSid: fake.accountSid, authToken: fake.authToken, from: '+15005550001', baseUrl: fake.url, timeoutMs: 2_000 });
    const guarded = withCircuitBreaker(sms, { failureThreshold: 3, openMs: 1_000 });
    fake.enqueue(twilioError(21211));
    expect((await failure(guarded.send({ ...message, idempotencyKey: 'dk_passthrough' }))).type).toBe(ChimeErrorType.RecipientInvalid);
    expect(await guarded.findByIdempotencyKey({ to: message.to, idempotencyKey: 'dk_passthrough' }, new Date(0))).toBeUndefined();
  });
});
