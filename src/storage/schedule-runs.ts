/**
 * What each occurrence of an audience schedule did, per recipient group, and the recipients waiting
 * out quiet hours. Recipients' decisions are recorded once each (unique per schedule, recipient,
 * RECURRENCE-ID and sequence) and the run's counters grow only by the decisions that were new: a page
 * re-run after a crash records and counts nothing twice.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Channel } from '../domain/delivery.js';
import type { ScheduleId, TenantId, UserId } from '../domain/ids.js';
import { decisionRow, type NewDecision } from './decisions.js';
import { guard } from './errors.js';
import { json, type Database, type ScheduleDeferralsTable, type ScheduleRunsTable } from './schema.js';

export interface RunKey {
  tenantId: TenantId;
  scheduleId: ScheduleId;
  recurrenceId: string;
  /** The recipient group's key (see `zoneKey`). */
  zone: string;
  firesAt: Date;
}

export interface RunRecord {
  recurrenceId: string;
  zone: string;
  firesAt: Date;
  targeted: number;
  sent: number;
  deferred: number;
  failed: number;
  skipped: Record<string, number>;
  startedAt: Date;
  completedAt?: Date;
}

export interface Deferral {
  userId: UserId;
  recurrenceId: string;
  zone: string;
  occurrenceAt: Date;
  until: Date;
  channels: Channel[];
  sequence: number;
}

const toRun = (row: Selectable<ScheduleRunsTable>): RunRecord => ({
  recurrenceId: row.recurrence_id,
  zone: row.zone,
  firesAt: row.fires_at,
  targeted: row.targeted,
  sent: row.sent,
  deferred: row.deferred,
  failed: row.failed,
  skipped: row.skipped,
  startedAt: row.started_at,
  ...(row.completed_at ? { completedAt: row.completed_at } : {}),
});

const toDeferral = (row: Selectable<ScheduleDeferralsTable>): Deferral => ({
  userId: row.user_id,
  recurrenceId: row.recurrence_id,
  zone: row.zone,
  occurrenceAt: row.occurrence_at,
  until: row.until,
  channels: row.channels,
  sequence: row.sequence,
});

const runWhere = (run: Omit<RunKey, 'firesAt'>) =>
  ({ tenant_id: run.tenantId, schedule_id: run.scheduleId, recurrence_id: run.recurrenceId, zone: run.zone }) as const;

