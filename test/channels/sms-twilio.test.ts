/**
 * The Twilio SMS adapter against a local fake of Twilio's Messages API, through the real `twilio`
 * SDK (its RequestClient, axios, RestException): classification of every fault, and the lookup
 * that narrows the duplicate window after an ambiguous timeout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../src/domain/delivery.js';
import { ChimeErrorType, DeliveryError } from '../../src/domain/errors.js';
import {
  classifyTwilioError,
  createTwilioSmsSender,
  idempotencyTag,
  parseRetryAfter,
  STATUS_CALLBACK_KEY_PARAM,
  type TwilioSmsOptions,
} from '../../src/channels/sms-twilio.js';
import { startFakeTwilio, twilioError, type FakeTwilio } from '../support/fake-twilio.js';

let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.accepted.length = 0;
  fake.requests.length = 0;
  fake.defaultBehaviour = { kind: 'accept' };
});

let seq = 0;
function sms(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  seq += 1;
  return {
    channel: 'sms',
    to: '+15005550006',
    subject: '',
    text: 'Stand-up in 10 minutes',
    idempotencyKey: `dk_sms_test_${seq}_${Date.now()}`,
    ...overrides,
  };
}

function sender(overrides: Partial<TwilioSmsOptions> = {}) {
  return createTwilioSmsSender({
    accountSid: fake.accountSid,
    authToken: fake.authToken,
    from: '+15005550001',
    baseUrl: fake.url,
    timeoutMs: 2_000,
    statusCallbackUrl: 'https://chime.example.com/v1/webhooks/twilio/status',
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe('Twilio SMS adapter', () => {
  it('sends one message with the key tag in the body and the key in the status callback URL', async () => {
    const message = sms();
    const acceptance = await sender().send(message);

    expect(fake.accepted).toHaveLength(1);
    const stored = fake.accepted[0]!;
    expect(acceptance).toEqual({ provider: 'twilio', providerMessageId: stored.sid, acceptedAt: expect.any(String) });
    expect(stored.to).toBe(message.to);
    expect(stored.from).toBe('+15005550001');
    expect(stored.body).toBe(`${message.text}\n${idempotencyTag(message.idempotencyKey)}`);
    expect(new URL(stored.statusCallback!).searchParams.get(STATUS_CALLBACK_KEY_PARAM)).toBe(message.idempotencyKey);
    expect(Math.abs(Date.parse(acceptance.acceptedAt) - stored.dateCreated.getTime())).toBeLessThan(1_000);
  });

  it('sends through a Messaging Service when configured instead of a From number', async () => {
    const acceptance = await sender({ from: undefined, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' }).send(sms());
    expect(fake.accepted[0]).toMatchObject({ sid: acceptance.providerMessageId, from: null, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' });
  });

  it('refuses a configuration with both or neither of from and messagingServiceSid', () => {
    expect(() => sender({ messagingServiceSid: 'MG1' })).toThrow(/exactly one/);
    expect(() => sender({ from: undefined })).toThrow(/exactly one/);
  });

  it.each([
    [21211, 'invalid number'],
    [21610, 'unsubscribed recipient'],
    [21614, 'number not SMS-capable'],
  ])('classifies Twilio %i (%s) as a permanent RecipientInvalid', async (code) => {
    fake.enqueue(twilioError(code));
    const error = await failure(sender().send(sms()));
    expect(error.type).toBe(ChimeErrorType.RecipientInvalid);
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(String(code));
    expect(fake.accepted).toHaveLength(0);
  });

  it('classifies other 4xx validation errors as a permanent ProviderRejected', async () => {
    fake.enqueue(twilioError(21606));
    const error = await failure(sender().send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderRejected);
    expect(error.permanent).toBe(true);
  });

  it('classifies 429 as a transient ProviderUnavailable carrying Retry-After in milliseconds', async () => {
    fake.enqueue({ kind: 'rate-limit', retryAfter: '7' });
    const error = await failure(sender().send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.permanent).toBe(false);
    expect(error.options.retryAfterMs).toBe(7_000);
    // exactly one request: the SDK's own 429 retry is off
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('classifies 500 as a transient ProviderUnavailable', async () => {
    fake.enqueue({ kind: 'server-error' });
    const error = await failure(sender().send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.permanent).toBe(false);
  });

  it('classifies a reset connection as a transient ProviderUnavailable', async () => {
    fake.enqueue({ kind: 'reset' });
    const error = await failure(sender().send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.permanent).toBe(false);
  });

  it('classifies a timeout as a transient ProviderUnavailable', async () => {
    fake.enqueue({ kind: 'accept-then-stall' });
    const error = await failure(sender({ timeoutMs: 300 }).send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.permanent).toBe(false);
  });

  it('classifies an unreachable API as a transient ProviderUnavailable', async () => {
    const error = await failure(sender({ baseUrl: 'http://127.0.0.1:1' }).send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
  });

  it('reports wrong credentials as retryable (an operator can fix them) rather than failing reminders for good', async () => {
    const error = await failure(sender({ authToken: 'wrong' }).send(sms()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.message).toContain('20003');
  });

  it('sends again when a transient error is followed by success, with exactly one accepted message', async () => {
    const message = sms();
    const s = sender();
    fake.enqueue({ kind: 'server-error' }, { kind: 'rate-limit', retryAfter: '1' });
    await failure(s.send(message));
    await failure(s.send(message));
    const acceptance = await s.send(message);
    expect(fake.acceptedFor(message.idempotencyKey).map((m) => m.sid)).toEqual([acceptance.providerMessageId]);
  });

  describe('after a timeout once the provider accepted', () => {
    it('finds the accepted message by key on retry and does not send a second one', async () => {
      const message = sms();
      const first = sender({ timeoutMs: 300 });
      fake.enqueue({ kind: 'accept-then-stall' });
      await failure(first.send(message));
      expect(fake.acceptedFor(message.idempotencyKey)).toHaveLength(1);

      // The retry lands on another worker (a fresh adapter): the ledger says "possibly attempted".
      const acceptance = await sender().send(message, { possiblyAttempted: true, since: new Date(Date.now() - 60_000) });
      expect(acceptance.providerMessageId).toBe(fake.acceptedFor(message.idempotencyKey)[0]!.sid);
      expect(fake.acceptedFor(message.idempotencyKey)).toHaveLength(1);
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('looks the key up by itself when the same adapter retries after an ambiguous timeout', async () => {
      const message = sms();
      const s = sender({ timeoutMs: 300 });
      fake.enqueue({ kind: 'accept-then-stall' });
      await failure(s.send(message));
      const acceptance = await s.send(message);
      expect(fake.acceptedFor(message.idempotencyKey).map((m) => m.sid)).toEqual([acceptance.providerMessageId]);
    });

    it('sends when the lookup finds nothing (the earlier attempt never reached Twilio)', async () => {
      const message = sms();
      const acceptance = await sender().send(message, { possiblyAttempted: true });
      expect(fake.acceptedFor(message.idempotencyKey).map((m) => m.sid)).toEqual([acceptance.providerMessageId]);
      expect(fake.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
    });

    it('does not resend blind when the lookup itself fails', async () => {
      const message = sms();
      fake.enqueueList({ kind: 'server-error' });
      const error = await failure(sender().send(message, { possiblyAttempted: true }));
      expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
      expect(fake.requests.map((r) => r.method)).toEqual(['GET']);
    });

    it('pages through the recipient’s recent messages to find the key', async () => {
      const s = sender();
      const target = sms({ to: '+15005550009' });
      await s.send(target);
      for (let i = 0; i < 60; i += 1) await s.send(sms({ to: '+15005550009' }));
      const found = await s.findByIdempotencyKey(target, new Date(Date.now() - 60_000));
      expect(found?.providerMessageId).toBe(fake.acceptedFor(target.idempotencyKey)[0]!.sid);
      expect(fake.requests.filter((r) => r.method === 'GET').length).toBe(2);
    });

    it('ignores messages older than the first attempt and other recipients', async () => {
      const s = sender();
      const message = sms();
      await s.send(message);
      expect(await s.findByIdempotencyKey(message, new Date(Date.now() + 3_600_000))).toBeUndefined();
      expect(await s.findByIdempotencyKey({ ...message, to: '+15005550007' }, new Date(0))).toBeUndefined();
    });
  });
});

describe('Twilio error classification', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2025-03-01T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('keeps the SDK error as the cause', () => {
    const cause = Object.assign(new Error("Invalid 'To' Phone Number"), { status: 400, code: 21211 });
    expect(classifyTwilioError(cause).options.cause).toBe(cause);
  });
});
