/**
 * The PGlite dialect's prepared statements (src/storage/pglite-dialect.ts): every query and DML
 * statement runs as a named prepared statement, planned once PostgreSQL settles on a generic plan.
 * What a caller relies on: the rows are those of the parameters given, whatever ran before; a table
 * changed by DDL is read as it is now; errors keep their meaning; past the bound on kept statements
 * nothing changes but memory.
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageErrorType } from '../../src/storage/errors.js';
import { createStores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, seed, tenant } from './fixtures.js';

describe.runIf(testDatabaseKind() === 'pglite')('PGlite dialect: prepared statements', () => {
  let t: TestDatabase;
  let db: Kysely<Record<string, Record<string, unknown>>>;
  beforeAll(async () => {
    t = await openTestDatabase();
    db = t.db as unknown as typeof db;
    await seed(t.db);
  });
  afterAll(async () => t?.close());

  const prepared = async () => (await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(db)).rows[0]!.n;

  it('answers each run with the rows of its own parameters, before and after the plan is cached', async () => {
    await db.schema.createTable('notes').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('body', 'text').execute();
    await db.insertInto('notes').values(Array.from({ length: 40 }, (_, i) => ({ id: i, body: i % 7 === 0 ? null : `note ${i}` }))).execute();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 40; i++) {
        const row = await db.selectFrom('notes').selectAll().where('id', '=', i).executeTakeFirst();
        expect(row).toEqual({ id: i, body: i % 7 === 0 ? null : `note ${i}` });
      }
    }
    expect(await db.selectFrom('notes').selectAll().where('id', '=', 99).executeTakeFirst()).toBeUndefined();
    // Prepared, and by now planned once for all runs.
    const [statement] = (
      await sql<{ generic_plans: number }>`select generic_plans::int from pg_prepared_statements where statement like 'select * from "notes" where "id" = $1%'`.execute(db)
    ).rows;
    expect(statement?.generic_plans).toBeGreaterThan(0);
    const updated = await db.updateTable('notes').set({ body: null }).where('id', '<', 5).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(5n);
  });

  it('reads a table as it is after DDL changed it, not as a cached `select *` was planned', async () => {
    const before = await db.selectFrom('notes').selectAll().where('id', '=', 10).executeTakeFirstOrThrow();
    expect(Object.keys(before)).toEqual(['id', 'body']);
    await db.schema.alterTable('notes').addColumn('pinned', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
    const after = await db.selectFrom('notes').selectAll().where('id', '=', 10).executeTakeFirstOrThrow();
    expect(after).toEqual({ id: 10, body: 'note 10', pinned: false });
  });

  it('reads a table as it is after a rollback undid the DDL a cached statement was planned under', async () => {
    await db.schema.createTable('drafts').addColumn('id', 'integer', (c) => c.primaryKey()).execute();
    await db.insertInto('drafts').values({ id: 1 }).execute();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.schema.alterTable('drafts').addColumn('title', 'text').execute();
        expect(await trx.selectFrom('drafts').selectAll().execute()).toEqual([{ id: 1, title: null }]);
        throw new Error('changed our mind');
      }),
    ).rejects.toThrow('changed our mind');
    expect(await db.selectFrom('drafts').selectAll().execute()).toEqual([{ id: 1 }]);
  });

  it('keeps at most 256 statements and still answers those it closed', async () => {
    for (let i = 0; i < 300; i++) {
      const { rows } = await sql<{ n: number }>`select ${sql.lit(i)}::int + ${i}::int as n`.execute(db);
      expect(rows).toEqual([{ n: 2 * i }]);
    }
    expect(await prepared()).toBeLessThanOrEqual(256);
    const { rows } = await sql<{ n: number }>`select ${sql.lit(0)}::int + ${5}::int as n`.execute(db);
    expect(rows).toEqual([{ n: 5 }]);
  });

  it('keeps the meaning of errors, and a transaction rolled back after one leaves every statement usable', async () => {
    const stores = createStores(t.db);
    await expect(stores.users.create({ tenantId: tenant, id: alice })).rejects.toMatchObject({ type: StorageErrorType.UniqueViolation });
    await expect(
      t.db.transaction().execute(async (trx) => {
        await createStores(trx).users.get(tenant, alice);
        await createStores(trx).users.create({ tenantId: tenant, id: alice });
      }),
    ).rejects.toMatchObject({ type: StorageErrorType.UniqueViolation });
    expect(await stores.users.get(tenant, alice)).toMatchObject({ id: alice, version: 1 });
    await expect(sql`select nonsense from nowhere`.execute(db)).rejects.toMatchObject({ code: '42P01' });
    expect(await db.selectFrom('notes').select('id').where('id', '=', 1).executeTakeFirst()).toEqual({ id: 1 });
  });
});
