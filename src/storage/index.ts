/** The storage layer: open the database, then build the stores over it (or over a transaction). */
import type { Kysely } from 'kysely';
import { createApiKeyStore } from './api-keys.js';
import { createDecisionLog } from './decisions.js';
import { createHttpIdempotencyStore } from './http-idempotency.js';
import { createLedger } from './ledger.js';
import { createReminderStore } from './reminders.js';
import { createScheduleStore } from './schedules.js';
import type { Database } from './schema.js';
import { createTenantStore } from './tenants.js';
import { createUserStore } from './users.js';
import { createCategoryPolicyStore } from './category-policies.js';
import { createAudienceStore } from './audiences.js';
import { createScheduleRunStore } from './schedule-runs.js';
import { createTemplateStore } from './templates.js';

export * from './errors.js';
export * from './database.js';
export { migrateToLatest, migrationStatus, MigrationError, type MigrationReport } from './migrate.js';
export type * from './schema.js';
export * from './pagination.js';
export * from './retention.js';
export * from './tenants.js';
export * from './users.js';
export * from './category-policies.js';
export * from './api-keys.js';
export * from './reminders.js';
export * from './schedules.js';
export * from './ledger.js';
export * from './decisions.js';
export * from './http-idempotency.js';
export * from './audiences.js';
export * from './schedule-runs.js';
export * from './templates.js';

/** Every store over one Kysely instance; pass a transaction (`trx`) to make them share it. */
export function createStores(db: Kysely<Database>, options: { httpIdempotencyLockTimeoutMs?: number } = {}) {
  return {
    tenants: createTenantStore(db),
    users: createUserStore(db),
    categoryPolicies: createCategoryPolicyStore(db),
    templates: createTemplateStore(db),
    apiKeys: createApiKeyStore(db),
    reminders: createReminderStore(db),
    schedules: createScheduleStore(db),
    audiences: createAudienceStore(db),
    scheduleRuns: createScheduleRunStore(db),
    ledger: createLedger(db),
    decisions: createDecisionLog(db),
    httpIdempotency: createHttpIdempotencyStore(
      db,
      options.httpIdempotencyLockTimeoutMs !== undefined ? { lockTimeoutMs: options.httpIdempotencyLockTimeoutMs } : {},
    ),
  };
}
export type Stores = ReturnType<typeof createStores>;
