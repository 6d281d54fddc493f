import type { TenantId, UserId } from './ids.js';

/** Who is calling: a tenant admin (all users, schedules) or one user of a tenant. */
export type Principal =
  | { scope: 'admin'; tenantId: TenantId; keyId: string }
  | { scope: 'user'; tenantId: TenantId; keyId: string; userId: UserId };

/** On whose behalf a use case runs: a whole tenant, or one user of it (user-scoped API keys). */
export interface Actor {
  tenantId: TenantId;
  userId?: UserId;
}
