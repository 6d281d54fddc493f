/**
 * Scale-out and graceful shutdown, everything real on loopback: a Temporal dev server, a PostgreSQL
 * server of its own (worker processes cannot share PGlite), a real SMTP server that can hold
 * messages unanswered, and Chime workers and the API as child processes (`npm run worker` / `api`).
 *
 *   (a) two worker processes on one task queue, a burst of one-shot reminders due at one instant:
 *       every user gets exactly one email, and both workers ran deliveries (the worker identity,
 *       `pid@host`, of each delivering activity (`sendOccurrence`, `deliver`) in the workflow histories);
 *   (b) SIGTERM while a delivery is in flight (its message held at the SMTP server): the worker stops
 *       polling, the held message is answered while it drains, the worker exits 0 within its grace
 *       time, and the email arrives once — recorded sent, never retried, the reminder completed by
 *       the next worker;
 *   (c) SIGTERM to the API process: it closes and exits 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { TenantId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort } from '../support/ports.js';
import {
  killLeftovers,
  spawnWorker,
  startRestartableDevServer,
  startRestartablePostgres,
  waitUntil,
  type RestartableDevServer,
  type RestartablePostgres,
} from '../support/processes.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const KEY_HEADER = 'x-chime-idempotency-key';
/** Scenario (b)'s worker: how long in-flight activities may run on after SIGTERM. */
const SHUTDOWN_GRACE_MS = 20_000;

let workDir: string;
let pgDir: string;
let temporal: RestartableDevServer;
let postgres: RestartablePostgres;
let database: TestDatabase;
let smtp: TestSmtpServer;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'chime-scale-'));
  // As root the PostgreSQL server runs as `postgres`, which must reach its directory: /var/tmp.
  pgDir = await mkdtemp('/var/tmp/chime-scale-pg-');
  const port = await freePort();
  [temporal, postgres, smtp] = await Promise.all([
    startRestartableDevServer({ cliPath: resolveTool('cli'), port, dbFile: path.join(workDir, 'temporal.sqlite') }),
    startRestartablePostgres(pgDir),
    startSmtpServer(),
  ]);
  database = await openTestDatabase({ adminUrl: postgres.adminUrl });
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection });
}, 180_000);

