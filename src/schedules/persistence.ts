/** The schedule use cases' persistence port, implemented over the storage layer. */
import type { Kysely } from 'kysely';
import { InvalidInputError } from '../domain/errors.js';
import type { PolicyOverrides } from '../domain/policy/index.js';
import type { Audience } from '../domain/schedules/index.js';
import { createAudienceStore } from '../storage/audiences.js';
import { createScheduleRunStore } from '../storage/schedule-runs.js';
import { createScheduleStore, type ScheduleRecord } from '../storage/schedules.js';
import { createTenantStore } from '../storage/tenants.js';
import { createUserStore } from '../storage/users.js';
import type { Database } from '../storage/schema.js';
import type { ScheduleDefinition, SchedulePersistence, StoredSchedule } from './service.js';

function toStored(record: ScheduleRecord): StoredSchedule {
  const { dtstart, tzid } = record.recurrence;
  if (!dtstart || !tzid) throw new InvalidInputError('recurrence', 'stored schedule lacks dtstart or tzid');
  return {
    tenantId: record.tenantId,
    id: record.id,
    definition: {
      name: record.name,
      recurrence: {
        dtstart,
        tzid,
        ...(record.recurrence.rrule ? { rrule: record.recurrence.rrule } : {}),
        ...(record.recurrence.rdate ? { rdate: record.recurrence.rdate } : {}),
        ...(record.recurrence.exdate ? { exdate: record.recurrence.exdate } : {}),
      },
      zoneMode: record.zoneMode,
      audience: record.audience as Audience,
      content: record.content,
      channels: record.channels,
      category: record.category,
      ...(Object.keys(record.policy).length > 0 ? { policy: record.policy as PolicyOverrides } : {}),
      ...(record.startsAt ? { startsAt: record.startsAt.toISOString() } : {}),
      ...(record.endsAt ? { endsAt: record.endsAt.toISOString() } : {}),
      smoothingMs: record.smoothingMs,
    },
    status: record.status,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

const columns = (d: ScheduleDefinition) => ({
  name: d.name,
  recurrence: d.recurrence,
  zoneMode: d.zoneMode,
  audience: d.audience as Record<string, unknown>,
  content: d.content,
  channels: d.channels,
  category: d.category,
  policy: (d.policy ?? {}) as Record<string, unknown>,
  smoothingMs: d.smoothingMs,
});

export function createSchedulePersistence(db: Kysely<Database>): SchedulePersistence {
  const tenants = createTenantStore(db);
  const users = createUserStore(db);
  const schedules = createScheduleStore(db);
  const audiences = createAudienceStore(db);
  const runs = createScheduleRunStore(db);
  return {
    async insert({ tenantId, id, definition, status }) {
      await tenants.ensure({ id: tenantId, name: tenantId });
      return toStored(
        await schedules.create({
          tenantId,
          id,
          ...columns(definition),
          ...(definition.startsAt ? { startsAt: new Date(definition.startsAt) } : {}),
          ...(definition.endsAt ? { endsAt: new Date(definition.endsAt) } : {}),
          status,
        }),
      );
    },
    async update(tenantId, id, { definition, status }) {
      return toStored(
        await schedules.update(tenantId, id, {
          ...(definition
            ? {
                ...columns(definition),
                startsAt: definition.startsAt ? new Date(definition.startsAt) : null,
                endsAt: definition.endsAt ? new Date(definition.endsAt) : null,
              }
            : {}),
          ...(status ? { status } : {}),
        }),
      );
    },
    async find(tenantId, id) {
      const record = await schedules.get(tenantId, id);
      return record && toStored(record);
    },
    async list(tenantId, page) {
      const result = await schedules.list(tenantId, page);
      return { items: result.items.map(toStored), nextCursor: result.nextCursor };
    },
    audienceByZone: (tenantId, audience, category) => audiences.countByZone({ tenantId, audience, category }),
    runs: (tenantId, id, limit) => runs.list(tenantId, id, { limit }),
    recipientOf: (tenantId, userId) => users.get(tenantId, userId),
  };
}
