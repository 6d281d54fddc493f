import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReminderId, ScheduleId, UserId } from '../../src/domain/ids.js';
import { StorageErrorType, guard, isStorageError, type StorageError } from '../../src/storage/errors.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { json } from '../../src/storage/schema.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, bob, otherTenant, reminderFor, seed, tenant } from './fixtures.js';

/** Resolves to the StorageError the operation failed with (fails the test if it succeeded). */
async function failure(operation: Promise<unknown>): Promise<StorageError> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStorageError(error)) throw new Error(`expected a StorageError, got ${String(error)}`);
  return error;
}

describe(`schema constraints (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  const delivery = (key: string, reminderId = 'r1') => ({
    idempotencyKey: key,
    tenantId: tenant,
    userId: alice,
    source: { reminderId: ReminderId(reminderId) },
    recurrenceId: '2026-03-02T09:00:00',
    occurrenceAt: new Date('2026-03-02T08:00:00Z'),
    channel: 'email' as const,
  });

  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  describe('uniqueness', () => {
    it('a delivery idempotency key exists once: a second insert of the key is a unique_violation', async () => {
      await stores.ledger.claim(delivery('dk_unique'));
      const row = {
        idempotency_key: 'dk_unique',
        tenant_id: tenant,
        user_id: alice,
        reminder_id: ReminderId('r1'),
        recurrence_id: 'x',
        occurrence_at: new Date(),
        channel: 'sms' as const,
        claimed_at: new Date(),
        lease_expires_at: new Date(),
      };
      const error = await failure(guard(() => t.db.insertInto('deliveries').values(row).execute()));
      expect(error).toMatchObject({ type: StorageErrorType.UniqueViolation, details: { constraint: 'deliveries_pkey' } });
      const count = await t.db.selectFrom('deliveries').select(sql<number>`count(*)::int`.as('n')).where('idempotency_key', '=', 'dk_unique').executeTakeFirstOrThrow();
      expect(count.n).toBe(1);
    });

    it('claiming a key that already names a different delivery is a unique_violation, not a silent reuse', async () => {
      await stores.ledger.claim(delivery('dk_reuse'));
      const error = await failure(stores.ledger.claim({ ...delivery('dk_reuse'), channel: 'sms' }));
      expect(error.type).toBe(StorageErrorType.UniqueViolation);
    });

    it('an HTTP idempotency key is unique per (tenant, scope, key) and independent across tenants and scopes', async () => {
      const row = (tenantId: typeof tenant, scope: string) => ({
        tenant_id: tenantId,
        scope,
        key: 'idem-1',
        fingerprint: 'f',
        status: 'in_flight' as const,
        created_at: new Date('2026-01-01T00:00:00Z'),
        locked_at: new Date('2026-01-01T00:00:00Z'),
        expires_at: new Date('2026-01-02T00:00:00Z'),
      });
      await t.db.insertInto('http_idempotency').values(row(tenant, 'key_a')).execute();
      await t.db.insertInto('http_idempotency').values(row(otherTenant, 'key_a')).execute();
      await t.db.insertInto('http_idempotency').values(row(tenant, 'key_b')).execute();
      const error = await failure(guard(() => t.db.insertInto('http_idempotency').values(row(tenant, 'key_a')).execute()));
      expect(error).toMatchObject({ type: StorageErrorType.UniqueViolation, details: { constraint: 'http_idempotency_tenant_scope_key_uq' } });
    });

    it('creating a user or reminder that exists is a unique_violation', async () => {
      expect((await failure(stores.users.create({ tenantId: tenant, id: alice }))).type).toBe(StorageErrorType.UniqueViolation);
      expect((await failure(stores.reminders.insert(reminderFor(alice, 'r1')))).type).toBe(StorageErrorType.UniqueViolation);
    });
  });

  describe('foreign keys', () => {
    it('a user needs an existing tenant', async () => {
      const error = await failure(stores.users.create({ tenantId: 'nope' as never, id: UserId('carol') }));
      expect(error.type).toBe(StorageErrorType.ForeignKeyViolation);
    });

    it('a reminder needs an existing user of the same tenant', async () => {
      expect((await failure(stores.reminders.insert(reminderFor(UserId('ghost'), 'r-ghost')))).type).toBe(StorageErrorType.ForeignKeyViolation);
      // alice exists in acme, not in globex
      expect((await failure(stores.reminders.insert({ ...reminderFor(alice, 'r-x'), tenantId: otherTenant }))).type).toBe(
        StorageErrorType.ForeignKeyViolation,
      );
    });

    it('a delivery or decision needs an existing reminder or schedule', async () => {
      expect((await failure(stores.ledger.claim(delivery('dk_fk', 'no-such-reminder')))).type).toBe(StorageErrorType.ForeignKeyViolation);
      const decision = await failure(
        stores.decisions.record({
          tenantId: tenant,
          userId: alice,
          source: { scheduleId: ScheduleId('no-such-schedule') },
          recurrenceId: '2026-03-02T09:00:00',
          occurrenceAt: new Date(),
          decidedAt: new Date(),
          kind: 'skipped',
          reason: 'opted_out',
        }),
      );
      expect(decision.type).toBe(StorageErrorType.ForeignKeyViolation);
    });

    it('history protects its parents: a user with reminders cannot be deleted', async () => {
      const error = await failure(guard(() => t.db.deleteFrom('users').where('tenant_id', '=', tenant).where('id', '=', alice).execute()));
      expect(error.type).toBe(StorageErrorType.ForeignKeyViolation);
      expect(await stores.users.get(tenant, alice)).toBeDefined();
    });
  });

  describe('bad data gets a typed error and leaves nothing behind', () => {
    it('an id outside the id alphabet is a check_violation', async () => {
      const error = await failure(stores.users.create({ tenantId: tenant, id: 'has space' as never }));
      expect(error).toMatchObject({ type: StorageErrorType.CheckViolation, details: { table: 'users' } });
    });

    it('an unknown channel, an empty channel list or a malformed DTSTART is a check_violation', async () => {
      for (const bad of [
        reminderFor(alice, 'bad-1', { channels: ['pigeon' as never] }),
        reminderFor(alice, 'bad-2', { channels: [] }),
        reminderFor(alice, 'bad-3', { recurrence: { dtstart: 'tomorrow at nine', tzid: 'Europe/Paris' } }),
        reminderFor(alice, 'bad-4', { recurrence: { rrule: 'FREQ=DAILY' } }),
      ]) {
        expect((await failure(stores.reminders.insert(bad))).type).toBe(StorageErrorType.CheckViolation);
      }
      const left = await t.db.selectFrom('reminders').select('id').where('id', 'like', 'bad-%' as ReminderId).execute();
      expect(left).toEqual([]);
    });

    it('a value of the wrong type is invalid_data', async () => {
      const error = await failure(guard(() => sql`select ${'not a date'}::timestamptz`.execute(t.db)));
      expect(error.type).toBe(StorageErrorType.InvalidData);
      const json = await failure(guard(() => t.db.updateTable('users').set({ preferences: '{not json' }).where('id', '=', bob).execute()));
      expect(json.type).toBe(StorageErrorType.InvalidData);
    });

    it('preferences that are not a JSON object are refused', async () => {
      const error = await failure(guard(() => t.db.updateTable('users').set({ preferences: json(['a']) }).where('id', '=', bob).execute()));
      expect(error.type).toBe(StorageErrorType.CheckViolation);
      expect((await stores.users.get(tenant, bob))?.preferences).toEqual({});
    });

    it('a failed multi-row write in a transaction leaves nothing behind', async () => {
      const attempt = t.db.transaction().execute(async (trx) => {
        const s = createStores(trx);
        await s.users.create({ tenantId: tenant, id: UserId('dave') });
        await s.reminders.insert(reminderFor(UserId('dave'), 'dave-1'));
        await s.reminders.insert(reminderFor(UserId('dave'), 'dave-2', { channels: ['pigeon' as never] }));
      });
      expect((await failure(attempt)).type).toBe(StorageErrorType.CheckViolation);
      expect(await stores.users.get(tenant, UserId('dave'))).toBeUndefined();
      expect(await stores.reminders.get(tenant, ReminderId('dave-1'))).toBeUndefined();
    });

    it('a multi-row insert with one invalid row stores none of them', async () => {
      const base = {
        tenantId: tenant,
        userId: alice,
        source: { reminderId: ReminderId('r1') },
        occurrenceAt: new Date('2026-03-05T08:00:00Z'),
        decidedAt: new Date('2026-03-05T08:00:01Z'),
      };
      const error = await failure(
        stores.decisions.recordMany([
          { ...base, recurrenceId: 'many-1', kind: 'sent' },
          { ...base, recurrenceId: 'many-2', kind: 'sent' },
          { ...base, recurrenceId: 'many-3', kind: 'deferred' }, // a deferral must say until when
        ]),
      );
      expect(error.type).toBe(StorageErrorType.CheckViolation);
      const rows = await t.db.selectFrom('occurrence_decisions').select('recurrence_id').where('recurrence_id', 'like', 'many-%').execute();
      expect(rows).toEqual([]);
    });

    it('a cursor the store did not issue is invalid_cursor', async () => {
      for (const cursor of ['garbage', Buffer.from('["decisions","2026-01-01T00:00:00.000Z","x"]').toString('base64url')]) {
        expect((await failure(stores.reminders.list(tenant, { limit: 10, cursor }))).type).toBe(StorageErrorType.InvalidCursor);
      }
    });
  });
});
