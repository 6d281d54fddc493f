/**
 * Users and their preferences. Preferences are validated against the domain schema and written with
 * optimistic concurrency (a stale `expectedVersion` is a conflict, never a lost update):
 *
 * - `putPreferences` replaces the document; `contacts` is the one exception — omitted, the stored
 *   contact points stay (they also arrive with reminders, and a PUT about quiet hours must not
 *   erase the address a reminder was created with);
 * - `patchPreferences` applies an RFC 7396 JSON Merge Patch to the stored document.
 *
 * A change of what a reminder's workflow acts on — zone, quiet hours, channels, opt-outs — reaches
 * the user's running reminders at once (they plan and decide again, reading the database); any
 * other change (contacts, locale) is read at send time and wakes nobody.
 */
import { WorkflowNotFoundError, type WorkflowClient } from '@temporalio/client';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.js';
import type { UserId } from '../domain/ids.js';
import { applyMergePatch } from '../domain/json-merge-patch.js';
import { validatePreferences, type Preferences } from '../domain/preferences/index.js';
import type { AttributeValue } from '../domain/templates/index.js';
import { preferencesChangedSignal, reminderWorkflowId } from '../../workflows/reminder.js';
import type { Actor } from '../domain/principal.js';

export interface UserView {
  id: string;
  preferences: Preferences;
  version: number;
  updatedAt: string;
}

/** Port: user rows (src/storage implements it). */
export interface UserPersistence {
  get(actor: Actor, userId: UserId): Promise<{ preferences: unknown; version: number; updatedAt: Date } | undefined>;
  /**
   * Creates tenant and user as needed, then writes `change(stored)`: with `expectedVersion` only if
   * nobody wrote since; without, re-applied to the fresh document on a concurrent write.
   */
  changePreferences(
    actor: Actor,
    userId: UserId,
    change: (stored: Record<string, unknown>) => Preferences,
    expectedVersion: number | undefined,
  ): Promise<{ before: Record<string, unknown>; version: number; updatedAt: Date } | 'version_conflict'>;
  /** Ids of the user's reminders whose workflows may be running. */
  liveReminderIds(actor: Actor, userId: UserId): Promise<string[]>;
  /** Replaces the user's tags (creating the user). */
  setTags(actor: Actor, userId: UserId, tags: readonly string[]): Promise<string[]>;
  /** Replaces the user's attributes (creating the user). */
  setAttributes(actor: Actor, userId: UserId, attributes: Readonly<Record<string, AttributeValue>>): Promise<Record<string, AttributeValue>>;
}

/** The preference fields a reminder's workflow acts on before send time (planning, deferrals). */
const WAKING_FIELDS = ['timeZone', 'quietHours', 'channels', 'optOuts'] as const;

function wakesReminders(stored: Record<string, unknown>, after: Preferences): boolean {
  let before: Preferences;
  try {
    before = validatePreferences({ timeZone: after.timeZone, ...stored });
  } catch {
    return true; // what was stored could not be read: everything may have changed
  }
  return stored.timeZone === undefined || WAKING_FIELDS.some((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

export function createUserService({ workflows, persistence }: { workflows: WorkflowClient; persistence: UserPersistence }) {
  function assertVisible(actor: Actor, userId: UserId) {
    if (actor.userId !== undefined && actor.userId !== userId) throw new NotFoundError('user');
  }

  async function write(
    actor: Actor,
    userId: UserId,
    change: (stored: Record<string, unknown>) => Preferences,
    expectedVersion: number | undefined,
  ): Promise<UserView> {
    assertVisible(actor, userId);
    let preferences: Preferences | undefined;
    const written = await persistence.changePreferences(actor, userId, (stored) => (preferences = change(stored)), expectedVersion);
    if (written === 'version_conflict') {
      throw new ConflictError('the preferences changed since that version: read them again and reapply your change');
    }
    const after = preferences!;
    if (wakesReminders(written.before, after)) await notifyReminders(actor, userId);
    return { id: userId, preferences: after, version: written.version, updatedAt: written.updatedAt.toISOString() };
  }

  /** Every running reminder of the user plans and decides again with what the database holds now. */
  async function notifyReminders(actor: Actor, userId: UserId): Promise<void> {
    const ids = await persistence.liveReminderIds(actor, userId);
    await Promise.all(
      ids.map(async (reminderId) => {
        try {
          await workflows.getHandle(reminderWorkflowId(actor.tenantId, userId, reminderId)).signal(preferencesChangedSignal, {});
        } catch (error) {
          // A reminder that has just ended needs no recomputation.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      }),
    );
  }

  return {
    async get(actor: Actor, userId: UserId): Promise<UserView> {
      assertVisible(actor, userId);
      const row = await persistence.get(actor, userId);
      if (!row) throw new NotFoundError('user');
      const preferences = validatePreferences({ timeZone: 'UTC', ...(row.preferences as object) });
      return { id: userId, preferences, version: row.version, updatedAt: row.updatedAt.toISOString() };
    },

    /** Replaces the preferences (InvalidInputError naming the field); omitted `contacts` keep the stored ones. */
    putPreferences(actor: Actor, userId: UserId, input: Record<string, unknown>, expectedVersion?: number): Promise<UserView> {
      return write(
        actor,
        userId,
        (stored) =>
          validatePreferences(input.contacts === undefined && stored.contacts !== undefined ? { ...input, contacts: stored.contacts } : input),
        expectedVersion,
      );
    },

    /** Replaces the tags audience filters select on (admin keys: a user must not pick their own audiences). */
    async setTags(actor: Actor, userId: UserId, tags: readonly string[]): Promise<{ id: string; tags: string[] }> {
      if (actor.userId !== undefined) throw new ForbiddenError('tags', 'only an admin key may tag users');
      return { id: userId, tags: await persistence.setTags(actor, userId, tags) };
    },

    /** Replaces the attributes templates read (admin keys: they are the tenant's facts about the user, not the user's). */
    async setAttributes(actor: Actor, userId: UserId, attributes: Readonly<Record<string, AttributeValue>>): Promise<{ id: string; attributes: Record<string, AttributeValue> }> {
      if (actor.userId !== undefined) throw new ForbiddenError('attributes', 'only an admin key may set user attributes');
      return { id: userId, attributes: await persistence.setAttributes(actor, userId, attributes) };
    },

    /** Applies an RFC 7396 merge patch to the stored preferences; the result must be valid as a whole. */
    patchPreferences(actor: Actor, userId: UserId, patch: Record<string, unknown>, expectedVersion?: number): Promise<UserView> {
      return write(actor, userId, (stored) => validatePreferences(applyMergePatch(stored, patch)), expectedVersion);
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
