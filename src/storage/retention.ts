/**
 * Retention. HTTP idempotency records are purged once their `expires_at` passes (the API writes
 * it as now + its retention window, default 24 h). The delivery ledger and the decision records
 * are history: kept forever by default (retention 0 days); with a retention of N days, only
 * *settled* deliveries (sent/failed) and decisions older than N days are deleted — never a claimed
 * or inconclusive delivery — and every run reports exactly how many rows it removed.
 */
import { sql, type Kysely, type SqlBool } from 'kysely';
import { guard } from './errors.js';
import { createHttpIdempotencyStore } from './http-idempotency.js';
import type { Database } from './schema.js';

export interface RetentionPolicy {
  /** Delete settled ledger rows older than this many days; 0 (default) keeps them forever. */
  deliveryRetentionDays?: number;
  /** Delete decision records older than this many days; 0 (default) keeps them forever. */
  decisionRetentionDays?: number;
  /** Rows per DELETE statement (keeps locks and WAL bursts small). Default 1000. */
  batchSize?: number;
}

export interface RetentionReport {
  ranAt: Date;
  httpIdempotencyPurged: number;
  deliveriesPurged: number;
  decisionsPurged: number;
}

const DAY_MS = 24 * 60 * 60_000;

function days(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a whole number of days >= 0 (0 = keep forever), got ${v}`);
  return v;
}

async function deleteInBatches(run: () => Promise<number>, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await run();
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/** One retention pass. Safe to run from several processes at once. */
export async function runRetention(db: Kysely<Database>, policy: RetentionPolicy = {}, now: Date = new Date()): Promise<RetentionReport> {
  const deliveryDays = days('deliveryRetentionDays', policy.deliveryRetentionDays);
  const decisionDays = days('decisionRetentionDays', policy.decisionRetentionDays);
  const batchSize = policy.batchSize ?? 1000;
  return guard(async () => {
    const report: RetentionReport = {
      ranAt: now,
      httpIdempotencyPurged: await createHttpIdempotencyStore(db).purgeExpired(now, { batchSize }),
      deliveriesPurged: 0,
      decisionsPurged: 0,
    };
    if (deliveryDays > 0) {
      const cutoff = new Date(now.getTime() - deliveryDays * DAY_MS);
      report.deliveriesPurged = await deleteInBatches(async () => {
        const r = await db
          .deleteFrom('deliveries')
          .where(
            sql<SqlBool>`idempotency_key IN (
              SELECT idempotency_key FROM deliveries
              WHERE status IN ('sent', 'failed') AND settled_at < ${cutoff} LIMIT ${batchSize})`,
          )
          .executeTakeFirst();
        return Number(r.numDeletedRows);
      }, batchSize);
    }
    if (decisionDays > 0) {
      const cutoff = new Date(now.getTime() - decisionDays * DAY_MS);
      report.decisionsPurged = await deleteInBatches(async () => {
        const r = await db
          .deleteFrom('occurrence_decisions')
          .where(sql<SqlBool>`id IN (SELECT id FROM occurrence_decisions WHERE decided_at < ${cutoff} LIMIT ${batchSize})`)
          .executeTakeFirst();
        return Number(r.numDeletedRows);
      }, batchSize);
    }
    return report;
  });
}

export interface RetentionSchedule {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `runRetention` every `intervalMs` (default 1 h; the first run after `initialDelayMs`,
 * default 1 min), never two at once. The timer does not keep the process alive.
 */
export function scheduleRetention(
  db: Kysely<Database>,
  policy: RetentionPolicy & {
    intervalMs?: number;
    initialDelayMs?: number;
    onReport?: (report: RetentionReport) => void;
    onError?: (error: unknown) => void;
  } = {},
): RetentionSchedule {
  const { intervalMs = 60 * 60_000, initialDelayMs = 60_000, onReport, onError, ...rest } = policy;
  // Validate now, not an hour from now.
  days('deliveryRetentionDays', rest.deliveryRetentionDays);
  days('decisionRetentionDays', rest.decisionRetentionDays);
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    running = runRetention(db, rest)
      .then((report) => onReport?.(report), (error: unknown) => onError?.(error))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  timer = setTimeout(tick, initialDelayMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
