/** The user use cases' persistence port, implemented over the storage layer. */
import type { Kysely } from 'kysely';
import type { UserId } from '../domain/ids.js';
import { createReminderStore } from '../storage/reminders.js';
import { createTenantStore } from '../storage/tenants.js';
import { createHash } from 'node:crypto';
import { createSmsDestinationStore, createUserStore } from '../storage/users.js';
import { isStorageError, StorageErrorType } from '../storage/errors.js';
import type { Database } from '../storage/schema.js';
import type { UserPersistence } from './service.js';

export function createUserPersistence(db: Kysely<Database>): UserPersistence {
  const tenants = createTenantStore(db);
  const users = createUserStore(db);
  const reminders = createReminderStore(db);
  const smsDestinations = createSmsDestinationStore(db);
  return {
    async get({ tenantId }, userId) {
      const user = await users.get(tenantId, userId);
      return user && { preferences: user.preferences, version: user.version, updatedAt: user.updatedAt };
    },

    async changePreferences({ tenantId }, userId, change, expectedVersion) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      await users.ensure(tenantId, userId);
      let before: Record<string, unknown> = {};
      try {
        if (expectedVersion === undefined) {
          const written = await users.modifyPreferences(tenantId, userId, (current) => {
            before = current;
            return change(structuredClone(current));
          });
          return { before, version: written.version, updatedAt: written.updatedAt };
        }
        const current = await users.get(tenantId, userId);
        if (!current || current.version !== expectedVersion) return 'version_conflict';
        before = current.preferences;
        const written = await users.updatePreferences(tenantId, userId, { expectedVersion, preferences: change(structuredClone(before)) });
        return { before, version: written.version, updatedAt: written.updatedAt };
      } catch (error) {
        if (isStorageError(error, StorageErrorType.VersionConflict)) return 'version_conflict';
        throw error;
      }
    },

    admitSmsDestination: ({ tenantId }, number, perDay) => smsDestinations.admit(tenantId, createHash('sha256').update(number).digest('hex'), perDay),

    async setTags({ tenantId }, userId, tags) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      return (await users.setTags(tenantId, userId, tags)).tags;
    },

    async setAttributes({ tenantId }, userId, attributes) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      return (await users.setAttributes(tenantId, userId, attributes)).attributes;
    },

    async liveReminderIds({ tenantId }, userId: UserId) {
      const ids: string[] = [];
      for (const status of ['active', 'paused', 'blocked'] as const) {
        let cursor: string | undefined;
        do {
          const page = await reminders.list(tenantId, { userId, status, limit: 100, ...(cursor ? { cursor } : {}) });
          ids.push(...page.items.map((r) => r.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
      }
      return ids;
    },
  };
}
