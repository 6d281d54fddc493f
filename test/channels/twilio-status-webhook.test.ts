/**
 * Twilio status callbacks: signature verification with Twilio's own scheme, one canonical status
 * enum, and ranking that keeps duplicates and out-of-order callbacks from moving a message back.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { twilioStatusRoutes } from '../../src/api/routes/twilio-status.js';
import {
  advancesSmsStatus,
  canonicalSmsStatus,
  mergeSmsStatus,
  SMS_STATUSES,
  type SmsStatus,
  type SmsStatusEvent,
} from '../../src/channels/sms-status.js';
import { createTwilioSmsSender } from '../../src/channels/sms-twilio.js';
import { signedStatusCallback, startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.js';

const PUBLIC_URL = 'https://chime.example.com/v1/webhooks/twilio/status';
const AUTH_TOKEN = 'f00dfacef00dfacef00dfacef00dface';
const SID = 'SM0123456789abcdef0123456789abcdef';

/** What the ledger will do with the port: keep the highest-ranked status per message. */
function inMemoryLedger() {
  const events: SmsStatusEvent[] = [];
  const statuses = new Map<string, SmsStatus>();
  return {
    events,
    statuses,
    onStatus: async (event: SmsStatusEvent) => {
      events.push(event);
      statuses.set(event.providerMessageId, mergeSmsStatus(statuses.get(event.providerMessageId), event.status));
    },
  };
}

let ledger: ReturnType<typeof inMemoryLedger>;
let app: FastifyInstance;

