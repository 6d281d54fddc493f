/**
 * Occurrence decision records: every occurrence ends in recorded decisions (sent, deferred,
 * skipped, failed, missed) with a reason. A decision is identified by (reminder or schedule +
 * recipient, RECURRENCE-ID, sequence) — unique in the schema — so a retried "record" activity
 * stores it once. Sequence 0 is the first decision about an occurrence; a deferral followed by a
 * send is sequence 0 (`deferred`) then 1 (`sent`).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ReminderId, TenantId, UserId } from '../domain/ids.js';
import { StorageError, StorageErrorType, guard } from './errors.js';
import type { DeliverySource } from './ledger.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import { json, type Database, type DecisionKind, type OccurrenceDecisionsTable, type ReminderStatus } from './schema.js';

export interface DecisionRecord {
  id: string;
  tenantId: TenantId;
  userId: UserId;
  source: DeliverySource;
  recurrenceId: string;
  occurrenceAt: Date;
  sequence: number;
  decidedAt: Date;
  kind: DecisionKind;
  reason?: string;
  /** Set exactly for `deferred`. */
  deferredUntil?: Date;
  channels: unknown[];
  details: Record<string, unknown>;
}

export type NewDecision = Omit<DecisionRecord, 'id' | 'sequence' | 'channels' | 'details'> & {
  sequence?: number;
  channels?: unknown[];
  details?: Record<string, unknown>;
};

const LIST = 'decisions';

const toRecord = (row: Selectable<OccurrenceDecisionsTable>): DecisionRecord => {
  const record: DecisionRecord = {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    source: row.reminder_id !== null ? { reminderId: row.reminder_id } : { scheduleId: row.schedule_id! },
    recurrenceId: row.recurrence_id,
    occurrenceAt: row.occurrence_at,
    sequence: row.sequence,
    decidedAt: row.decided_at,
    kind: row.kind,
    channels: row.channels,
    details: row.details,
  };
  if (row.reason !== null) record.reason = row.reason;
  if (row.deferred_until !== null) record.deferredUntil = row.deferred_until;
  return record;
};

/** A decision as its row is written (shared with the schedule runs, which record recipients' decisions). */
export const decisionRow = (d: NewDecision) => ({
  tenant_id: d.tenantId,
  user_id: d.userId,
  reminder_id: 'reminderId' in d.source ? d.source.reminderId : null,
  schedule_id: 'scheduleId' in d.source ? d.source.scheduleId : null,
  recurrence_id: d.recurrenceId,
  occurrence_at: d.occurrenceAt,
  sequence: d.sequence ?? 0,
  decided_at: d.decidedAt,
  kind: d.kind,
  reason: d.reason ?? null,
  deferred_until: d.deferredUntil ?? null,
  channels: json(d.channels ?? []),
  details: json(d.details ?? {}),
});

export function createDecisionLog(db: Kysely<Database>) {
  const findSame = (d: NewDecision) => {
    let query = db
      .selectFrom('occurrence_decisions')
      .selectAll()
      .where('tenant_id', '=', d.tenantId)
      .where('recurrence_id', '=', d.recurrenceId)
      .where('sequence', '=', d.sequence ?? 0);
    query =
      'reminderId' in d.source
        ? query.where('reminder_id', '=', d.source.reminderId)
        : query.where('schedule_id', '=', d.source.scheduleId).where('user_id', '=', d.userId);
    return query.executeTakeFirst();
  };

  return {
    /**
     * Stores a decision once: recording the same (occurrence, sequence) again returns the stored
     * one with `inserted: false`. StorageError `check_violation` for inconsistent data (e.g. a
     * deferral without `deferredUntil`), `foreign_key_violation` for an unknown reminder or user.
     */
    record: (decision: NewDecision): Promise<{ inserted: boolean; decision: DecisionRecord }> =>
      guard(async () => {
        const row = await db
          .insertInto('occurrence_decisions')
          .values(decisionRow(decision))
          .onConflict((oc) => oc.doNothing())
          .returningAll()
          .executeTakeFirst();
        if (row) return { inserted: true, decision: toRecord(row) };
        const existing = await findSame(decision);
        if (!existing) throw new Error('occurrence decision conflicted but cannot be found');
        return { inserted: false, decision: toRecord(existing) };
      }),

    /**
     * `record`, and in the same statement the reminder settles in `status`: the decision that ends
     * its series (one round trip instead of two). StorageError `not_found` if there is no such reminder.
     */
    recordWithStatus: (decision: NewDecision & { source: { reminderId: ReminderId } }, status: ReminderStatus): Promise<void> =>
      guard(async () => {
        const { reminderId } = decision.source;
        const updated = await db
          .with('recorded', (qb) => qb.insertInto('occurrence_decisions').values(decisionRow(decision)).onConflict((oc) => oc.doNothing()).returning('id'))
          .updateTable('reminders')
          .set({ status, status_reason: null, version: sql<number>`version + 1`, updated_at: new Date() })
          .where('tenant_id', '=', decision.tenantId)
          .where('id', '=', reminderId)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) throw new StorageError(StorageErrorType.NotFound, `no reminder ${reminderId} in tenant ${decision.tenantId}`);
      }),

    /** Stores several decisions in one statement: all of them or, if any is invalid, none. */
    recordMany: (decisions: readonly NewDecision[]): Promise<number> =>
      guard(async () => {
        if (decisions.length === 0) return 0;
        const rows = await db
          .insertInto('occurrence_decisions')
          .values(decisions.map(decisionRow))
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .execute();
        return rows.length;
      }),

    /** Decisions about one reminder, most recent first. */
    listForReminder: (tenantId: TenantId, reminderId: ReminderId, page: PageRequest): Promise<Page<DecisionRecord>> =>
      guard(async () => {
        const limit = clampLimit(page.limit);
        let query = db.selectFrom('occurrence_decisions').selectAll().where('tenant_id', '=', tenantId).where('reminder_id', '=', reminderId);
        if (page.cursor !== undefined) query = query.where(afterCursor('decided_at', 'id', decodeCursor(LIST, page.cursor)));
        const rows = await query.orderBy('decided_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.decided_at, id: r.id }), toRecord);
      }),

    /** Every decision about one occurrence of a reminder, in sequence order. */
    forOccurrence: (tenantId: TenantId, reminderId: ReminderId, recurrenceId: string): Promise<DecisionRecord[]> =>
      guard(async () =>
        (
          await db
            .selectFrom('occurrence_decisions')
            .selectAll()
            .where('tenant_id', '=', tenantId)
            .where('reminder_id', '=', reminderId)
            .where('recurrence_id', '=', recurrenceId)
            .orderBy('sequence')
            .execute()
        ).map(toRecord),
      ),
  };
}
export type DecisionLog = ReturnType<typeof createDecisionLog>;
