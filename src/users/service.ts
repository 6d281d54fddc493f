/**
 * Users and their preferences. Preferences are validated against the domain schema, written with
 * optimistic concurrency (a stale `expectedVersion` is a conflict, never a lost update), and every
 * change reaches the user's running reminders at once so pending occurrences are recomputed
 * (time zone) and decided with what is true at send time (everything else).
 */
import { WorkflowNotFoundError, type WorkflowClient } from '@temporalio/client';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { UserId } from '../domain/ids.js';
import { validatePreferences, type Preferences } from '../domain/preferences/index.js';
import { preferencesChangedSignal, reminderWorkflowId } from '../../workflows/reminder.js';
import type { Actor } from '../reminders/service.js';

export interface UserView {
  id: string;
  preferences: Preferences;
  version: number;
  updatedAt: string;
}

/** Port: user rows (src/storage implements it). */
export interface UserPersistence {
  get(actor: Actor, userId: UserId): Promise<{ preferences: unknown; version: number; updatedAt: Date } | undefined>;
  /** Creates tenant and user as needed. With `expectedVersion` only if nobody wrote since; without, last write wins. */
  writePreferences(
    actor: Actor,
    userId: UserId,
    preferences: Preferences,
    expectedVersion: number | undefined,
  ): Promise<{ version: number; updatedAt: Date } | 'version_conflict'>;
  /** Ids of the user's reminders whose workflows may be running. */
  liveReminderIds(actor: Actor, userId: UserId): Promise<string[]>;
}

export function createUserService({ workflows, persistence }: { workflows: WorkflowClient; persistence: UserPersistence }) {
  function assertVisible(actor: Actor, userId: UserId) {
    if (actor.userId !== undefined && actor.userId !== userId) throw new NotFoundError('user');
  }

  return {
    async get(actor: Actor, userId: UserId): Promise<UserView> {
      assertVisible(actor, userId);
      const row = await persistence.get(actor, userId);
      if (!row) throw new NotFoundError('user');
      const preferences = validatePreferences({ timeZone: 'UTC', ...(row.preferences as object) });
      return { id: userId, preferences, version: row.version, updatedAt: row.updatedAt.toISOString() };
    },

    async putPreferences(actor: Actor, userId: UserId, input: unknown, expectedVersion?: number): Promise<UserView> {
      assertVisible(actor, userId);
      const preferences = validatePreferences(input); // InvalidInputError naming the field
      const written = await persistence.writePreferences(actor, userId, preferences, expectedVersion);
      if (written === 'version_conflict') {
        throw new ConflictError('the preferences changed since that version: read them again and reapply your change');
      }
      // Fan out: every running reminder of the user re-plans with the new zone and decides with the new rest.
      const ids = await persistence.liveReminderIds(actor, userId);
      await Promise.all(
        ids.map(async (reminderId) => {
          try {
            await workflows
              .getHandle(reminderWorkflowId(actor.tenantId, userId, reminderId))
              .signal(preferencesChangedSignal, { timeZone: preferences.timeZone });
          } catch (error) {
            // A reminder that has just ended needs no recomputation.
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
        }),
      );
      return { id: userId, preferences, version: written.version, updatedAt: written.updatedAt.toISOString() };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
