/**
 * Categories are the tenant's: `reminders`, `digest`, `marketing`, … Each may carry a delivery
 * policy (quiet hours mode, expiry, collapse, frequency caps) layered between Chime's defaults and
 * a reminder's own overrides: default → category → reminder, later layers winning. The layer is
 * read when an occurrence is due, so a change reaches every pending occurrence of the category.
 *
 * Admin keys define categories; user-scoped keys may read them (an app can show a user why a
 * message was held).
 */
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { resolvePolicy, validatePolicyOverrides, type DeliveryPolicy, type PolicyOverrides } from '../domain/policy/index.js';
import { CATEGORY_PATTERN } from '../domain/preferences/index.js';
import type { TenantId } from '../domain/ids.js';
import type { Actor } from '../domain/principal.js';

export interface CategoryView {
  category: string;
  description?: string;
  /** The overrides as stored. */
  policy: PolicyOverrides;
  /** The defaults with this category's overrides applied (before any reminder's own). */
  effectivePolicy: DeliveryPolicy;
  createdAt: string;
  updatedAt: string;
}

export interface StoredCategory {
  category: string;
  policy: PolicyOverrides;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Port: category rows (src/storage implements it). */
export interface CategoryPersistence {
  put(tenantId: TenantId, category: string, policy: PolicyOverrides, description: string | null): Promise<StoredCategory & { created: boolean }>;
  get(tenantId: TenantId, category: string): Promise<StoredCategory | undefined>;
  delete(tenantId: TenantId, category: string): Promise<boolean>;
  list(tenantId: TenantId, page: { limit: number; cursor?: string }): Promise<{ items: StoredCategory[]; nextCursor: string | null }>;
}

const CATEGORY_RE = new RegExp(CATEGORY_PATTERN);

function view(c: StoredCategory): CategoryView {
  return {
    category: c.category,
    ...(c.description !== null ? { description: c.description } : {}),
    policy: c.policy,
    effectivePolicy: resolvePolicy(c.policy),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function createCategoryService({ persistence }: { persistence: CategoryPersistence }) {
  function assertAdmin(actor: Actor) {
    if (actor.userId !== undefined) throw new ForbiddenError('category', 'only an admin key may change categories');
  }
  function checkName(category: string) {
    if (!CATEGORY_RE.test(category)) throw new InvalidInputError('category', `"${category}" is not a category name (${CATEGORY_PATTERN})`);
  }

  return {
    /** Creates or replaces the category's policy; `created` tells the two apart. */
    async put(actor: Actor, category: string, input: { policy: unknown; description?: string }): Promise<CategoryView & { created: boolean }> {
      assertAdmin(actor);
      checkName(category);
      const policy = validatePolicyOverrides(input.policy, 'policy');
      const stored = await persistence.put(actor.tenantId, category, policy, input.description ?? null);
      return { ...view(stored), created: stored.created };
    },

    async get(actor: Actor, category: string): Promise<CategoryView> {
      checkName(category);
      const stored = await persistence.get(actor.tenantId, category);
      if (!stored) throw new NotFoundError('category');
      return view(stored);
    },

    async remove(actor: Actor, category: string): Promise<void> {
      assertAdmin(actor);
      checkName(category);
      if (!(await persistence.delete(actor.tenantId, category))) throw new NotFoundError('category');
    },

    async list(actor: Actor, page: { limit?: number; cursor?: string }): Promise<{ data: CategoryView[]; nextCursor: string | null }> {
      const result = await persistence.list(actor.tenantId, { limit: page.limit ?? 20, ...(page.cursor ? { cursor: page.cursor } : {}) });
      return { data: result.items.map(view), nextCursor: result.nextCursor };
    },
  };
}

export type CategoryService = ReturnType<typeof createCategoryService>;
