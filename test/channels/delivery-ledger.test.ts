/**
 * The deliver activity under faults, on real protocol peers (the real twilio SDK against a local
 * fake of Twilio's API, nodemailer against a real SMTP server) and a real database: whatever
 * happens, each idempotency key ends with exactly one provider-accepted message or a recorded
 * permanent failure.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities/index.js';
import { activityDependencies } from '../../src/entry/runtime.js';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { withCircuitBreaker } from '../../src/channels/resilience.js';
import { withCallTiming } from '../../src/channels/timed.js';
import type { MessageSender } from '../../src/domain/delivery.js';
import { createDeliveryMetrics, Registry } from '../../src/observability/metrics.js';
import { createTwilioSmsSender } from '../../src/channels/sms-twilio.js';
import { ChimeErrorType } from '../../src/domain/errors.js';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { ReminderId, TenantId, UserId } from '../../src/domain/ids.js';
import type { Stores } from '../../src/storage/index.js';
import type { TestDatabase } from '../support/database.js';
import { startDeliveryPeers, type DeliveryPeers } from '../support/delivery-peers.js';
import { twilioError, type FakeTwilio } from '../support/fake-twilio.js';
import type { TestSmtpServer } from '../support/smtp.js';

const tenantId = TenantId('acme');
const userId = UserId('nia');
let db: TestDatabase;
let stores: Stores;
let twilio: FakeTwilio;
let smtp: TestSmtpServer;
let peers: DeliveryPeers;
let seq = 0;

beforeAll(async () => {
  peers = await startDeliveryPeers({ tenantId, userId, email: 'nia@example.com', number: '+15005550006' });
  ({ db, stores, twilio, smtp } = peers);
});
afterAll(async () => peers?.close());
beforeEach(() => {
  twilio.defaultBehaviour = { kind: 'accept' };
});
afterEach(() => {
  twilio.accepted.length = 0;
});

const smsSender = () =>
  createTwilioSmsSender({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+15005550001', baseUrl: twilio.url, timeoutMs: 1_000 });

/** Activities as the worker builds them; `leaseMs` short so a "crashed" attempt's claim expires at once. */
function activities(senders: Parameters<typeof createActivities>[0]['senders'], leaseMs?: number) {
  return createActivities({
    ...activityDependencies(db.db, senders),
    ledger: {
      claim: (request) => stores.ledger.claim(request, leaseMs !== undefined ? { leaseMs } : {}),
      settle: stores.ledger.settle,
      countSent: stores.ledger.countSent,
    },
  });
}

