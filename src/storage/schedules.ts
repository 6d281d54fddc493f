/**
 * Audience schedules ("the weekly digest, Mondays 09:00 in each recipient's local time"), from the
 * API or from schedule files in a tenant's repository. The fan-out itself runs on Temporal.
 */
import { sql, type Kysely, type Selectable, type UpdateObject } from 'kysely';
import type { Channel } from '../domain/delivery.js';
import type { ScheduleId, TenantId } from '../domain/ids.js';
import { StorageError, StorageErrorType, guard } from './errors.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import type { MessageContent } from '../domain/templates/index.js';
import { contentColumns, contentOf, recurrenceColumns, recurrenceOf, type StoredRecurrence } from './reminders.js';
import { json, type Database, type ScheduleSource, type ScheduleStatus, type SchedulesTable } from './schema.js';

export interface ScheduleRecord {
  tenantId: TenantId;
  id: ScheduleId;
  name: string;
  recurrence: StoredRecurrence;
  zoneMode: 'recipient-local' | 'pinned';
  audience: Record<string, unknown>;
  content: MessageContent;
  channels: Channel[];
  category: string;
  policy: Record<string, unknown>;
  status: ScheduleStatus;
  source: ScheduleSource;
  sourceRef?: string;
  startsAt?: Date;
  endsAt?: Date;
  /** Each occurrence's fan-out is spread over this long (0: as fast as the workers go). */
  smoothingMs: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type NewSchedule = Omit<ScheduleRecord, 'status' | 'version' | 'createdAt' | 'updatedAt' | 'policy' | 'source' | 'smoothingMs'> & {
  smoothingMs?: number;
  status?: ScheduleStatus;
  policy?: Record<string, unknown>;
  source?: ScheduleSource;
};

export type SchedulePatch = Partial<
  Pick<ScheduleRecord, 'name' | 'recurrence' | 'zoneMode' | 'audience' | 'content' | 'channels' | 'category' | 'policy' | 'status' | 'sourceRef' | 'smoothingMs'>
> & {
  /** null clears it. */
  startsAt?: Date | null;
  endsAt?: Date | null;
};

const LIST = 'schedules';

const toRecord = (row: Selectable<SchedulesTable>): ScheduleRecord => {
  const record: ScheduleRecord = {
    tenantId: row.tenant_id,
    id: row.id,
    name: row.name,
    recurrence: recurrenceOf(row),
    zoneMode: row.zone_mode,
    audience: row.audience,
    content: contentOf(row),
    channels: row.channels,
    category: row.category,
    policy: row.policy,
    status: row.status,
    source: row.source,
    smoothingMs: row.smoothing_ms,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.source_ref !== null) record.sourceRef = row.source_ref;
  if (row.starts_at !== null) record.startsAt = row.starts_at;
  if (row.ends_at !== null) record.endsAt = row.ends_at;
  return record;
};

export function createScheduleStore(db: Kysely<Database>) {
  return {
    create: (s: NewSchedule): Promise<ScheduleRecord> =>
      guard(async () =>
        toRecord(
          await db
            .insertInto('schedules')
            .values({
              tenant_id: s.tenantId,
              id: s.id,
              name: s.name,
              ...recurrenceColumns(s.recurrence),
              zone_mode: s.zoneMode,
              audience: json(s.audience),
              ...contentColumns(s.content),
              channels: s.channels,
              category: s.category,
              policy: json(s.policy ?? {}),
              ...(s.status ? { status: s.status } : {}),
              ...(s.source ? { source: s.source } : {}),
              source_ref: s.sourceRef ?? null,
              starts_at: s.startsAt ?? null,
              ends_at: s.endsAt ?? null,
              ...(s.smoothingMs !== undefined ? { smoothing_ms: s.smoothingMs } : {}),
              updated_at: new Date(),
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        ),
      ),

    get: (tenantId: TenantId, id: ScheduleId): Promise<ScheduleRecord | undefined> =>
      guard(async () => {
        const row = await db.selectFrom('schedules').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        return row && toRecord(row);
      }),

    /** StorageError `not_found`, or `version_conflict` when `expectedVersion` is stale. */
    update: (tenantId: TenantId, id: ScheduleId, patch: SchedulePatch, options: { expectedVersion?: number } = {}): Promise<ScheduleRecord> =>
      guard(async () => {
        const set: UpdateObject<Database, 'schedules'> = { version: sql<number>`version + 1`, updated_at: new Date() };
        if (patch.name) set.name = patch.name;
        if (patch.recurrence) Object.assign(set, recurrenceColumns(patch.recurrence));
        if (patch.zoneMode) set.zone_mode = patch.zoneMode;
        if (patch.audience) set.audience = json(patch.audience);
        if (patch.content) Object.assign(set, contentColumns(patch.content));
        if (patch.channels) set.channels = patch.channels;
        if (patch.category) set.category = patch.category;
        if (patch.policy) set.policy = json(patch.policy);
        if (patch.status) set.status = patch.status;
        if (patch.sourceRef !== undefined) set.source_ref = patch.sourceRef;
        if (patch.startsAt !== undefined) set.starts_at = patch.startsAt;
        if (patch.endsAt !== undefined) set.ends_at = patch.endsAt;
        if (patch.smoothingMs !== undefined) set.smoothing_ms = patch.smoothingMs;
        let query = db.updateTable('schedules').set(set).where('tenant_id', '=', tenantId).where('id', '=', id);
        if (options.expectedVersion !== undefined) query = query.where('version', '=', options.expectedVersion);
        const row = await query.returningAll().executeTakeFirst();
        if (row) return toRecord(row);
        const current = await db.selectFrom('schedules').select('version').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        if (!current) throw new StorageError(StorageErrorType.NotFound, `no schedule ${id} in tenant ${tenantId}`);
        throw new StorageError(StorageErrorType.VersionConflict, `schedule ${id} is at version ${current.version}, not ${options.expectedVersion}`);
      }),

    list: (tenantId: TenantId, filter: { status?: ScheduleStatus } & PageRequest): Promise<Page<ScheduleRecord>> =>
      guard(async () => {
        const limit = clampLimit(filter.limit);
        let query = db.selectFrom('schedules').selectAll().where('tenant_id', '=', tenantId);
        if (filter.status !== undefined) query = query.where('status', '=', filter.status);
        if (filter.cursor !== undefined) query = query.where(afterCursor('created_at', 'id', decodeCursor(LIST, filter.cursor)));
        const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.created_at, id: r.id }), toRecord);
      }),
  };
}
export type ScheduleStore = ReturnType<typeof createScheduleStore>;
