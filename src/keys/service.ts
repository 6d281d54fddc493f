/**
 * API keys as a resource: a tenant's admins create, list and revoke the tenant's keys — admin keys
 * and keys scoped to one user — while the service runs. The token is returned once, on creation;
 * only the SHA-256 of its secret is stored (src/auth/api-keys.ts).
 */
import { generateApiKey, type ApiKeyScope } from '../auth/api-keys.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.js';
import { UserId, type TenantId } from '../domain/ids.js';
import type { Actor } from '../domain/principal.js';

export interface ApiKeyView {
  id: string;
  scope: ApiKeyScope;
  userId?: string;
  label?: string;
  createdAt: string;
  revokedAt?: string;
}

export interface StoredApiKey {
  id: string;
  scope: ApiKeyScope;
  userId?: UserId;
  label?: string;
  createdAt: Date;
  revokedAt?: Date;
}

/** Port: key rows (src/storage implements it). */
export interface ApiKeyPersistence {
  /** Creates the user of a user-scoped key when needed. */
  create(key: { id: string; tenantId: TenantId; scope: ApiKeyScope; userId?: UserId; secretHash: string; label?: string }): Promise<StoredApiKey>;
  list(tenantId: TenantId): Promise<StoredApiKey[]>;
  revoke(tenantId: TenantId, keyId: string): Promise<boolean>;
}

const view = (k: StoredApiKey): ApiKeyView => ({
  id: k.id,
  scope: k.scope,
  ...(k.userId !== undefined ? { userId: k.userId } : {}),
  ...(k.label !== undefined ? { label: k.label } : {}),
  createdAt: k.createdAt.toISOString(),
  ...(k.revokedAt !== undefined ? { revokedAt: k.revokedAt.toISOString() } : {}),
});

export function createApiKeyService({ persistence }: { persistence: ApiKeyPersistence }) {
  function assertAdmin(actor: Actor) {
    if (actor.userId !== undefined) throw new ForbiddenError('apiKey', 'only an admin key may manage API keys');
  }
  return {
    /** A new key of the caller's tenant; `token` is in this answer only. */
    async create(actor: Actor, input: { scope: ApiKeyScope; userId?: string; label?: string }): Promise<ApiKeyView & { token: string }> {
      assertAdmin(actor);
      const key = generateApiKey(input.scope);
      const stored = await persistence.create({
        id: key.keyId,
        tenantId: actor.tenantId,
        scope: input.scope,
        ...(input.scope === 'user' && input.userId !== undefined ? { userId: UserId(input.userId) } : {}),
        secretHash: key.secretHash,
        ...(input.label !== undefined ? { label: input.label } : {}),
      });
      return { ...view(stored), token: key.token };
    },

    async list(actor: Actor): Promise<{ tenantId: string; data: ApiKeyView[]; nextCursor: null }> {
      assertAdmin(actor);
      return { tenantId: actor.tenantId, data: (await persistence.list(actor.tenantId)).map(view), nextCursor: null };
    },

    /** Revokes a key of the tenant at once; the key making the request cannot revoke itself (no lock-out by accident). */
    async revoke(actor: Actor & { keyId: string }, keyId: string): Promise<void> {
      assertAdmin(actor);
      if (keyId === actor.keyId) throw new ConflictError('a key cannot revoke itself; revoke it with another admin key');
      if (!(await persistence.revoke(actor.tenantId, keyId))) throw new NotFoundError('API key');
    },
  };
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>;
