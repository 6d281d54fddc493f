import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserId } from '../../src/domain/ids.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import { createStores, type Stores, type UserPreferences } from '../../src/storage/index.js';
import { openDatabase, type OpenedDatabase } from '../../src/storage/database.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, bob, seed, tenant } from './fixtures.js';

describe(`users and preferences (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('reads preferences back as written, with version 1 on creation', async () => {
    const user = await stores.users.get(tenant, alice);
    expect(user).toMatchObject({
      tenantId: tenant,
      id: alice,
      version: 1,
      preferences: { timeZone: 'Europe/Paris', contacts: { email: { address: 'alice@example.test', verified: true } } },
    });
  });

  it('of two concurrent writers from the same version one wins and the other gets version_conflict; nothing is lost', async () => {
    const base = await stores.users.ensure(tenant, bob);
    const writes = await Promise.allSettled([
      stores.users.updatePreferences(tenant, bob, { expectedVersion: base.version, preferences: { ...base.preferences, locale: 'de-DE' } }),
      stores.users.updatePreferences(tenant, bob, { expectedVersion: base.version, preferences: { ...base.preferences, timeZone: 'Asia/Tokyo' } }),
    ]);
    const won = writes.filter((w) => w.status === 'fulfilled');
    const lost = writes.filter((w) => w.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ type: StorageErrorType.VersionConflict });

    // The stored document is exactly the winner's, at version + 1.
    const stored = await stores.users.get(tenant, bob);
    expect(stored?.version).toBe(base.version + 1);
    expect(stored?.preferences).toEqual((won[0] as PromiseFulfilledResult<{ preferences: unknown }>).value.preferences);

    // The loser re-reads and re-applies its change on top: both edits survive.
    const loserChange = stored?.preferences.locale === 'de-DE' ? { timeZone: 'Asia/Tokyo' } : { locale: 'de-DE' };
    const retried = await stores.users.updatePreferences(tenant, bob, {
      expectedVersion: stored!.version,
      preferences: { ...stored!.preferences, ...loserChange },
    });
    expect(retried.preferences).toMatchObject({ locale: 'de-DE', timeZone: 'Asia/Tokyo' });
    expect(retried.version).toBe(base.version + 2);
  });

  it('two writers on separate connections: each write lands once, none is lost (modifyPreferences retries on conflict)', async () => {
    // A second, independent connection to the same database (a second pool on PostgreSQL; on
    // PGlite, the same single-process database is shared through its one connection).
    const second: OpenedDatabase | undefined = t.kind === 'postgres' ? await openDatabase({ ...t.options, migrate: false }) : undefined;
    const other = createStores(second?.db ?? t.db);
    try {
      const carol = UserId('carol');
      await stores.users.create({ tenantId: tenant, id: carol, preferences: { optOuts: {} } });
      const optOut = (category: string) => (p: UserPreferences) => ({ ...p, optOuts: { ...p.optOuts, [category]: 'all' as const } });
      const categories = ['digest', 'marketing', 'billing', 'news', 'tips', 'surveys'];
      await Promise.all(
        categories.map((c, i) => (i % 2 === 0 ? stores : other).users.modifyPreferences(tenant, carol, optOut(c), { maxAttempts: 20 })),
      );
      const stored = await stores.users.get(tenant, carol);
      expect(Object.keys(stored?.preferences.optOuts ?? {}).sort()).toEqual([...categories].sort());
      expect(stored?.version).toBe(1 + categories.length);
    } finally {
      await second?.close();
    }
  });

  it('updating the preferences of a missing user is not_found, not a conflict', async () => {
    await expect(stores.users.updatePreferences(tenant, UserId('nobody'), { expectedVersion: 1, preferences: {} })).rejects.toMatchObject({
      type: StorageErrorType.NotFound,
    });
  });

  it('ensure creates a missing user once and returns the existing one afterwards', async () => {
    const first = await stores.users.ensure(tenant, UserId('erin'));
    const again = await stores.users.ensure(tenant, UserId('erin'));
    expect(again).toEqual(first);
    expect(first.preferences).toEqual({});
  });

  it('ensure creates a missing user with the preferences given, and leaves an existing one as it is', async () => {
    const email = { address: 'fay@example.com', verified: true };
    const created = await stores.users.ensure(tenant, UserId('fay'), { contacts: { email } });
    expect(created).toMatchObject({ version: 1, preferences: { contacts: { email } } });
    const again = await stores.users.ensure(tenant, UserId('fay'), { contacts: { email: { address: 'other@example.com', verified: false } } });
    expect(again).toEqual(created);
  });
});
