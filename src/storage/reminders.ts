/**
 * Reminder definitions (Temporal holds their running state). Listing pages with an opaque cursor
 * over (created_at, id), newest first.
 */
import { sql, type Kysely, type Selectable, type UpdateObject } from 'kysely';
import type { Channel } from '../domain/delivery.js';
import type { ReminderId, TenantId, UserId } from '../domain/ids.js';
import type { AttributeValue, MessageContent, TemplateRef } from '../domain/templates/index.js';
import type { PolicyOverrides } from '../domain/policy/index.js';
import { StorageError, StorageErrorType, guard } from './errors.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import { json, type Database, type RecurrenceColumns, type ReminderStatus, type RemindersTable, type ZoneMode } from './schema.js';

/** The recurrence as stored: RFC 5545 parts (wall-clock DTSTART + zone) and/or the iCalendar text. */
export interface StoredRecurrence {
  /** Wall-clock `YYYY-MM-DDTHH:mm:ss`. */
  dtstart?: string;
  tzid?: string;
  rrule?: string;
  rdate?: string[];
  exdate?: string[];
  ical?: string;
}

export interface ReminderRecord {
  tenantId: TenantId;
  userId: UserId;
  id: ReminderId;
  recurrence: StoredRecurrence;
  zoneMode: ZoneMode;
  content: MessageContent;
  channels: Channel[];
  category: string;
  policy: Record<string, unknown>;
  status: ReminderStatus;
  /** Why a `blocked` reminder cannot plan. */
  statusReason?: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewReminder = Omit<ReminderRecord, 'status' | 'statusReason' | 'version' | 'createdAt' | 'updatedAt' | 'policy'> & {
  status?: ReminderStatus;
  policy?: Record<string, unknown>;
};

export type ReminderPatch = Partial<Pick<ReminderRecord, 'recurrence' | 'zoneMode' | 'content' | 'channels' | 'category' | 'policy' | 'status'>> & {
  /** null clears it. */
  statusReason?: string | null;
};

/**
 * A reminder as a send at its due time sees it, read in one statement: whether it may still send
 * (its status, its channels), its user as they are now, and the tenant's policy for a category.
 */
export interface SendContext {
  status: ReminderStatus;
  channels: Channel[];
  /** Absent when the user does not exist (any more). */
  recipient?: { preferences: unknown; tags: string[]; attributes: Record<string, AttributeValue> };
  /** Absent when the tenant has no policy for the category. */
  categoryPolicy?: PolicyOverrides;
}

export interface ReminderFilter {
  userId?: UserId;
  status?: ReminderStatus;
}

const LIST = 'reminders';

/** Recurrence column values as written. */
export interface RecurrenceValues {
  dtstart: string | null;
  tzid: string | null;
  rrule: string | null;
  rdate: string[];
  exdate: string[];
  ical: string | null;
}

export function recurrenceColumns(r: StoredRecurrence): RecurrenceValues {
  return {
    dtstart: r.dtstart ?? null,
    tzid: r.tzid ?? null,
    rrule: r.rrule ?? null,
    rdate: r.rdate ?? [],
    exdate: r.exdate ?? [],
    ical: r.ical ?? null,
  };
}

/** The message columns shared by reminders and audience schedules. */
export function contentColumns(c: MessageContent): { title: string; body: string; template: string | null } {
  return { title: c.title, body: c.body, template: c.template !== undefined ? json(c.template) : null };
}

export function contentOf(row: { title: string; body: string; template: TemplateRef | null }): MessageContent {
  return { title: row.title, body: row.body, ...(row.template !== null ? { template: row.template } : {}) };
}

export function recurrenceOf(row: Selectable<RecurrenceColumns>): StoredRecurrence {
  const r: StoredRecurrence = {};
  if (row.dtstart !== null) r.dtstart = row.dtstart;
  if (row.tzid !== null) r.tzid = row.tzid;
  if (row.rrule !== null) r.rrule = row.rrule;
  if (row.rdate.length > 0) r.rdate = row.rdate;
  if (row.exdate.length > 0) r.exdate = row.exdate;
  if (row.ical !== null) r.ical = row.ical;
  return r;
}

const toRecord = (row: Selectable<RemindersTable>): ReminderRecord => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  id: row.id,
  recurrence: recurrenceOf(row),
  zoneMode: row.zone_mode,
  content: contentOf(row),
  channels: row.channels,
  category: row.category,
  policy: row.policy,
  status: row.status,
  ...(row.status_reason !== null ? { statusReason: row.status_reason } : {}),
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createReminderStore(db: Kysely<Database>) {
  return {
    /** StorageError `unique_violation` if the id is taken, `foreign_key_violation` if the user does not exist. */
    insert: (reminder: NewReminder): Promise<ReminderRecord> =>
      guard(async () => {
        const row = await db
          .insertInto('reminders')
          .values({
            tenant_id: reminder.tenantId,
            id: reminder.id,
            user_id: reminder.userId,
            ...recurrenceColumns(reminder.recurrence),
            zone_mode: reminder.zoneMode,
            ...contentColumns(reminder.content),
            channels: reminder.channels,
            category: reminder.category,
            policy: json(reminder.policy ?? {}),
            ...(reminder.status ? { status: reminder.status } : {}),
            updated_at: new Date(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toRecord(row);
      }),

    get: (tenantId: TenantId, id: ReminderId): Promise<ReminderRecord | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('reminders').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        return row && toRecord(row);
      }),

    /** The reminder with its user and the tenant's policy for `category`, in one statement; undefined if there is no such reminder. */
    sendContext: (tenantId: TenantId, id: ReminderId, category: string): Promise<SendContext | undefined> =>
      guard(async () => {
        const row = await db
          .selectFrom('reminders as r')
          .leftJoin('users as u', (join) => join.onRef('u.tenant_id', '=', 'r.tenant_id').onRef('u.id', '=', 'r.user_id'))
          .leftJoin('category_policies as cp', (join) => join.onRef('cp.tenant_id', '=', 'r.tenant_id').on('cp.category', '=', category))
          .select(['r.status', 'r.channels', 'u.id as user_id', 'u.preferences', 'u.tags', 'u.attributes', 'cp.policy'])
          .where('r.tenant_id', '=', tenantId)
          .where('r.id', '=', id)
          .executeTakeFirst();
        if (!row) return undefined;
        return {
          status: row.status,
          channels: row.channels,
          ...(row.user_id !== null ? { recipient: { preferences: row.preferences, tags: row.tags ?? [], attributes: row.attributes ?? {} } } : {}),
          ...(row.policy !== null ? { categoryPolicy: row.policy } : {}),
        };
      }),

    /**
     * Applies a patch; with `expectedVersion`, only if nobody changed the reminder since
     * (StorageError `version_conflict`). StorageError `not_found` if there is no such reminder.
     */
    update: (tenantId: TenantId, id: ReminderId, patch: ReminderPatch, options: { expectedVersion?: number } = {}): Promise<ReminderRecord> =>
      guard(async () => {
        const set: UpdateObject<Database, 'reminders'> = { version: sql<number>`version + 1`, updated_at: new Date() };
        if (patch.recurrence) Object.assign(set, recurrenceColumns(patch.recurrence));
        if (patch.zoneMode) set.zone_mode = patch.zoneMode;
        if (patch.content) Object.assign(set, contentColumns(patch.content));
        if (patch.channels) set.channels = patch.channels;
        if (patch.category) set.category = patch.category;
        if (patch.policy) set.policy = json(patch.policy);
        if (patch.status) set.status = patch.status;
        if (patch.statusReason !== undefined) set.status_reason = patch.statusReason;
        let query = db.updateTable('reminders').set(set).where('tenant_id', '=', tenantId).where('id', '=', id);
        if (options.expectedVersion !== undefined) query = query.where('version', '=', options.expectedVersion);
        const row = await query.returningAll().executeTakeFirst();
        if (row) return toRecord(row);
        const current = await db.selectFrom('reminders').select('version').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        if (!current) throw new StorageError(StorageErrorType.NotFound, `no reminder ${id} in tenant ${tenantId}`);
        throw new StorageError(StorageErrorType.VersionConflict, `reminder ${id} is at version ${current.version}, not ${options.expectedVersion}`);
      }),

    /** One page of a tenant's reminders, newest first. StorageError `invalid_cursor` for a foreign cursor. */
    list: (tenantId: TenantId, filter: ReminderFilter & PageRequest): Promise<Page<ReminderRecord>> =>
      guard(async () => {
        const limit = clampLimit(filter.limit);
        let query = db.selectFrom('reminders').selectAll().where('tenant_id', '=', tenantId);
        if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
        if (filter.status !== undefined) query = query.where('status', '=', filter.status);
        if (filter.cursor !== undefined) query = query.where(afterCursor('created_at', 'id', decodeCursor(LIST, filter.cursor)));
        const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.created_at, id: r.id }), toRecord);
      }),
  };
}
export type ReminderStore = ReturnType<typeof createReminderStore>;
