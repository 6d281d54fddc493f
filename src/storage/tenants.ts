/** Tenants: the isolation boundary. Every other row belongs to exactly one. */
import type { Kysely, Selectable } from 'kysely';
import type { TenantId } from '../domain/ids.js';
import { guard } from './errors.js';
import type { Database, TenantsTable } from './schema.js';

export interface TenantRecord {
  id: TenantId;
  name: string;
  createdAt: Date;
}

const toRecord = (row: Selectable<TenantsTable>): TenantRecord => ({ id: row.id, name: row.name, createdAt: row.created_at });

export function createTenantStore(db: Kysely<Database>) {
  return {
    /** Creates a tenant; StorageError `unique_violation` when the id is taken. */
    create: (tenant: { id: TenantId; name: string }): Promise<TenantRecord> =>
      guard(async () => toRecord(await db.insertInto('tenants').values(tenant).returningAll().executeTakeFirstOrThrow())),

    /** Creates the tenant unless it exists (the embedded stack's default tenant, fixtures). One statement: it runs before every write that names a tenant. */
    ensure: (tenant: { id: TenantId; name: string }): Promise<void> =>
      guard(async () => {
        await db.insertInto('tenants').values(tenant).onConflict((oc) => oc.column('id').doNothing()).execute();
      }),

    get: (id: TenantId): Promise<TenantRecord | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
        return row && toRecord(row);
      }),
  };
}
export type TenantStore = ReturnType<typeof createTenantStore>;
