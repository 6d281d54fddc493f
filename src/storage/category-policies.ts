/**
 * Category policies: one row per tenant and category, replaced whole (PUT semantics). Read at
 * send time by the activities and by previews, so the two always see the same layer.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { PolicyOverrides } from '../domain/policy/index.js';
import type { TenantId } from '../domain/ids.js';
import { guard } from './errors.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import { json, type CategoryPoliciesTable, type Database } from './schema.js';

export interface CategoryPolicyRecord {
  tenantId: TenantId;
  category: string;
  policy: PolicyOverrides;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const LIST = 'category_policies';

const toRecord = (row: Selectable<CategoryPoliciesTable>): CategoryPolicyRecord => ({
  tenantId: row.tenant_id,
  category: row.category,
  policy: row.policy,
  description: row.description,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createCategoryPolicyStore(db: Kysely<Database>) {
  return {
    /** Creates or replaces the category's policy; `created` says which. StorageError `foreign_key_violation` without the tenant. */
    put: (row: { tenantId: TenantId; category: string; policy: PolicyOverrides; description?: string | null }): Promise<CategoryPolicyRecord & { created: boolean }> =>
      guard(async () => {
        const now = new Date();
        const written = await db
          .insertInto('category_policies')
          .values({ tenant_id: row.tenantId, category: row.category, policy: json(row.policy), description: row.description ?? null, created_at: now, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'category']).doUpdateSet({ policy: json(row.policy), description: row.description ?? null, updated_at: now }),
          )
          .returningAll()
          // xmax is 0 on a freshly inserted row version, set on one written by ON CONFLICT DO UPDATE.
          .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
          .executeTakeFirstOrThrow();
        return { ...toRecord(written), created: written.inserted };
      }),

    get: (tenantId: TenantId, category: string): Promise<CategoryPolicyRecord | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('category_policies').selectAll().where('tenant_id', '=', tenantId).where('category', '=', category).executeTakeFirst();
        return row && toRecord(row);
      }),

    /** True when there was a row to delete. */
    delete: (tenantId: TenantId, category: string): Promise<boolean> =>
      guard(async () => {
        const result = await db.deleteFrom('category_policies').where('tenant_id', '=', tenantId).where('category', '=', category).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),

    /** Newest first by creation, cursor-paginated like every list. */
    list: (tenantId: TenantId, page: PageRequest): Promise<Page<CategoryPolicyRecord>> =>
      guard(async () => {
        const limit = clampLimit(page.limit);
        let query = db.selectFrom('category_policies').selectAll().where('tenant_id', '=', tenantId);
        if (page.cursor !== undefined) query = query.where(afterCursor('created_at', 'category', decodeCursor(LIST, page.cursor)));
        const rows = await query.orderBy('created_at', 'desc').orderBy('category', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.created_at, id: r.category }), toRecord);
      }),
  };
}
export type CategoryPolicyStore = ReturnType<typeof createCategoryPolicyStore>;