export function createScheduleRunStore(db: Kysely<Database>) {
  return {
    /**
     * Records the recipients' decisions (each once) and adds the new ones to the run's counters, in
     * one transaction. Returns how many were new.
     */
    record: (run: RunKey, decisions: readonly NewDecision[], now: Date): Promise<number> =>
      guard(() =>
        db.transaction().execute(async (trx) => {
          const key = runWhere(run);
          await trx
            .insertInto('schedule_runs')
            .values({ ...key, fires_at: run.firesAt, started_at: now })
            .onConflict((oc) => oc.columns(['tenant_id', 'schedule_id', 'recurrence_id', 'zone']).doNothing())
            .execute();
          if (decisions.length === 0) return 0;
          const inserted = await trx
            .insertInto('occurrence_decisions')
            .values(decisions.map((d) => decisionRow({ ...d, source: { scheduleId: run.scheduleId } })))
            .onConflict((oc) => oc.doNothing())
            .returning(['kind', 'reason', 'sequence'])
            .execute();
          if (inserted.length === 0) return 0;
          const current = await trx.selectFrom('schedule_runs').selectAll().where((eb) => eb.and(key)).forUpdate().executeTakeFirstOrThrow();
          const skipped = { ...current.skipped };
          for (const d of inserted) {
            if (d.kind !== 'skipped' && d.kind !== 'missed') continue;
            for (const reason of new Set((d.reason ?? d.kind).split(', '))) skipped[reason] = (skipped[reason] ?? 0) + 1;
          }
          const count = (kind: string) => inserted.filter((d) => d.kind === kind).length;
          await trx
            .updateTable('schedule_runs')
            .set({
              targeted: current.targeted + inserted.filter((d) => d.sequence === 0).length,
              sent: current.sent + count('sent'),
              deferred: current.deferred + count('deferred'),
              failed: current.failed + count('failed'),
              skipped: json(skipped),
            })
            .where((eb) => eb.and(key))
            .execute();
          return inserted.length;
        }),
      ),

    complete: (run: Omit<RunKey, 'firesAt'>, at: Date): Promise<void> =>
      guard(async () => {
        await db.updateTable('schedule_runs').set({ completed_at: at }).where((eb) => eb.and(runWhere(run))).where('completed_at', 'is', null).execute();
      }),

    /** The runs of a schedule, newest occurrence first (every recipient group of an occurrence). */
    list: (tenantId: TenantId, scheduleId: ScheduleId, options: { limit: number; before?: Date }): Promise<RunRecord[]> =>
      guard(async () => {
        let q = db.selectFrom('schedule_runs').selectAll().where('tenant_id', '=', tenantId).where('schedule_id', '=', scheduleId);
        if (options.before) q = q.where('fires_at', '<', options.before);
        return (await q.orderBy('fires_at', 'desc').orderBy('zone').limit(options.limit).execute()).map(toRun);
      }),

    /** Recipients to decide again at `until` (a recipient's newer deferral replaces the older one). */
    defer: (tenantId: TenantId, scheduleId: ScheduleId, deferrals: readonly Deferral[]): Promise<void> =>
      guard(async () => {
        if (deferrals.length === 0) return;
        await db
          .insertInto('schedule_deferrals')
          .values(
            deferrals.map((d) => ({
              tenant_id: tenantId,
              schedule_id: scheduleId,
              recurrence_id: d.recurrenceId,
              user_id: d.userId,
              zone: d.zone,
              occurrence_at: d.occurrenceAt,
              until: d.until,
              channels: d.channels,
              sequence: d.sequence,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'schedule_id', 'recurrence_id', 'user_id']).doUpdateSet((eb) => ({
              until: eb.ref('excluded.until'),
              channels: eb.ref('excluded.channels'),
              sequence: eb.ref('excluded.sequence'),
            })),
          )
          .execute();
      }),

    /** Of these users, those with a decision about the occurrence at `sequence` already (a page done before a crash). */
    decided: (key: Omit<RunKey, 'zone' | 'firesAt'>, userIds: readonly UserId[], sequence: number): Promise<Set<UserId>> =>
      guard(async () => {
        if (userIds.length === 0) return new Set();
        const rows = await db
          .selectFrom('occurrence_decisions')
          .select('user_id')
          .where('tenant_id', '=', key.tenantId)
          .where('schedule_id', '=', key.scheduleId)
          .where('recurrence_id', '=', key.recurrenceId)
          .where('sequence', '=', sequence)
          .where('user_id', 'in', [...userIds])
          .execute();
        return new Set(rows.map((r) => r.user_id));
      }),

    /** Deferred recipients due by `now`, earliest first. */
    dueDeferrals: (tenantId: TenantId, scheduleId: ScheduleId, now: Date, limit: number): Promise<Deferral[]> =>
      guard(async () =>
        (
          await db
            .selectFrom('schedule_deferrals')
            .selectAll()
            .where('tenant_id', '=', tenantId)
            .where('schedule_id', '=', scheduleId)
            .where('until', '<=', now)
            .orderBy('until')
            .orderBy('user_id')
            .limit(limit)
            .execute()
        ).map(toDeferral),
      ),

    /** Forgets deferrals that were decided again (only the ones still as they were read). */
    settleDeferrals: (tenantId: TenantId, scheduleId: ScheduleId, done: readonly Pick<Deferral, 'userId' | 'recurrenceId' | 'sequence'>[]): Promise<void> =>
      guard(async () => {
        for (const d of done) {
          await db
            .deleteFrom('schedule_deferrals')
            .where('tenant_id', '=', tenantId)
            .where('schedule_id', '=', scheduleId)
            .where('recurrence_id', '=', d.recurrenceId)
            .where('user_id', '=', d.userId)
            .where('sequence', '=', d.sequence)
            .execute();
        }
      }),

    /** When the earliest deferred recipient is due, if any. */
    nextDeferral: (tenantId: TenantId, scheduleId: ScheduleId): Promise<Date | undefined> =>
      guard(async () => {
        const row = await db
          .selectFrom('schedule_deferrals')
          .select(sql<Date | null>`min(until)`.as('until'))
          .where('tenant_id', '=', tenantId)
          .where('schedule_id', '=', scheduleId)
          .executeTakeFirst();
        return row?.until ?? undefined;
      }),
  };
}
export type ScheduleRunStore = ReturnType<typeof createScheduleRunStore>;
