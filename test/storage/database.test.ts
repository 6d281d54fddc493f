import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import { migrateToLatest, migrationStatus } from '../../src/storage/migrate.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { createStores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, seed, tenant } from './fixtures.js';

describe(`database lifecycle (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase();
  });
  afterAll(async () => t?.close());

  it('opens the target the environment names and answers a ping', async () => {
    expect(t.kind).toBe(testDatabaseKind());
    await expect(t.ping()).resolves.toBeUndefined();
  });

  it('applies every migration on open', async () => {
    expect(t.migrations.applied).toEqual(Object.keys(MIGRATIONS));
    const status = await migrationStatus(t.db as Kysely<unknown>);
    expect(status.map((m) => m.name)).toEqual(Object.keys(MIGRATIONS));
    expect(status.every((m) => m.executedAt instanceof Date)).toBe(true);
  });

  it('running the migrations again applies nothing and changes nothing', async () => {
    const tablesBefore = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public'`.execute(t.db);
    await expect(migrateToLatest(t.db as Kysely<unknown>)).resolves.toEqual({ applied: [] });
    await expect(migrateToLatest(t.db as Kysely<unknown>)).resolves.toEqual({ applied: [] });
    const tablesAfter = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public'`.execute(t.db);
    expect(tablesAfter.rows).toEqual(tablesBefore.rows);
  });

  it('keeps its data across close and reopen, and reopening migrates nothing', async () => {
    await seed(t.db);
    await createStores(t.db).users.updatePreferences(tenant, alice, { expectedVersion: 1, preferences: { locale: 'fr-FR' } });
    await t.disconnect();

    const reopened = await openDatabase(t.options);
    try {
      expect(reopened.migrations.applied).toEqual([]);
      const user = await createStores(reopened.db).users.get(tenant, alice);
      expect(user).toMatchObject({ version: 2, preferences: { locale: 'fr-FR' } });
      const reminder = await createStores(reopened.db).reminders.get(tenant, 'r1' as never);
      expect(reminder?.content.title).toBe('Stand-up');
    } finally {
      await reopened.close();
    }
    // Hand the suite a live connection again for the remaining tests and for close().
    t = { ...t, ...(await openDatabase(t.options)), close: t.close, disconnect: t.disconnect };
  });

  it.runIf(testDatabaseKind() === 'pglite')('refuses a second open of the same embedded directory while it is in use', async () => {
    await expect(openDatabase(t.options)).rejects.toMatchObject({ type: StorageErrorType.DatabaseLocked });
  });
});
