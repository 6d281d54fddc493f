/** The category use cases' persistence port, implemented over the storage layer. */
import type { Kysely } from 'kysely';
import { createCategoryPolicyStore } from '../storage/category-policies.js';
import type { Database } from '../storage/schema.js';
import { createTenantStore } from '../storage/tenants.js';
import type { CategoryPersistence } from './service.js';

export function createCategoryPersistence(db: Kysely<Database>): CategoryPersistence {
  const tenants = createTenantStore(db);
  const categories = createCategoryPolicyStore(db);
  return {
    async put(tenantId, category, policy, description) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      return categories.put({ tenantId, category, policy, description });
    },
    get: (tenantId, category) => categories.get(tenantId, category),
    delete: (tenantId, category) => categories.delete(tenantId, category),
    list: (tenantId, page) => categories.list(tenantId, page),
  };
}