afterAll(async () => {
  await killLeftovers();
  await connection?.close().catch(() => undefined);
  await database?.close().catch(() => undefined);
  await smtp?.close().catch(() => undefined);
  await temporal?.stop().catch(() => undefined);
  await postgres?.stop().catch(() => undefined);
  if (pgDir) await rm(pgDir, { recursive: true, force: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
}, 120_000);

function processEnv(taskQueue: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporal.address,
    DATABASE_URL: database.options.databaseUrl!,
    SMTP_URL: smtp.url,
    CHIME_TASK_QUEUE: taskQueue,
    CHIME_DATA_DIR: path.join(workDir, `data-${taskQueue}`),
    // info: the processes log their start, drain and stop, which spawnWorker and the tests wait for.
    CHIME_LOG_LEVEL: 'info',
    ...extra,
  };
}

interface Burst {
  tenantId: TenantId;
  dueAt: number;
  /** userId → the email delivery's idempotency key. */
  keyByUser: Map<string, string>;
  workflowIds: string[];
}

/** Creates `count` one-shot email reminders (one user each) due together `leadMs` from now. */
async function createBurst(taskQueue: string, count: number, leadMs: number): Promise<Burst> {
  const tenantId = TenantId(`scale-${randomBytes(3).toString('hex')}`);
  const service = createReminderService({ workflows: client.workflow, taskQueue, persistence: createStoragePersistence(database.db), catchUpWindowMs: 15 * 60_000 });
  const dtstart = new Date(Date.now() + leadMs).toISOString().slice(0, 19);
  const burst: Burst = { tenantId, dueAt: Date.parse(`${dtstart}Z`), keyByUser: new Map(), workflowIds: [] };
  const users = Array.from({ length: count }, (_, i) => `u${String(i + 1).padStart(3, '0')}`);
  for (let i = 0; i < users.length; i += 8) {
    await Promise.all(
      users.slice(i, i + 8).map(async (userId) => {
        const view = await service.create(
          { tenantId },
          { userId, email: `${userId}@example.com`, title: `For ${userId}`, body: 'Once.', channels: ['email'], recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' } },
        );
        const recurrenceId = view.upcoming[0]?.utc ?? '';
        burst.keyByUser.set(userId, deliveryIdempotencyKey({ tenantId, userId, occurrence: { reminderId: view.id, recurrenceId }, channel: 'email' }));
        burst.workflowIds.push(view.workflowId);
      }),
    );
  }
  // A precondition: reminders created after their instant would test nothing.
  expect(Date.now(), `${count} reminders created after they were due`).toBeLessThan(burst.dueAt);
  return burst;
}

const messagesTo = (burst: Burst) => {
  const keys = new Set(burst.keyByUser.values());
  return smtp.received.filter((m) => keys.has(m.headers[KEY_HEADER] ?? ''));
};

async function ledgerOf(burst: Burst) {
  return database.db.selectFrom('deliveries').select(['idempotency_key', 'status', 'attempts']).where('tenant_id', '=', burst.tenantId).execute();
}

async function completedReminders(burst: Burst): Promise<number> {
  const rows = await database.db.selectFrom('reminders').select('id').where('tenant_id', '=', burst.tenantId).where('status', '=', 'completed').execute();
  return rows.length;
}

/** Each activity of a workflow that delivers (`sendOccurrence`, or `deliver` after it): the worker that ran it (`pid@host`), its attempt, and whether it completed. */
async function deliverActivities(workflowId: string): Promise<{ identity: string; attempt: number; completed: boolean }[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const delivering = new Set(['sendOccurrence', 'deliver']);
  const scheduled = new Set(events.filter((e) => delivering.has(e.activityTaskScheduledEventAttributes?.activityType?.name ?? '')).map((e) => String(e.eventId)));
  const completed = new Set(events.map((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId).filter((id) => id != null).map(String));
  return events
    .filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((e) => ({
      identity: e.activityTaskStartedEventAttributes!.identity ?? '',
      attempt: e.activityTaskStartedEventAttributes!.attempt ?? 0,
      completed: completed.has(String(e.activityTaskStartedEventAttributes!.scheduledEventId)),
    }));
}

const countBy = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});

describe('scale-out and graceful shutdown (real Temporal, PostgreSQL, SMTP, worker processes)', () => {
  it('(a) two worker processes on one task queue share a burst: both deliver, every user gets exactly one email', async () => {
    const count = 40;
    const taskQueue = `scale-a-${randomBytes(6).toString('hex')}`;
    const workers = await Promise.all([spawnWorker(processEnv(taskQueue), { readyTimeoutMs: 180_000 }), spawnWorker(processEnv(taskQueue), { readyTimeoutMs: 180_000 })]);
    const burst = await createBurst(taskQueue, count, 15_000);

    await waitUntil(`${count} emails`, () => messagesTo(burst).length >= count, {
      timeoutMs: 180_000,
      intervalMs: 500,
      describe: () => `${messagesTo(burst).length} received`,
    });
    await waitUntil(`${count} reminders completed`, async () => (await completedReminders(burst)) >= count, { timeoutMs: 120_000, intervalMs: 500 });

    const messages = messagesTo(burst);
    const perUser = countBy(messages.map((m) => m.to.join(',')));
    expect(messages).toHaveLength(count);
    expect(Object.keys(perUser)).toHaveLength(count);
    expect(Object.values(perUser).every((n) => n === 1)).toBe(true);
    expect(new Set(messages.map((m) => m.headers['message-id'])).size).toBe(count);
    expect(new Set(messages.map((m) => m.headers[KEY_HEADER]))).toEqual(new Set(burst.keyByUser.values()));
    const ledger = await ledgerOf(burst);
    expect(ledger).toHaveLength(count);
    expect(ledger.every((r) => r.status === 'sent')).toBe(true);

    // Who delivered: one completed delivering activity per reminder, and both worker processes among them.
    const runs = (await Promise.all(burst.workflowIds.map(deliverActivities))).flat();
    const pidOf = (identity: string) => Number(identity.split('@')[0]);
    const perWorker = countBy(runs.map((r) => String(pidOf(r.identity))));
    console.log(`[scale-out] (a) ${count} reminders on 2 workers: deliveries per worker pid ${JSON.stringify(perWorker)}; ${messages.length} emails`);
    expect(runs).toHaveLength(count);
    expect(runs.every((r) => r.completed)).toBe(true);
    expect(Object.keys(perWorker).map(Number).sort()).toEqual(workers.map((w) => w.pid).sort());
    expect(workers.every((w) => w.alive())).toBe(true);
    await Promise.all(workers.map((w) => w.kill()));
  });

  it('(b) SIGTERM during an in-flight delivery: the worker drains it, exits 0 within the grace time, the email arrives once', async () => {
    const taskQueue = `scale-b-${randomBytes(6).toString('hex')}`;
    const env = processEnv(taskQueue, { CHIME_WORKER_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS) });
    const worker = await spawnWorker(env, { readyTimeoutMs: 180_000 });
    smtp.hold();
    const burst = await createBurst(taskQueue, 1, 5_000);
    const [key] = [...burst.keyByUser.values()];

    // The delivery is in flight: the message's DATA is at the SMTP server, unanswered; the ledger holds the claim.
    await waitUntil('the delivery held at the SMTP server', () => smtp.held().length === 1, { timeoutMs: 60_000, intervalMs: 50 });
    expect((await ledgerOf(burst)).map((r) => r.status)).toEqual(['claimed']);

    const signalledAt = Date.now();
    worker.signal('SIGTERM');
    await waitUntil('the worker draining', () => worker.output().includes('draining'), { timeoutMs: 10_000, intervalMs: 20 });
    expect(worker.alive(), 'the worker waits for its in-flight delivery').toBe(true);
    expect(smtp.held()).toHaveLength(1);
    expect(smtp.held()[0]!.connectionOpen).toBe(true);

    expect(smtp.release()).toEqual({ stored: 1, dropped: 0 });
    const exit = await Promise.race([
      worker.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`worker still running ${SHUTDOWN_GRACE_MS + 10_000} ms after SIGTERM:\n${worker.output()}`)), SHUTDOWN_GRACE_MS + 10_000)),
    ]);
    const exitedAfterMs = Date.now() - signalledAt;
    console.log(`[scale-out] (b) SIGTERM with one delivery in flight: exit ${JSON.stringify(exit)} after ${exitedAfterMs} ms (grace ${SHUTDOWN_GRACE_MS} ms)`);
    expect(exit, worker.output()).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(SHUTDOWN_GRACE_MS);
    expect(worker.output()).toContain('chime worker: stopped');
    // Recorded sent by the draining worker, on its first attempt.
    expect(await ledgerOf(burst)).toEqual([{ idempotency_key: key, status: 'sent', attempts: 1 }]);
    expect(messagesTo(burst)).toHaveLength(1);

    // The next worker finishes the reminder from the recorded result: no second attempt, no second email.
    const next = await spawnWorker(env, { readyTimeoutMs: 180_000 });
    await waitUntil('the reminder completed', async () => (await completedReminders(burst)) === 1, { timeoutMs: 60_000, intervalMs: 250 });
    const decisions = await database.db.selectFrom('occurrence_decisions').select('kind').where('tenant_id', '=', burst.tenantId).execute();
    expect(decisions.map((d) => d.kind)).toEqual(['sent']);
    const runs = await deliverActivities(burst.workflowIds[0]!);
    expect(runs).toEqual([{ identity: expect.stringMatching(new RegExp(`^${worker.pid}@`)), attempt: 1, completed: true }]);
    expect(messagesTo(burst)).toHaveLength(1);
    expect(await ledgerOf(burst)).toEqual([{ idempotency_key: key, status: 'sent', attempts: 1 }]);
    await next.kill();
  });

  it('(c) SIGTERM to the API process: it closes and exits 0', async () => {
    const port = await freePort();
    const api = await spawnWorker(processEnv(`scale-c-${randomBytes(6).toString('hex')}`, { CHIME_API_PORT: String(port) }), { entry: 'api', readyTimeoutMs: 120_000 });
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    const signalledAt = Date.now();
    api.signal('SIGTERM');
    const exit = await api.exited;
    expect(exit, api.output()).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(api.output()).toContain('chime api: stopped');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
