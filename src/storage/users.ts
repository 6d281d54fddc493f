/**
 * Users and their preferences. Preferences are one jsonb document with a `version`: every write
 * is `UPDATE … WHERE version = expected` (optimistic concurrency), so of two concurrent edits
 * made from the same version exactly one wins and the other gets StorageError `version_conflict`
 * — never a silently lost update. `modifyPreferences` re-reads and re-applies on conflict.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { TenantId, UserId } from '../domain/ids.js';
import type { AttributeValue } from '../domain/templates/index.js';
import { StorageError, StorageErrorType, guard, isStorageError } from './errors.js';
import { json, type Database, type UserPreferences, type UsersTable } from './schema.js';

export interface UserRecord {
  tenantId: TenantId;
  id: UserId;
  preferences: UserPreferences;
  tags: string[];
  attributes: Record<string, AttributeValue>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const toRecord = (row: Selectable<UsersTable>): UserRecord => ({
  tenantId: row.tenant_id,
  id: row.id,
  preferences: row.preferences,
  tags: row.tags,
  attributes: row.attributes ?? {},
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createUserStore(db: Kysely<Database>) {
  const find = async (tenantId: TenantId, id: UserId) =>
    db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();

  const store = {
    /** StorageError `unique_violation` if the user exists, `foreign_key_violation` if the tenant does not. */
    create: (user: { tenantId: TenantId; id: UserId; preferences?: UserPreferences }): Promise<UserRecord> =>
      guard(async () =>
        toRecord(
          await db
            .insertInto('users')
            .values({ tenant_id: user.tenantId, id: user.id, preferences: json(user.preferences ?? {}), updated_at: new Date() })
            .returningAll()
            .executeTakeFirstOrThrow(),
        ),
      ),

    /** The user, created with `preferences` (default: none) if missing; an existing one is left as it is. */
    ensure: (tenantId: TenantId, id: UserId, preferences: UserPreferences = {}): Promise<UserRecord> =>
      guard(async () => {
        // A new user comes back from the insert itself; only an existing one is read after it.
        const created = await db
          .insertInto('users')
          .values({ tenant_id: tenantId, id, preferences: json(preferences), updated_at: new Date() })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
          .returningAll()
          .executeTakeFirst();
        const row = created ?? (await find(tenantId, id));
        if (!row) throw new StorageError(StorageErrorType.NotFound, `user ${id} vanished while being created`);
        return toRecord(row);
      }),

    get: (tenantId: TenantId, id: UserId): Promise<UserRecord | undefined> =>
      guard(async () => {
        const row = await find(tenantId, id);
        return row && toRecord(row);
      }),

    /**
     * Replaces the preferences if the stored version is still `expectedVersion`; returns the new
     * record (version + 1). StorageError `version_conflict` if someone wrote in between,
     * `not_found` if there is no such user.
     */
    updatePreferences: (
      tenantId: TenantId,
      id: UserId,
      update: { expectedVersion: number; preferences: UserPreferences },
    ): Promise<UserRecord> =>
      guard(async () => {
        const row = await db
          .updateTable('users')
          .set({ preferences: json(update.preferences), version: sql<number>`version + 1`, updated_at: new Date() })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('version', '=', update.expectedVersion)
          .returningAll()
          .executeTakeFirst();
        if (row) return toRecord(row);
        const current = await find(tenantId, id);
        if (!current) throw new StorageError(StorageErrorType.NotFound, `no user ${id} in tenant ${tenantId}`);
        throw new StorageError(
          StorageErrorType.VersionConflict,
          `preferences of user ${id} are at version ${current.version}, not ${update.expectedVersion}`,
        );
      }),

    /** Several users at once: preferences, tags and attributes (users that do not exist are absent). */
    recipientsOfMany: (tenantId: TenantId, ids: readonly UserId[]): Promise<Map<UserId, Pick<UserRecord, 'preferences' | 'tags' | 'attributes'>>> =>
      guard(async () => {
        if (ids.length === 0) return new Map();
        const rows = await db.selectFrom('users').select(['id', 'preferences', 'tags', 'attributes']).where('tenant_id', '=', tenantId).where('id', 'in', [...ids]).execute();
        return new Map(rows.map((r) => [r.id, { preferences: r.preferences, tags: r.tags, attributes: r.attributes ?? {} }]));
      }),

    /** Replaces the user's tags (audience filters), creating the user if needed. */
    setTags: (tenantId: TenantId, id: UserId, tags: readonly string[]): Promise<UserRecord> =>
      guard(async () => {
        const row = await db
          .insertInto('users')
          .values({ tenant_id: tenantId, id, preferences: json({}), tags: [...tags], updated_at: new Date() })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet({ tags: [...tags], updated_at: new Date() }))
          .returningAll()
          .executeTakeFirstOrThrow();
        return toRecord(row);
      }),

    /** Replaces the user's attributes (what templates read), creating the user if needed. */
    setAttributes: (tenantId: TenantId, id: UserId, attributes: Readonly<Record<string, AttributeValue>>): Promise<UserRecord> =>
      guard(async () => {
        const row = await db
          .insertInto('users')
          .values({ tenant_id: tenantId, id, preferences: json({}), attributes: json(attributes), updated_at: new Date() })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet({ attributes: json(attributes), updated_at: new Date() }))
          .returningAll()
          .executeTakeFirstOrThrow();
        return toRecord(row);
      }),

    /**
     * Read-modify-write with optimistic retries: `change` gets the current preferences and returns
     * the new ones; on `version_conflict` it runs again on the fresh state (up to `maxAttempts`).
     */
    async modifyPreferences(
      tenantId: TenantId,
      id: UserId,
      change: (current: UserPreferences) => UserPreferences,
      { maxAttempts = 5 }: { maxAttempts?: number } = {},
    ): Promise<UserRecord> {
      for (let attempt = 1; ; attempt++) {
        const current = await store.get(tenantId, id);
        if (!current) throw new StorageError(StorageErrorType.NotFound, `no user ${id} in tenant ${tenantId}`);
        try {
          return await store.updatePreferences(tenantId, id, {
            expectedVersion: current.version,
            preferences: change(structuredClone(current.preferences)),
          });
        } catch (error) {
          if (!isStorageError(error, StorageErrorType.VersionConflict) || attempt >= maxAttempts) throw error;
        }
      }
    },

  };
  return store;
}
export type UserStore = ReturnType<typeof createUserStore>;

/**
 * Admits an SMS destination for a tenant: one it has set before always; a new one while fewer than
 * `perDay` new ones were set in the last 24 hours. Only the number's hash is stored.
 */
export function createSmsDestinationStore(db: Kysely<Database>) {
  return {
    admit: (tenantId: TenantId, destinationHash: string, perDay: number, now = new Date()): Promise<boolean> =>
      guard(async () => {
        const known = await db.selectFrom('sms_destinations').select('destination_hash').where('tenant_id', '=', tenantId).where('destination_hash', '=', destinationHash).executeTakeFirst();
        if (known) return true;
        const { n } = await db
          .selectFrom('sms_destinations')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('tenant_id', '=', tenantId)
          .where('first_set_at', '>', new Date(now.getTime() - 86_400_000))
          .executeTakeFirstOrThrow();
        if (n >= perDay) return false;
        await db.insertInto('sms_destinations').values({ tenant_id: tenantId, destination_hash: destinationHash, first_set_at: now }).onConflict((oc) => oc.doNothing()).execute();
        return true;
      }),
  };
}
