import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyDirectory } from '../../src/api/auth.js';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { ReminderId, TenantId } from '../../src/domain/ids.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import type { Stores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, bob, reminderFor, seed, tenant } from './fixtures.js';

describe(`occurrence decisions (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  const base = {
    tenantId: tenant,
    userId: alice,
    source: { reminderId: ReminderId('r1') },
    recurrenceId: '2026-03-02T23:00:00',
    occurrenceAt: new Date('2026-03-02T22:00:00Z'),
  };

  it('records a deferral then the send as sequence 0 and 1 of one occurrence, with reasons and channel details', async () => {
    await stores.decisions.record({
      ...base,
      decidedAt: new Date('2026-03-02T22:00:00Z'),
      kind: 'deferred',
      reason: 'quiet_hours',
      deferredUntil: new Date('2026-03-03T06:00:00Z'),
      channels: [{ channel: 'email', action: 'defer', explanation: 'deferred to 07:00 by quiet hours' }],
    });
    await stores.decisions.record({ ...base, sequence: 1, decidedAt: new Date('2026-03-03T06:00:00Z'), kind: 'sent' });
    const history = await stores.decisions.forOccurrence(tenant, ReminderId('r1'), base.recurrenceId);
    expect(history.map((d) => [d.sequence, d.kind, d.reason])).toEqual([
      [0, 'deferred', 'quiet_hours'],
      [1, 'sent', undefined],
    ]);
    expect(history[0]?.channels).toEqual([{ channel: 'email', action: 'defer', explanation: 'deferred to 07:00 by quiet hours' }]);
  });

  it('recording the same decision again (a retried activity) stores it once', async () => {
    const decision = { ...base, recurrenceId: '2026-03-04T23:00:00', decidedAt: new Date('2026-03-04T22:00:00Z'), kind: 'skipped' as const, reason: 'opted_out' };
    const first = await stores.decisions.record(decision);
    const again = await stores.decisions.record(decision);
    expect(first.inserted).toBe(true);
    expect(again).toEqual({ inserted: false, decision: first.decision });
  });

  it('records the decision that ends a series and completes its reminder in one statement, the decision once when retried', async () => {
    await stores.reminders.insert(reminderFor(alice, 'r-last'));
    const decision = { ...base, source: { reminderId: ReminderId('r-last') }, decidedAt: new Date('2026-03-02T22:00:01Z'), kind: 'sent' as const };
    await stores.decisions.recordWithStatus(decision, 'completed');
    await stores.decisions.recordWithStatus({ ...decision, decidedAt: new Date('2026-03-02T22:00:09Z') }, 'completed');
    const stored = await stores.decisions.forOccurrence(tenant, ReminderId('r-last'), base.recurrenceId);
    expect(stored.map((d) => [d.kind, d.decidedAt.toISOString()])).toEqual([['sent', '2026-03-02T22:00:01.000Z']]);
    expect(await stores.reminders.get(tenant, ReminderId('r-last'))).toMatchObject({ status: 'completed', version: 3 });
    await expect(stores.decisions.recordWithStatus({ ...decision, source: { reminderId: ReminderId('r-gone') } }, 'completed')).rejects.toMatchObject({
      type: StorageErrorType.ForeignKeyViolation,
    });
  });

  it('lists decisions newest first in pages', async () => {
    const page1 = await stores.decisions.listForReminder(tenant, ReminderId('r1'), { limit: 2 });
    expect(page1.items.map((d) => d.kind)).toEqual(['skipped', 'sent']);
    const page2 = await stores.decisions.listForReminder(tenant, ReminderId('r1'), { limit: 2, cursor: page1.nextCursor! });
    expect(page2.items.map((d) => d.kind)).toEqual(['deferred']);
    expect(page2.nextCursor).toBeNull();
  });
});

describe(`API keys (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('finds an active key by id as the auth plugin’s directory, with its principal and hash only', async () => {
    const directory: ApiKeyDirectory = stores.apiKeys;
    const admin = generateApiKey('admin');
    const user = generateApiKey('user');
    await stores.apiKeys.create({ id: admin.keyId, tenantId: tenant, scope: 'admin', secretHash: admin.secretHash, label: 'ops' });
    await stores.apiKeys.create({ id: user.keyId, tenantId: tenant, scope: 'user', userId: bob, secretHash: user.secretHash });
    expect(await directory.findActive(admin.keyId)).toEqual({
      principal: { scope: 'admin', tenantId: tenant, keyId: admin.keyId },
      secretHash: admin.secretHash,
    });
    expect(await directory.findActive(user.keyId)).toEqual({
      principal: { scope: 'user', tenantId: tenant, keyId: user.keyId, userId: bob },
      secretHash: user.secretHash,
    });
    expect(JSON.stringify(await stores.apiKeys.list(tenant))).not.toContain(admin.secretHash);
  });

  it('a revoked key is no longer found; revoking it again reports false', async () => {
    const key = generateApiKey('admin');
    await stores.apiKeys.create({ id: key.keyId, tenantId: tenant, scope: 'admin', secretHash: key.secretHash });
    expect(await stores.apiKeys.revoke(tenant, key.keyId)).toBe(true);
    expect(await stores.apiKeys.findActive(key.keyId)).toBeUndefined();
    expect(await stores.apiKeys.revoke(tenant, key.keyId)).toBe(false);
  });

  it('a user-scoped key needs an existing user of its tenant; a key of another tenant cannot be revoked from this one', async () => {
    const key = generateApiKey('user');
    await expect(
      stores.apiKeys.create({ id: key.keyId, tenantId: TenantId('globex'), scope: 'user', userId: alice, secretHash: key.secretHash }),
    ).rejects.toMatchObject({ type: StorageErrorType.ForeignKeyViolation });
    const admin = generateApiKey('admin');
    await stores.apiKeys.create({ id: admin.keyId, tenantId: TenantId('globex'), scope: 'admin', secretHash: admin.secretHash });
    expect(await stores.apiKeys.revoke(tenant, admin.keyId)).toBe(false);
  });

  it('a plaintext secret where the hash belongs is refused', async () => {
    await expect(
      stores.apiKeys.create({ id: 'abcdef0123456789', tenantId: tenant, scope: 'admin', secretHash: 'hunter2' }),
    ).rejects.toMatchObject({ type: StorageErrorType.CheckViolation });
  });
});