/** A delivery request for a fresh reminder (the ledger references its reminder). */
async function request(channel: 'sms' | 'email') {
  seq++;
  const reminderId = ReminderId(`rem_faults_${seq}`);
  await peers.insertReminder(reminderId, [channel], { title: 'Pills', body: 'Take them' });
  const occurrence = { reminderId, recurrenceId: '2030-01-01T09:00:00Z', scheduledFor: '2030-01-01T09:00:00Z' };
  const key = deliveryIdempotencyKey({ tenantId, userId, occurrence, channel });
  return { req: { tenantId, userId, occurrence, channel, category: 'reminders', content: { title: 'Pills', body: 'Take them' } }, key };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('deliver: one accepted message per key under faults', () => {
  it('after a worker died between the provider accepting and the ledger settling, the retry finds the message and does not resend', async () => {
    const { req, key } = await request('sms');
    // The first attempt "dies" right after Twilio accepted: its settle never happens.
    const dying = createActivities({
      ...activityDependencies(db.db, { sms: smsSender() }),
      ledger: {
        claim: (r) => stores.ledger.claim(r, { leaseMs: 1 }),
        settle: async () => {
          throw new Error('worker killed');
        },
        countSent: stores.ledger.countSent,
      },
    });
    await expect(dying.deliver(req)).rejects.toThrow();
    expect(twilio.acceptedFor(key)).toHaveLength(1);

    const receipt = await activities({ sms: smsSender() }, 1).deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
    expect(receipt.providerMessageId).toBe(twilio.acceptedFor(key)[0]?.sid);
    expect(await stores.ledger.get(key)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('when the provider times out after accepting, the retry finds the accepted message instead of sending again', async () => {
    const { req, key } = await request('sms');
    twilio.enqueue({ kind: 'accept-then-stall' });
    const acts = activities({ sms: smsSender() }, 1);
    const first = await failureOf(acts.deliver(req));
    expect(first).toMatchObject({ type: ChimeErrorType.ProviderUnavailable, nonRetryable: false });
    expect(await stores.ledger.get(key)).toMatchObject({ status: 'unknown' });

    await acts.deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
    expect(await stores.ledger.get(key)).toMatchObject({ status: 'sent' });
  });

  it('retries transient errors (500, 429 with Retry-After) and sends exactly once when the provider recovers', async () => {
    const { req, key } = await request('sms');
    twilio.enqueue({ kind: 'server-error' }, { kind: 'rate-limit', retryAfter: '7' });
    const acts = activities({ sms: smsSender() }, 1);
    expect(await failureOf(acts.deliver(req))).toMatchObject({ type: ChimeErrorType.ProviderUnavailable, nonRetryable: false });
    const limited = await failureOf(acts.deliver(req));
    expect(limited).toMatchObject({ type: ChimeErrorType.ProviderUnavailable, nonRetryable: false });
    expect(limited.nextRetryDelay).toBe(7_000);
    await acts.deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
    expect(await stores.ledger.get(key)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('records a permanent error (21211 invalid number) once and never calls the provider again for that key', async () => {
    const { req, key } = await request('sms');
    twilio.enqueue(twilioError(21211));
    const acts = activities({ sms: smsSender() });
    expect(await failureOf(acts.deliver(req))).toMatchObject({ type: ChimeErrorType.RecipientInvalid, nonRetryable: true });
    const creates = twilio.requests.filter((r) => r.method === 'POST').length;
    expect(await failureOf(acts.deliver(req))).toMatchObject({ type: ChimeErrorType.RecipientInvalid, nonRetryable: true });
    expect(twilio.requests.filter((r) => r.method === 'POST').length).toBe(creates);
    expect(await stores.ledger.get(key)).toMatchObject({ status: 'failed', lastError: { type: ChimeErrorType.RecipientInvalid } });
  });

  it('fails fast while the provider is down (circuit open), then sends once when it is back', async () => {
    const { req, key } = await request('sms');
    let now = Date.now();
    const guarded = withCircuitBreaker(smsSender(), { failureThreshold: 2, openMs: 30_000, now: () => now });
    const acts = activities({ sms: guarded }, 1);
    twilio.defaultBehaviour = { kind: 'server-error', status: 503 };
    await failureOf(acts.deliver(req));
    await failureOf(acts.deliver(req));
    const requestsWhileOpen = twilio.requests.length;
    const open = await failureOf(acts.deliver(req));
    expect(open).toMatchObject({ type: ChimeErrorType.ProviderUnavailable, nonRetryable: false });
    expect(twilio.requests.length).toBe(requestsWhileOpen); // failed fast, the provider was not called
    twilio.defaultBehaviour = { kind: 'accept' };
    now += 31_000;
    await acts.deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
  });

  it('lets exactly one of two racing workers send the same occurrence', async () => {
    const { req, key } = await request('sms');
    twilio.defaultBehaviour = { kind: 'accept', latencyMs: 200 };
    const [a, b] = await Promise.allSettled([activities({ sms: smsSender() }).deliver(req), activities({ sms: smsSender() }).deliver(req)]);
    const outcomes = [a, b].map((r) => r.status);
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const loser = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toMatchObject({ type: 'delivery_in_progress', nonRetryable: false });
    // The loser's retry finds the key settled and returns the same receipt without sending.
    const retried = await activities({ sms: smsSender() }).deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
    expect(retried.providerMessageId).toBe(twilio.acceptedFor(key)[0]?.sid);
  });

  it('sends email with the key as Message-ID; an SMTP 5xx is a recorded permanent failure', async () => {
    const ok = await request('email');
    const email = createSmtpEmailSender({ url: smtp.url, from: 'chime@test.localhost' });
    await activities({ email }).deliver(ok.req);
    expect(smtp.received.filter((m) => m.headers['x-chime-idempotency-key'] === ok.key)).toHaveLength(1);

    const bad = await request('email');
    smtp.scriptFaults({ kind: 'reject-rcpt', code: 550 });
    expect(await failureOf(activities({ email }).deliver(bad.req))).toMatchObject({ nonRetryable: true });
    expect(await stores.ledger.get(bad.key)).toMatchObject({ status: 'failed' });
    await email.close?.();
  });

  it('counts what each attempt did: claims in flight while the provider works, then sent, already sent, failed, busy; and the breaker state', async () => {
    const registry = new Registry();
    const metrics = createDeliveryMetrics(registry, ['sms']);
    /** One series' value as a scrape shows it, e.g. `chime_deliveries_total{channel="sms",outcome="sent"}`. */
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const series = Object.keys(labels).length === 0 ? name : `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    let now = Date.now();
    // Composed as the worker's composition root composes it (createSenders): timing inside the breaker.
    const timed = withCallTiming(smsSender(), (seconds, outcome) => metrics.providerCall('sms', seconds, outcome));
    const guarded = withCircuitBreaker(timed, {
      failureThreshold: 1,
      openMs: 30_000,
      now: () => now,
      onStateChange: (state) => metrics.breakerChanged('sms', state),
    });
    const acts = (sender: MessageSender) => createActivities({ ...activityDependencies(db.db, { sms: sender }), metrics });

    // Held at the provider: one claim in flight until it answers.
    const { req, key } = await request('sms');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const latched: MessageSender = { channel: 'sms', send: async (message) => (entered(), await held, guarded.send(message)) };
    const sending = acts(latched).deliver(req);
    await inside;
    expect(await value('chime_ledger_claims_in_flight')).toBe(1);
    // Meanwhile a second worker finds the key claimed: busy.
    await failureOf(acts(guarded).deliver(req));
    expect(await value('chime_deliveries_total', { channel: 'sms', outcome: 'busy' })).toBe(1);
    release();
    await sending;
    expect(await value('chime_ledger_claims_in_flight')).toBe(0);
    expect(await value('chime_deliveries_total', { channel: 'sms', outcome: 'sent' })).toBe(1);
    expect(await value('chime_delivery_lateness_seconds_count', { channel: 'sms', deferred: 'false' })).toBe(1);
    expect(await value('chime_provider_request_duration_seconds_count', { channel: 'sms', outcome: 'accepted' })).toBe(1);

    // The same key again: found settled, not sent again.
    await acts(guarded).deliver(req);
    expect(twilio.acceptedFor(key)).toHaveLength(1);
    expect(await value('chime_deliveries_total', { channel: 'sms', outcome: 'already_sent' })).toBe(1);

    // A permanent error, then a provider outage that opens the breaker.
    twilio.enqueue(twilioError(21211));
    await failureOf(acts(guarded).deliver((await request('sms')).req));
    expect(await value('chime_deliveries_total', { channel: 'sms', outcome: 'failed' })).toBe(1);
    twilio.defaultBehaviour = { kind: 'server-error', status: 503 };
    await failureOf(acts(guarded).deliver((await request('sms')).req));
    expect(await value('chime_deliveries_total', { channel: 'sms', outcome: 'retryable' })).toBe(1);
    expect(await value('chime_circuit_breaker_state', { channel: 'sms', state: 'open' })).toBe(1);
    expect(await value('chime_circuit_breaker_state', { channel: 'sms', state: 'closed' })).toBe(0);
    twilio.defaultBehaviour = { kind: 'accept' };
    now += 31_000;
    await acts(guarded).deliver((await request('sms')).req);
    expect(await value('chime_circuit_breaker_state', { channel: 'sms', state: 'closed' })).toBe(1);
    expect(await value('chime_ledger_claims_in_flight')).toBe(0);
  });
});
