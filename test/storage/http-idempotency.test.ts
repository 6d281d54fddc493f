import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpIdempotencyStore } from '../../src/storage/http-idempotency.js';
import type { Stores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { otherTenant, seed, tenant } from './fixtures.js';

describe(`HTTP idempotency records (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  const t0 = new Date('2026-03-01T12:00:00Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  const DAY = 24 * 60 * 60_000;
  const response = { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"r9"}' };

  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('same key: first starts, a concurrent duplicate is in_flight, after completion the same request replays the stored response', async () => {
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-1' };
    const begin = () => stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-1', expiresAt: at(DAY), now: t0 });
    expect(await begin()).toEqual({ kind: 'started' });
    expect(await begin()).toEqual({ kind: 'in_flight' });
    expect(await stores.httpIdempotency.complete({ ...ref, response, now: at(10) })).toBe(true);
    expect(await begin()).toEqual({ kind: 'replay', response });
  });

  it('same key with a different request is a mismatch, whether in flight or completed', async () => {
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-2' };
    await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-1', expiresAt: at(DAY), now: t0 });
    expect(await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-2', expiresAt: at(DAY), now: t0 })).toEqual({ kind: 'mismatch' });
    await stores.httpIdempotency.complete({ ...ref, response });
    expect(await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-2', expiresAt: at(DAY), now: t0 })).toEqual({ kind: 'mismatch' });
  });

  it('many concurrent requests with one key: exactly one starts', async () => {
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-race' };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: t0 })),
    );
    expect(results.filter((r) => r.kind === 'started')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'in_flight')).toHaveLength(9);
  });

  it('keys are scoped: the same key under another API key or tenant is a separate request', async () => {
    const begin = (tenantId: typeof tenant, scope: string) =>
      stores.httpIdempotency.begin({ tenantId, scope, key: 'k-shared', fingerprint: 'fp', expiresAt: at(DAY), now: t0 });
    expect(await begin(tenant, 'key_a')).toEqual({ kind: 'started' });
    expect(await begin(tenant, 'key_b')).toEqual({ kind: 'started' });
    expect(await begin(otherTenant, 'key_a')).toEqual({ kind: 'started' });
  });

  it('release forgets an in-flight request so the retry runs again', async () => {
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-3' };
    await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: t0 });
    expect(await stores.httpIdempotency.release(ref)).toBe(true);
    expect(await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: t0 })).toEqual({ kind: 'started' });
  });

  it('an expired record is replaced by a new request, even a different one', async () => {
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-4' };
    await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-old', expiresAt: at(DAY), now: t0 });
    await stores.httpIdempotency.complete({ ...ref, response });
    expect(await stores.httpIdempotency.begin({ ...ref, fingerprint: 'fp-new', expiresAt: at(2 * DAY), now: at(DAY) })).toEqual({ kind: 'started' });
  });

  it('an in-flight record whose process died (lock older than the timeout) can be taken over by the same request only', async () => {
    const store = createHttpIdempotencyStore(t.db, { lockTimeoutMs: 60_000 });
    const ref = { tenantId: tenant, scope: 'key_a', key: 'k-5' };
    await store.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: t0 });
    expect(await store.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: at(59_000) })).toEqual({ kind: 'in_flight' });
    expect(await store.begin({ ...ref, fingerprint: 'other', expiresAt: at(DAY), now: at(61_000) })).toEqual({ kind: 'mismatch' });
    expect(await store.begin({ ...ref, fingerprint: 'fp', expiresAt: at(DAY), now: at(61_000) })).toEqual({ kind: 'started' });
  });

  it('purgeExpired deletes exactly the records past their expiry', async () => {
    const ref = { tenantId: tenant, scope: 'purge', key: '' };
    for (let i = 0; i < 5; i++) {
      await stores.httpIdempotency.begin({ ...ref, key: `p-${i}`, fingerprint: 'fp', expiresAt: at((i + 1) * 1000), now: t0 });
    }
    expect(await stores.httpIdempotency.purgeExpired(at(3000), { batchSize: 2 })).toBe(3);
    const left = await t.db.selectFrom('http_idempotency').select('key').where('scope', '=', 'purge').orderBy('key').execute();
    expect(left.map((r) => r.key)).toEqual(['p-3', 'p-4']);
  });
});
