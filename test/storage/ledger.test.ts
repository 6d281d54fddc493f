import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { ReminderId } from '../../src/domain/ids.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import type { ClaimRequest } from '../../src/storage/ledger.js';
import type { Stores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, seed, tenant } from './fixtures.js';

describe(`delivery ledger (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  let n = 0;
  const request = (channel: 'email' | 'sms' = 'email'): ClaimRequest => {
    const recurrenceId = `2026-03-${String(++n).padStart(2, '0')}T09:00:00`;
    return {
      idempotencyKey: deliveryIdempotencyKey({ tenantId: tenant, userId: alice, occurrence: { reminderId: 'r1', recurrenceId }, channel }),
      tenantId: tenant,
      userId: alice,
      source: { reminderId: ReminderId('r1') },
      recurrenceId,
      occurrenceAt: new Date(`${recurrenceId}Z`),
      channel,
    };
  };
  const t0 = new Date('2026-03-01T08:00:00Z');
  const later = (ms: number) => new Date(t0.getTime() + ms);

  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('claim then settle sent: the retry finds it settled with the stored provider id and must not send again', async () => {
    const req = request();
    const first = await stores.ledger.claim(req, { now: t0 });
    expect(first).toMatchObject({ kind: 'acquired', delivery: { status: 'claimed', attempts: 1, claimedAt: t0 } });

    const settled = await stores.ledger.settle(req.idempotencyKey, { status: 'sent', provider: 'smtp', providerMessageId: 'msg-1' }, { now: later(900) });
    expect(settled).toMatchObject({ applied: true, delivery: { status: 'sent', providerMessageId: 'msg-1', settledAt: later(900) } });

    const retry = await stores.ledger.claim(req, { now: later(5_000) });
    expect(retry).toMatchObject({ kind: 'settled', delivery: { status: 'sent', provider: 'smtp', providerMessageId: 'msg-1', attempts: 1 } });
  });

  it('of many workers racing to claim one key, exactly one acquires it and the others find it busy', async () => {
    const req = request('sms');
    const results = await Promise.all(Array.from({ length: 8 }, () => stores.ledger.claim(req, { now: t0 })));
    expect(results.filter((r) => r.kind === 'acquired')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'busy')).toHaveLength(7);
  });

  it('a claim whose lease ran out (worker crashed) is taken over as attempt 2; a live lease is not', async () => {
    const req = request();
    await stores.ledger.claim(req, { now: t0, leaseMs: 60_000 });
    expect((await stores.ledger.claim(req, { now: later(59_999), leaseMs: 60_000 })).kind).toBe('busy');
    const taken = await stores.ledger.claim(req, { now: later(60_000), leaseMs: 60_000 });
    expect(taken).toMatchObject({ kind: 'acquired', delivery: { attempts: 2, claimedAt: later(60_000), createdAt: t0 } });
  });

  it('a later attempt of the same claimant takes a live claim over at once (its earlier attempt is over); another claimant waits for the lease', async () => {
    const req = request();
    const activity = 'reminder/acme/alice/r1/run-1/7';
    await stores.ledger.claim(req, { now: t0, leaseMs: 120_000, claimant: { id: activity, attempt: 1 } });
    // Another activity (say, a second workflow run) finds the key busy while the lease lives.
    expect((await stores.ledger.claim(req, { now: later(20_000), leaseMs: 120_000, claimant: { id: 'other/run/1', attempt: 1 } })).kind).toBe('busy');
    // The same attempt retried by a confused caller does not take over either.
    expect((await stores.ledger.claim(req, { now: later(20_000), leaseMs: 120_000, claimant: { id: activity, attempt: 1 } })).kind).toBe('busy');
    // Attempt 2 of the same activity: Temporal started it because attempt 1 died (heartbeat timeout).
    const taken = await stores.ledger.claim(req, { now: later(21_000), leaseMs: 120_000, claimant: { id: activity, attempt: 2 } });
    expect(taken).toMatchObject({ kind: 'acquired', delivery: { attempts: 2, claimedAt: later(21_000) } });
    // The dead attempt's late "unknown" no longer settles the key: only the live claim does.
    await stores.ledger.settle(req.idempotencyKey, { status: 'unknown', errorType: 'timeout', errorMessage: 'late' }, { attempt: 1 });
    expect((await stores.ledger.get(req.idempotencyKey))?.status).toBe('claimed');
  });

  it('a transient failure (unknown) lets the retry claim again; a permanent failure is final', async () => {
    const transient = request();
    await stores.ledger.claim(transient, { now: t0 });
    await stores.ledger.settle(transient.idempotencyKey, { status: 'unknown', errorType: 'provider_unavailable', errorMessage: '503' }, { attempt: 1 });
    const again = await stores.ledger.claim(transient, { now: later(1000) });
    expect(again).toMatchObject({ kind: 'acquired', delivery: { attempts: 2, lastError: { type: 'provider_unavailable', message: '503' } } });

    const permanent = request('sms');
    await stores.ledger.claim(permanent, { now: t0 });
    const failed = await stores.ledger.settle(
      permanent.idempotencyKey,
      { status: 'failed', errorType: 'recipient_invalid', errorMessage: '21211 invalid number', provider: 'twilio' },
      { now: later(500), attempt: 1 },
    );
    expect(failed).toMatchObject({ applied: true, delivery: { status: 'failed', settledAt: later(500) } });
    expect(await stores.ledger.claim(permanent, { now: later(1000) })).toMatchObject({ kind: 'settled', delivery: { status: 'failed' } });
  });

  it('a late success from an attempt whose lease ran out is still recorded; its stale failure would not be', async () => {
    const req = request();
    await stores.ledger.claim(req, { now: t0, leaseMs: 1000 });
    await stores.ledger.claim(req, { now: later(2000), leaseMs: 1000 }); // attempt 2 takes over
    const stale = await stores.ledger.settle(req.idempotencyKey, { status: 'unknown', errorType: 'timeout', errorMessage: 'slow' }, { attempt: 1 });
    expect(stale.applied).toBe(false);
    const lateSuccess = await stores.ledger.settle(req.idempotencyKey, { status: 'sent', provider: 'smtp', providerMessageId: 'late-1' });
    expect(lateSuccess).toMatchObject({ applied: true, delivery: { status: 'sent', providerMessageId: 'late-1' } });
    const second = await stores.ledger.settle(req.idempotencyKey, { status: 'sent', provider: 'smtp', providerMessageId: 'late-2' });
    expect(second).toMatchObject({ applied: false, delivery: { providerMessageId: 'late-1' } });
  });

  it('provider status callbacks only move forward, and replays change nothing', async () => {
    const req = request('sms');
    await stores.ledger.claim(req, { now: t0 });
    await stores.ledger.settle(req.idempotencyKey, { status: 'sent', provider: 'twilio', providerMessageId: 'SM1' });
    const status = (s: string, rank: number) => ({ provider: 'twilio', providerMessageId: 'SM1', status: s, rank, at: later(rank * 1000) });
    expect((await stores.ledger.recordProviderStatus(status('sent', 1))).applied).toBe(true);
    expect((await stores.ledger.recordProviderStatus(status('delivered', 3))).applied).toBe(true);
    expect((await stores.ledger.recordProviderStatus(status('sent', 1))).applied).toBe(false);
    expect((await stores.ledger.recordProviderStatus(status('delivered', 3))).applied).toBe(false);
    expect((await stores.ledger.get(req.idempotencyKey))?.providerStatus).toMatchObject({ status: 'delivered', rank: 3 });
  });

  it('a status callback carrying the key settles a claim whose create response was lost', async () => {
    const req = request('sms');
    await stores.ledger.claim(req, { now: t0 });
    await stores.ledger.settle(req.idempotencyKey, { status: 'unknown', errorType: 'timeout', errorMessage: 'no response' });
    const result = await stores.ledger.recordProviderStatus({
      provider: 'twilio',
      providerMessageId: 'SM-lost',
      idempotencyKey: req.idempotencyKey,
      status: 'accepted',
      rank: 0,
      at: later(3000),
    });
    expect(result).toMatchObject({ applied: true, delivery: { status: 'sent', providerMessageId: 'SM-lost', settledAt: later(3000) } });
    expect((await stores.ledger.claim(req)).kind).toBe('settled');
  });

  it('settling an unknown key is not_found', async () => {
    await expect(stores.ledger.settle('dk_missing', { status: 'sent', provider: 'smtp', providerMessageId: 'x' })).rejects.toMatchObject({
      type: StorageErrorType.NotFound,
    });
  });

  it('lists a reminder’s deliveries newest first, in pages', async () => {
    const all = [];
    let cursor: string | undefined;
    do {
      const page = await stores.ledger.listForReminder(tenant, ReminderId('r1'), { limit: 3, cursor });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const keys = all.map((d) => d.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(await t.db.selectFrom('deliveries').select('idempotency_key').execute().then((r) => r.length));
  });
});

describe(`frequency-cap counts (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('counts sends and in-progress claims per user, channel and category since an instant; failures and older sends do not count', async () => {
    const day = (h: number) => new Date(Date.UTC(2026, 2, 1, h));
    const deliver = async (id: string, channel: 'email' | 'sms', category: string, at: Date, outcome: 'sent' | 'failed' | 'claimed') => {
      await stores.ledger.claim(
        {
          idempotencyKey: `dk_cap_${id}`,
          tenantId: tenant,
          userId: alice,
          source: { reminderId: ReminderId('r1') },
          recurrenceId: id,
          occurrenceAt: at,
          channel,
          category,
        },
        { now: at },
      );
      if (outcome === 'sent') await stores.ledger.settle(`dk_cap_${id}`, { status: 'sent', provider: 'p', providerMessageId: id }, { now: at });
      if (outcome === 'failed') await stores.ledger.settle(`dk_cap_${id}`, { status: 'failed', errorType: 'x', errorMessage: 'x' }, { now: at });
    };
    await deliver('a', 'sms', 'digest', day(1), 'sent'); // before the window
    await deliver('b', 'sms', 'digest', day(9), 'sent');
    await deliver('c', 'sms', 'digest', day(10), 'claimed');
    await deliver('d', 'sms', 'digest', day(11), 'failed');
    await deliver('e', 'sms', 'reminders', day(12), 'sent');
    await deliver('f', 'email', 'digest', day(12), 'sent');
    const count = (category?: string) =>
      stores.ledger.countSent({ tenantId: tenant, userId: alice, channel: 'sms', since: day(8), ...(category ? { category } : {}) });
    expect(await count('digest')).toBe(2);
    expect(await count()).toBe(3);
    expect((await stores.ledger.get('dk_cap_b'))?.category).toBe('digest');
  });
});
