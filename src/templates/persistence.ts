/** The template use cases' persistence port, implemented over the storage layer. */
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import { createTemplateStore } from '../storage/templates.js';
import { createTenantStore } from '../storage/tenants.js';
import type { TemplatePersistence } from './service.js';

export function createTemplatePersistence(db: Kysely<Database>): TemplatePersistence {
  const tenants = createTenantStore(db);
  const templates = createTemplateStore(db);
  return {
    async put(tenantId, id, content, description) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      return templates.put({ tenantId, id, content, description });
    },
    get: (tenantId, id) => templates.get(tenantId, id),
    delete: (tenantId, id) => templates.delete(tenantId, id),
    list: (tenantId, page) => templates.list(tenantId, page),
  };
}
