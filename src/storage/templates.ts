/**
 * Message templates: one row per tenant and id, replaced whole (PUT semantics), read at send time
 * by the activities and by previews, so both render the same version.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { TenantId } from '../domain/ids.js';
import type { TemplateContent } from '../domain/templates/index.js';
import { guard } from './errors.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import { json, type Database, type TemplatesTable } from './schema.js';

export interface TemplateRecord {
  tenantId: TenantId;
  id: string;
  content: TemplateContent;
  description: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const LIST = 'templates';

const toRecord = (row: Selectable<TemplatesTable>): TemplateRecord => ({
  tenantId: row.tenant_id,
  id: row.id,
  content: row.content,
  description: row.description,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createTemplateStore(db: Kysely<Database>) {
  return {
    /** Creates or replaces the template (its version grows); `created` says which. */
    put: (row: { tenantId: TenantId; id: string; content: TemplateContent; description?: string | null }): Promise<TemplateRecord & { created: boolean }> =>
      guard(async () => {
        const now = new Date();
        const written = await db
          .insertInto('templates')
          .values({ tenant_id: row.tenantId, id: row.id, content: json(row.content), description: row.description ?? null, created_at: now, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'id']).doUpdateSet({ content: json(row.content), description: row.description ?? null, version: sql`templates.version + 1`, updated_at: now }),
          )
          .returningAll()
          // xmax is 0 on a freshly inserted row version, set on one written by ON CONFLICT DO UPDATE.
          .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
          .executeTakeFirstOrThrow();
        return { ...toRecord(written), created: written.inserted };
      }),

    get: (tenantId: TenantId, id: string): Promise<TemplateRecord | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('templates').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        return row && toRecord(row);
      }),

    /** True when there was a row to delete. */
    delete: (tenantId: TenantId, id: string): Promise<boolean> =>
      guard(async () => {
        const result = await db.deleteFrom('templates').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),

    /** Newest first by creation, cursor-paginated like every list. */
    list: (tenantId: TenantId, page: PageRequest): Promise<Page<TemplateRecord>> =>
      guard(async () => {
        const limit = clampLimit(page.limit);
        let query = db.selectFrom('templates').selectAll().where('tenant_id', '=', tenantId);
        if (page.cursor !== undefined) query = query.where(afterCursor('created_at', 'id', decodeCursor(LIST, page.cursor)));
        const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.created_at, id: r.id }), toRecord);
      }),
  };
}
export type TemplateStore = ReturnType<typeof createTemplateStore>;
