/**
 * API keys: only the SHA-256 of the secret is stored (see src/auth/api-keys.ts for the token
 * format). `findActive` is the lookup the auth plugin needs (its ApiKeyDirectory port).
 */
import type { Kysely, Selectable } from 'kysely';
import type { Principal } from '../domain/principal.js';
import type { TenantId, UserId } from '../domain/ids.js';
import { guard } from './errors.js';
import type { ApiKeyScope, ApiKeysTable, Database } from './schema.js';

export interface ApiKeyRecord {
  id: string;
  tenantId: TenantId;
  scope: ApiKeyScope;
  userId?: UserId;
  label?: string;
  createdAt: Date;
  revokedAt?: Date;
}

export type NewApiKeyRow =
  | { id: string; tenantId: TenantId; scope: 'admin'; secretHash: string; label?: string }
  | { id: string; tenantId: TenantId; scope: 'user'; userId: UserId; secretHash: string; label?: string };

const toRecord = (row: Selectable<ApiKeysTable>): ApiKeyRecord => {
  const record: ApiKeyRecord = { id: row.id, tenantId: row.tenant_id, scope: row.scope, createdAt: row.created_at };
  if (row.user_id !== null) record.userId = row.user_id;
  if (row.label !== null) record.label = row.label;
  if (row.revoked_at !== null) record.revokedAt = row.revoked_at;
  return record;
};

export function createApiKeyStore(db: Kysely<Database>) {
  return {
    /**
     * Stores a key. StorageError `check_violation` for a malformed id or hash,
     * `foreign_key_violation` for an unknown tenant or (user scope) user.
     */
    create: (key: NewApiKeyRow): Promise<ApiKeyRecord> =>
      guard(async () =>
        toRecord(
          await db
            .insertInto('api_keys')
            .values({
              id: key.id,
              tenant_id: key.tenantId,
              scope: key.scope,
              user_id: key.scope === 'user' ? key.userId : null,
              secret_hash: key.secretHash,
              label: key.label ?? null,
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        ),
      ),

    /** The principal and secret hash of an unrevoked key (ApiKeyDirectory port). */
    findActive: (keyId: string): Promise<{ principal: Principal; secretHash: string } | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst();
        if (!row) return undefined;
        const principal: Principal =
          row.scope === 'user' && row.user_id !== null
            ? { scope: 'user', tenantId: row.tenant_id, keyId: row.id, userId: row.user_id }
            : { scope: 'admin', tenantId: row.tenant_id, keyId: row.id };
        return { principal, secretHash: row.secret_hash };
      }),

    /** Revokes a key of the tenant; false if there is no such unrevoked key. */
    revoke: (tenantId: TenantId, keyId: string, now: Date = new Date()): Promise<boolean> =>
      guard(async () => {
        const result = await db
          .updateTable('api_keys')
          .set({ revoked_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', keyId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),

    /** The tenant's keys (never their hashes), oldest first. */
    list: (tenantId: TenantId): Promise<ApiKeyRecord[]> =>
      guard(async () =>
        (await db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute()).map(
          toRecord,
        ),
      ),
  };
}
export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