beforeEach(async () => {
  ledger = inMemoryLedger();
  app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(twilioStatusRoutes, {
    authToken: AUTH_TOKEN,
    publicUrl: PUBLIC_URL,
    onStatus: ledger.onStatus,
    now: () => new Date('2025-03-01T12:00:00Z'),
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

function callback(status: string, extra: Record<string, string> = {}, url = `${PUBLIC_URL}?chime_key=dk_abc`) {
  return signedStatusCallback({
    authToken: AUTH_TOKEN,
    url,
    params: { AccountSid: 'AC0123', MessageSid: SID, SmsSid: SID, MessageStatus: status, SmsStatus: status, ...extra },
  });
}

describe('POST /v1/webhooks/twilio/status', () => {
  it('accepts a correctly signed callback and hands the canonical event to the port', async () => {
    const response = await app.inject(callback('delivered'));
    expect(response.statusCode).toBe(204);
    expect(ledger.events).toEqual([
      { providerMessageId: SID, status: 'delivered', occurredAt: '2025-03-01T12:00:00.000Z', idempotencyKey: 'dk_abc' },
    ]);
  });

  it('passes the Twilio error code of an undelivered message', async () => {
    await app.inject(callback('undelivered', { ErrorCode: '30003' }));
    expect(ledger.events[0]).toMatchObject({ status: 'failed', errorCode: 30003 });
  });

  it('rejects an unsigned callback with 403 problem+json and records nothing', async () => {
    const request = callback('delivered');
    const response = await app.inject({ ...request, headers: { 'content-type': request.headers['content-type'] } });
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ type: 'urn:chime:problem:forbidden', status: 403 });
    expect(ledger.events).toHaveLength(0);
  });

  it('rejects a callback signed with another token with 403', async () => {
    const forged = signedStatusCallback({
      authToken: AUTH_TOKEN,
      signWith: 'not-the-token',
      url: PUBLIC_URL,
      params: { MessageSid: SID, MessageStatus: 'delivered' },
    });
    expect((await app.inject(forged)).statusCode).toBe(403);
    expect(ledger.events).toHaveLength(0);
  });

  it('rejects a signed callback whose parameters were altered in transit with 403', async () => {
    const genuine = callback('failed');
    const tampered = { ...genuine, payload: genuine.payload.replace('MessageStatus=failed', 'MessageStatus=delivered') };
    expect((await app.inject(tampered)).statusCode).toBe(403);
  });

  it('rejects a signed callback replayed against another idempotency key with 403', async () => {
    const genuine = callback('delivered');
    expect((await app.inject({ ...genuine, url: genuine.url.replace('dk_abc', 'dk_other') })).statusCode).toBe(403);
  });

  it('rejects a signed callback without a message SID with 400', async () => {
    const request = signedStatusCallback({ authToken: AUTH_TOKEN, url: PUBLIC_URL, params: { MessageStatus: 'sent' } });
    expect((await app.inject(request)).statusCode).toBe(400);
    expect(ledger.events).toHaveLength(0);
  });

  it('acknowledges and ignores a status Twilio may add in future', async () => {
    expect((await app.inject(callback('teleported'))).statusCode).toBe(204);
    expect(ledger.events).toHaveLength(0);
  });

  it('keeps delivered when a late sent arrives after it (out of order)', async () => {
    for (const status of ['queued', 'delivered', 'sent', 'sending']) {
      expect((await app.inject(callback(status))).statusCode).toBe(204);
    }
    expect(ledger.statuses.get(SID)).toBe('delivered');
  });

  it('treats a replayed callback as a no-op', async () => {
    const request = callback('sent');
    await app.inject(request);
    await app.inject(request);
    expect(ledger.events).toHaveLength(2);
    expect(ledger.events[0]).toEqual(ledger.events[1]);
    expect(ledger.statuses.get(SID)).toBe('sent');
  });

  it('lets a late delivered receipt win over an earlier undelivered', async () => {
    await app.inject(callback('undelivered', { ErrorCode: '30005' }));
    await app.inject(callback('delivered'));
    await app.inject(callback('failed'));
    expect(ledger.statuses.get(SID)).toBe('delivered');
  });
});

describe('status callbacks for a message sent through the adapter', () => {
  let fake: FakeTwilio;
  beforeAll(async () => {
    fake = await startFakeTwilio({ authToken: AUTH_TOKEN });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('verifies the callback Twilio sends to the URL the adapter gave it, key included', async () => {
    const sms = createTwilioSmsSender({
      accountSid: fake.accountSid,
      authToken: AUTH_TOKEN,
      from: '+15005550001',
      baseUrl: fake.url,
      timeoutMs: 2_000,
      statusCallbackUrl: PUBLIC_URL,
    });
    const acceptance = await sms.send({ channel: 'sms', to: '+15005550006', subject: '', text: 'hi', idempotencyKey: 'dk_e2e' });
    const response = await app.inject(signedStatusCallback({ authToken: AUTH_TOKEN, ...fake.advance(acceptance.providerMessageId, 'delivered') }));
    expect(response.statusCode).toBe(204);
    expect(ledger.events).toEqual([expect.objectContaining({ providerMessageId: acceptance.providerMessageId, status: 'delivered', idempotencyKey: 'dk_e2e' })]);
  });
});

describe('canonical SMS status', () => {
  it('maps every Twilio message status to one canonical status', () => {
    const mapping = Object.fromEntries(
      ['scheduled', 'accepted', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'canceled'].map((s) => [
        s,
        canonicalSmsStatus(s),
      ]),
    );
    expect(mapping).toEqual({
      scheduled: 'accepted',
      accepted: 'accepted',
      queued: 'accepted',
      sending: 'accepted',
      sent: 'sent',
      delivered: 'delivered',
      read: 'delivered',
      undelivered: 'failed',
      failed: 'failed',
      canceled: 'failed',
    });
    expect(canonicalSmsStatus('toString')).toBeUndefined();
  });

  it('merges in any order to the highest-ranked status seen', () => {
    const permutations = (xs: SmsStatus[]): SmsStatus[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    for (const order of permutations([...SMS_STATUSES])) {
      expect(order.reduce<SmsStatus | undefined>((current, s) => mergeSmsStatus(current, s), undefined)).toBe('delivered');
    }
    expect(advancesSmsStatus('delivered', 'sent')).toBe(false);
    expect(advancesSmsStatus('sent', 'sent')).toBe(false);
    expect(advancesSmsStatus(undefined, 'accepted')).toBe(true);
  });
});
