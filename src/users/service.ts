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
import { ConflictError, ForbiddenError, LimitExceededError, NotFoundError } from '../domain/errors.js';
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
  /** Whether the tenant may set this SMS number on a user now (always for a number it set before). */
  admitSmsDestination(actor: Actor, number: string, perDay: number): Promise<boolean>;
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

/** New SMS destinations a tenant may set on its users in 24 hours, unless configured. */
export const DEFAULT_SMS_DESTINATIONS_PER_DAY = 200;

/**
 * Who may vouch for a contact point: an admin key (the tenant's backend) may set one `verified`;
 * a user key (an end-user app) may set or change its own, unverified — Chime sends only to
 * verified ones, so a user key cannot point messages at an arbitrary address or number.
 */
function checkContactRules(actor: Actor, stored: Record<string, unknown>, after: Preferences): void {
  if (actor.userId === undefined) return;
  const before = (stored.contacts ?? {}) as Partial<Record<'email' | 'sms', { address?: string; number?: string; verified?: boolean }>>;
  for (const channel of ['email', 'sms'] as const) {
    const next = after.contacts[channel] as { address?: string; number?: string; verified: boolean } | undefined;
    if (!next?.verified) continue;
    const prior = before[channel];
    const unchanged = prior?.verified === true && (prior.address ?? prior.number) === (next.address ?? next.number);
    if (!unchanged) throw new ForbiddenError(`contacts.${channel}.verified`, 'only an admin key may mark a contact point verified; set it with verified: false for the tenant to verify');
  }
}

export function createUserService({
  workflows,
  persistence,
  smsDestinationsPerDay = DEFAULT_SMS_DESTINATIONS_PER_DAY,
}: {
  workflows: WorkflowClient;
  persistence: UserPersistence;
  smsDestinationsPerDay?: number;
}) {
  function assertVisible(actor: Actor, userId: UserId) {
    if (actor.userId !== undefined && actor.userId !== userId) throw new NotFoundError('user');
  }

  /** A new SMS number counts against the tenant's daily limit before it is stored. */
  async function admitSms(actor: Actor, userId: UserId, change: (stored: Record<string, unknown>) => Preferences): Promise<void> {
    const stored = ((await persistence.get(actor, userId))?.preferences ?? {}) as Record<string, unknown>;
    const number = change(stored).contacts.sms?.number;
    const before = (stored.contacts as { sms?: { number?: string } } | undefined)?.sms?.number;
    if (number === undefined || number === before) return;
    if (!(await persistence.admitSmsDestination(actor, number, smsDestinationsPerDay))) {
      throw new LimitExceededError('contacts.sms.number', `this tenant has set ${smsDestinationsPerDay} new SMS destinations in the last 24 hours; try later`);
    }
  }

  async function write(
    actor: Actor,
    userId: UserId,
    change: (stored: Record<string, unknown>) => Preferences,
    expectedVersion: number | undefined,
  ): Promise<UserView> {
    assertVisible(actor, userId);
    await admitSms(actor, userId, change);
    let preferences: Preferences | undefined;
    const written = await persistence.changePreferences(
      actor,
      userId,
      (stored) => {
        const next = change(stored);
        checkContactRules(actor, stored, next);
        return (preferences = next);
      },
      expectedVersion,
    );
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
