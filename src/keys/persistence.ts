/** The API key use cases' persistence port, implemented over the storage layer. */
import type { Kysely } from 'kysely';
import { createApiKeyStore } from '../storage/api-keys.js';
import type { Database } from '../storage/schema.js';
import { createUserStore } from '../storage/users.js';
import type { ApiKeyPersistence } from './service.js';

export function createApiKeyPersistence(db: Kysely<Database>): ApiKeyPersistence {
  const keys = createApiKeyStore(db);
  const users = createUserStore(db);
  return {
    async create(key) {
      if (key.scope === 'user') {
        if (key.userId === undefined) throw new TypeError('a user-scoped key needs its user');
        await users.ensure(key.tenantId, key.userId);
        return keys.create({ id: key.id, tenantId: key.tenantId, scope: 'user', userId: key.userId, secretHash: key.secretHash, ...(key.label !== undefined ? { label: key.label } : {}) });
      }
      return keys.create({ id: key.id, tenantId: key.tenantId, scope: 'admin', secretHash: key.secretHash, ...(key.label !== undefined ? { label: key.label } : {}) });
    },
    list: (tenantId) => keys.list(tenantId),
    revoke: (tenantId, keyId) => keys.revoke(tenantId, keyId),
  };
}
