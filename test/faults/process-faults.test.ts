/**
 * Process-level faults, everything real on loopback: a Temporal dev server (SQLite file, restartable
 * on the same port), a PostgreSQL server of its own, a real SMTP server that can hold messages in
 * the ambiguous window (DATA sent, no answer yet), and Chime workers as child processes.
 *
 * Each scenario schedules a batch of one-shot reminders due at one instant (one user each), lets
 * some of them be delivered, puts the SMTP server on hold, waits until every message the server
 * did accept is recorded `sent` in the delivery ledger, and then injects one fault while the rest
 * are in flight:
 *   (a) the worker is SIGKILLed (the held messages' connections die: they are dropped);
 *   (b) the Temporal server is stopped and started again (the worker keeps running);
 *   (c) PostgreSQL is stopped while the held messages are answered, and started 10 s later.
 * Whatever happens, every user must get exactly one email — none lost, no second copy (not even
 * one with the same Message-ID) — and the Chronos checker must find no missing or extra delivery.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { messageIdFor } from '../../src/channels/email.js';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { ScheduleId, TenantId, UserId } from '../../src/domain/ids.js';
import { createSchedulePersistence } from '../../src/schedules/persistence.js';
import { createScheduleService } from '../../src/schedules/service.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { openDatabase, type OpenedDatabase } from '../../src/storage/database.js';
import { checkDeliveries, type ActualDelivery } from '../support/chronos.js';
import { freePort } from '../support/ports.js';
import {
  killLeftovers,
  spawnWorker,
  startRestartableDevServer,
  startRestartablePostgres,
  waitUntil,
  type RestartableDevServer,
  type RestartablePostgres,
  type WorkerProcess,
} from '../support/processes.js';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.js';

const CATCH_UP_WINDOW_MS = 15 * 60_000;
/** Every message of scenario (a) must arrive within this long after the new worker is up. */
const BACK_WITHIN_MS = 60_000;
const ALL_ARRIVED_WITHIN_MS = 4 * 60_000;
/** Messages stored before the SMTP server goes on hold. */
const STORED_BEFORE_HOLD = 20;
const KEY_HEADER = 'x-chime-idempotency-key';

let workDir: string;
let pgDir: string;
let temporal: RestartableDevServer;
let postgres: RestartablePostgres;
let databaseUrl: string;
let database: OpenedDatabase;
let smtp: TestSmtpServer;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'chime-faults-'));
  // As root the PostgreSQL server runs as `postgres`, which must reach its directory: /var/tmp.
  pgDir = await mkdtemp('/var/tmp/chime-faults-pg-');
  const cliPath = resolveTool('cli');
  const port = await freePort();
  [temporal, postgres, smtp] = await Promise.all([
    startRestartableDevServer({ cliPath, port, dbFile: path.join(workDir, 'temporal.sqlite') }),
    startRestartablePostgres(pgDir),
    startSmtpServer(),
  ]);
  // A database for the run, migrated by openDatabase (as test/support/database.ts does on a server).
  const name = `chime_faults_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgres.adminUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  database = await openDatabase({ dataDir: workDir, databaseUrl, pool: { connectionTimeoutMs: 2_000 } });
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

// ---------------------------------------------------------------------------------------------
// One scenario's batch

interface Batch {
  label: string;
  tenantId: TenantId;
  taskQueue: string;
  dueAt: number;
  /** userId → the delivery's idempotency key. */
  keyByUser: Map<string, string>;
  userByKey: Map<string, string>;
  /** smtp.received.length when the scenario began (the SMTP server is shared). */
  receivedBefore: number;
  /** How long creating the batch took. */
  createdInMs: number;
  worker?: WorkerProcess;
}

const userIdOf = (i: number) => `u${String(i + 1).padStart(3, '0')}`;
/** 'YYYY-MM-DDTHH:mm:ss' in UTC. */
const utcWall = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 19);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function workerEnv(taskQueue: string): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporal.address,
    DATABASE_URL: databaseUrl,
    SMTP_URL: smtp.url,
    CHIME_TASK_QUEUE: taskQueue,
    CHIME_DATA_DIR: path.join(workDir, `data-${taskQueue}`),
    CHIME_LOG_LEVEL: 'info', // spawnWorker waits for the `chime worker started` line
  };
}

async function mapLimit<T, R>(items: T[], limit: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await run(items[i]!, i);
    }),
  );
  return results;
}

/**
 * Starts a worker for a new task queue, then creates `count` one-shot reminders due at one instant
 * `leadMs` from now (far enough ahead that all exist before it).
 */
async function startBatch(label: string, count: number, leadMs: number): Promise<Batch> {
  const tenantId = TenantId(`faults-${label}-${randomBytes(3).toString('hex')}`);
  const taskQueue = `faults-${label}-${randomBytes(6).toString('hex')}`;
  const worker = await spawnWorker(workerEnv(taskQueue));
  const service = createReminderService({
    workflows: client.workflow,
    taskQueue,
    persistence: createStoragePersistence(database.db),
    catchUpWindowMs: CATCH_UP_WINDOW_MS,
  });
  const dtstart = utcWall(Date.now() + leadMs);
  const dueAt = Date.parse(`${dtstart}Z`);
  const batch: Batch = {
    label,
    tenantId,
    taskQueue,
    dueAt,
    keyByUser: new Map(),
    userByKey: new Map(),
    receivedBefore: smtp.received.length,
    createdInMs: 0,
    worker,
  };
  const creating = Date.now();
  const users = Array.from({ length: count }, (_, i) => userIdOf(i));
  await mapLimit(users, 8, async (userId) => {
    const view = await service.create(
      { tenantId },
      {
        userId,
        email: `${userId}@example.com`,
        title: `Fault ${label} for ${userId}`,
        body: 'One, exactly.',
        channels: ['email'],
        recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
      },
    );
    const occurrence = view.upcoming[0];
    if (!occurrence || Date.parse(occurrence.utc) !== dueAt) throw new Error(`${userId}: unexpected occurrence ${occurrence?.utc}`);
    const key = deliveryIdempotencyKey({ tenantId, userId, occurrence: { reminderId: view.id, recurrenceId: occurrence.utc }, channel: 'email' });
    batch.keyByUser.set(userId, key);
    batch.userByKey.set(key, userId);
  });
  const createdBy = Date.now();
  batch.createdInMs = createdBy - creating;
  // A precondition, not a measurement: with reminders created after their instant the scenario tests nothing.
  expect(createdBy, `all ${count} reminders created ${seconds(createdBy - dueAt)} after they were due`).toBeLessThan(dueAt);
  return batch;
}

/** This scenario's messages (the SMTP server is shared by the scenarios). */
const messagesOf = (batch: Batch): ReceivedMail[] => smtp.received.slice(batch.receivedBefore);

async function ledgerStatuses(batch: Batch): Promise<Map<string, { status: string; attempts: number }>> {
  const rows = await database.db
    .selectFrom('deliveries')
    .select(['idempotency_key', 'status', 'attempts'])
    .where('tenant_id', '=', batch.tenantId)
    .execute();
  return new Map(rows.map((r) => [r.idempotency_key, { status: r.status, attempts: r.attempts }]));
}

const countBy = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});

/**
 * Waits for at least STORED_BEFORE_HOLD messages, puts the SMTP server on hold, waits until some
 * delivery is held in the ambiguous window and every message the server did take is recorded
 * `sent` in the ledger (so nothing accepted is left unrecorded when the fault hits).
 */
async function holdAndSettle(batch: Batch): Promise<{ storedBeforeHold: number; heldAtFault: number }> {
  await smtp.waitFor(batch.receivedBefore + STORED_BEFORE_HOLD, 120_000);
  smtp.hold();
  await waitUntil('a delivery held at the SMTP server', () => smtp.held().length > 0, { timeoutMs: 30_000, intervalMs: 50 });
  const stored = messagesOf(batch).map((m) => m.headers[KEY_HEADER] ?? '');
  await waitUntil(
    `the ${stored.length} accepted messages recorded sent in the ledger`,
    async () => {
      const ledger = await ledgerStatuses(batch);
      return stored.every((key) => ledger.get(key)?.status === 'sent');
    },
    {
      timeoutMs: 20_000,
      intervalMs: 100,
      describe: async () => {
        const ledger = await ledgerStatuses(batch);
        return JSON.stringify(countBy(stored.map((key) => ledger.get(key)?.status ?? 'no row')));
      },
    },
  );
  // Nothing was taken meanwhile: the server is on hold.
  expect(messagesOf(batch).length).toBe(stored.length);
  return { storedBeforeHold: stored.length, heldAtFault: smtp.held().length };
}

interface Outcome {
  stored: number;
  distinctMessageIds: number;
  duplicates: number;
  maxAfterBackMs: number;
  maxLateVsDueMs: number;
}

/**
 * Waits until every user's message arrived and every reminder has ended, then checks exactly-once:
 * per user, per Message-ID, in the ledger and in the decisions, and with the Chronos checker.
 */
async function checkExactlyOnce(batch: Batch, backAt: number, extra: string): Promise<Outcome> {
  const count = batch.keyByUser.size;
  const distinctIds = () => new Set(messagesOf(batch).map((m) => m.headers['message-id'])).size;
  const diagnosis = async () => {
    const ledger = await ledgerStatuses(batch).catch(() => new Map<string, { status: string; attempts: number }>());
    const received = new Set(messagesOf(batch).map((m) => m.headers[KEY_HEADER]));
    const missingUsers = [...batch.keyByUser].filter(([, key]) => !received.has(key)).map(([user, key]) => `${user}:${ledger.get(key)?.status ?? 'no row'}`);
    return `distinct Message-IDs ${distinctIds()}/${count}, ledger ${JSON.stringify(countBy([...ledger.values()].map((r) => r.status)))}, missing ${missingUsers.slice(0, 10).join(' ')}${missingUsers.length > 10 ? ' …' : ''}`;
  };
  await waitUntil(`${count} distinct Message-IDs`, () => distinctIds() >= count, {
    timeoutMs: ALL_ARRIVED_WITHIN_MS,
    intervalMs: 500,
    describe: diagnosis,
  });
  // Every workflow ends with its decision recorded and its status completed in the database.
  await waitUntil(
    `${count} reminders completed with their decision recorded`,
    async () => {
      const [decided, completed] = await Promise.all([
        database.db
          .selectFrom('occurrence_decisions')
          .select(sql<number>`count(distinct reminder_id)::int`.as('n'))
          .where('tenant_id', '=', batch.tenantId)
          .executeTakeFirstOrThrow(),
        database.db
          .selectFrom('reminders')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('tenant_id', '=', batch.tenantId)
          .where('status', '=', 'completed')
          .executeTakeFirstOrThrow(),
      ]);
      return decided.n >= count && completed.n >= count;
    },
    { timeoutMs: 120_000, intervalMs: 500, describe: diagnosis },
  );

  const messages = messagesOf(batch);
  const keys = messages.map((m) => m.headers[KEY_HEADER] ?? '');
  const perUser = countBy(messages.map((m) => m.to.join(',')));
  const perMessageId = countBy(messages.map((m) => m.headers['message-id'] ?? ''));
  const duplicates = Object.entries(perMessageId).filter(([, n]) => n > 1);
  const ledger = await ledgerStatuses(batch);
  const decisions = await database.db
    .selectFrom('occurrence_decisions')
    .select(['user_id', 'kind', 'occurrence_at', 'decided_at', 'channels', 'sequence'])
    .where('tenant_id', '=', batch.tenantId)
    .execute();

  const outcome: Outcome = {
    stored: messages.length,
    distinctMessageIds: Object.keys(perMessageId).length,
    duplicates: messages.length - Object.keys(perMessageId).length,
    maxAfterBackMs: Math.max(...messages.map((m) => m.receivedAt)) - backAt,
    maxLateVsDueMs: Math.max(...messages.map((m) => m.receivedAt - batch.dueAt)),
  };
  const arrivedAfterBack = messages.filter((m) => m.receivedAt >= backAt).length;
  console.log(
    `[faults] (${batch.label}) ${count} reminders: ${outcome.stored} stored, ${outcome.distinctMessageIds} distinct Message-IDs, ` +
      `${outcome.duplicates} duplicates, ${count - new Set(keys).size} lost; ${extra}; ${arrivedAfterBack} arrived after the comeback, ` +
      `the last ${seconds(outcome.maxAfterBackMs)} after it (${seconds(outcome.maxLateVsDueMs)} after due); ` +
      `ledger ${JSON.stringify(countBy([...ledger.values()].map((r) => r.status)))}, attempts ${JSON.stringify(countBy([...ledger.values()].map((r) => String(r.attempts))))}; ` +
      `decisions ${JSON.stringify(countBy(decisions.map((d) => d.kind)))}` +
      (duplicates.length > 0 ? `; duplicated ${duplicates.slice(0, 5).map(([id, n]) => `${id}×${n}`).join(' ')}` : ''),
  );

  // The provider's view: exactly one message per user, each its own Message-ID, none foreign.
  expect(duplicates, 'Message-IDs stored more than once').toEqual([]);
  expect(messages.length).toBe(count);
  expect(Object.values(perUser).every((n) => n === 1) && Object.keys(perUser).length === count).toBe(true);
  expect(new Set(keys)).toEqual(new Set(batch.keyByUser.values()));
  for (const m of messages) expect(m.headers['message-id']).toBe(messageIdFor(m.headers[KEY_HEADER] ?? ''));
  expect(messages.every((m) => m.receivedAt >= batch.dueAt)).toBe(true);
  // The ledger: one row per user, settled sent.
  expect([...ledger.keys()].sort()).toEqual([...batch.keyByUser.values()].sort());
  expect([...ledger.values()].every((r) => r.status === 'sent')).toBe(true);

  // Chronos: the expected occurrence per user (its own "channel"), against what was delivered —
  // once from the stored messages, once from the recorded decisions.
  const channels = [...batch.keyByUser.keys()].map((user) => `email:${user}`);
  const fromMessages: ActualDelivery[] = messages.map((m) => ({
    channel: `email:${batch.userByKey.get(m.headers[KEY_HEADER] ?? '') ?? m.to.join(',')}`,
    occurrenceAt: batch.dueAt,
    sentAt: m.receivedAt,
  }));
  const fromDecisions: ActualDelivery[] = decisions
    .filter((d) => d.kind === 'sent')
    .flatMap((d) =>
      (d.channels as { channel: string; outcome: string }[])
        .filter((c) => c.outcome === 'sent')
        .map((c) => ({ channel: `${c.channel}:${d.user_id}`, occurrenceAt: d.occurrence_at.getTime(), sentAt: d.decided_at.getTime() })),
    );
  for (const actual of [fromMessages, fromDecisions]) {
    const report = checkDeliveries([batch.dueAt], channels, actual, CATCH_UP_WINDOW_MS);
    expect({ missing: report.missing, extra: report.extra }).toEqual({ missing: [], extra: [] });
    expect(report.late).toEqual([]);
  }
  expect(decisions.every((d) => d.kind === 'sent')).toBe(true);
  return outcome;
}

// ---------------------------------------------------------------------------------------------

describe('process faults during a burst of due reminders (real Temporal, PostgreSQL, SMTP, worker processes)', () => {
  it('(a) SIGKILL of the worker with deliveries held at the SMTP server: exactly once, and soon after a new worker is up', { timeout: 360_000 }, async () => {
    const batch = await startBatch('a', 200, 30_000);
    const { storedBeforeHold } = await holdAndSettle(batch);

    await batch.worker!.kill();
    // Wait until the server has seen every connection of the dead worker (its only client) close:
    // whatever it had sent before dying has been read by then, so the held set is final.
    await waitUntil('the dead worker\'s SMTP connections closed', () => smtp.openConnections() === 0, { timeoutMs: 15_000, intervalMs: 50 });
    const heldAtKill = smtp.held().length;
    expect(heldAtKill, 'deliveries in flight at the SMTP server when the worker died').toBeGreaterThan(0);
    expect(smtp.held().every((m) => !m.connectionOpen)).toBe(true);
    const released = smtp.release();
    expect(released).toEqual({ stored: 0, dropped: heldAtKill });
    batch.worker = await spawnWorker(workerEnv(batch.taskQueue));
    const backAt = batch.worker.readyAt;

    const outcome = await checkExactlyOnce(
      batch,
      backAt,
      `created in ${seconds(batch.createdInMs)}; ${storedBeforeHold} stored before the hold, ${heldAtKill} held and dropped at the SIGKILL; new worker up ${seconds(backAt - batch.dueAt)} after due`,
    );
    expect(outcome.maxAfterBackMs, 'the last message after the new worker came up').toBeLessThanOrEqual(BACK_WITHIN_MS);
    await batch.worker.kill();
  });

  it('(b) the Temporal server stops and starts again on the same port and file: exactly once, none lost', { timeout: 360_000 }, async () => {
    const batch = await startBatch('b', 100, 20_000);
    const { storedBeforeHold, heldAtFault } = await holdAndSettle(batch);

    const stoppedAt = Date.now();
    await temporal.stop();
    await temporal.start();
    const backAt = Date.now();
    const released = smtp.release();
    expect(released.stored, 'deliveries held in flight across the restart, answered now').toBeGreaterThan(0);

    const outcome = await checkExactlyOnce(
      batch,
      backAt,
      `created in ${seconds(batch.createdInMs)}; ${storedBeforeHold} stored before the hold, ${heldAtFault} held when settled; Temporal down ${seconds(backAt - stoppedAt)}; on release ${released.stored} answered, ${released.dropped} dropped`,
    );
    expect(outcome.stored).toBe(100);
    expect(batch.worker!.alive(), `the worker kept running:\n${batch.worker!.output()}`).toBe(true);
    await batch.worker!.kill();
  });

  it('(c) PostgreSQL stops while held sends are answered, back 10 s later: every accepted send recorded, exactly once', { timeout: 360_000 }, async () => {
    const batch = await startBatch('c', 100, 20_000);
    const { storedBeforeHold, heldAtFault } = await holdAndSettle(batch);

    const stoppedAt = Date.now();
    await postgres.stop();
    const held = smtp.held();
    const released = smtp.release(); // answered while the database is down: the worker must still record them
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself
    await postgres.start(); // before any assertion: the next scenario needs the database
    const backAt = Date.now();
    expect(released.stored, `held at release: ${JSON.stringify(held)}`).toBeGreaterThan(0);

    const outcome = await checkExactlyOnce(
      batch,
      backAt,
      `created in ${seconds(batch.createdInMs)}; ${storedBeforeHold} stored before the hold, ${heldAtFault} held when settled; PostgreSQL down ${seconds(backAt - stoppedAt)}; on release ${released.stored} answered, ${released.dropped} dropped`,
    );
    expect(outcome.stored).toBe(100);
    expect(batch.worker!.alive(), `the worker kept running:\n${batch.worker!.output()}`).toBe(true);
    await batch.worker!.kill();
  });

  it('(d) SIGKILL of the worker in the middle of an audience fan-out: every recipient served once', { timeout: 360_000 }, async () => {
    const count = 300;
    const tenantId = TenantId(`faults-d-${randomBytes(3).toString('hex')}`);
    const taskQueue = `faults-d-${randomBytes(6).toString('hex')}`;
    await database.db.insertInto('tenants').values({ id: tenantId, name: tenantId }).execute();
    await database.db
      .insertInto('users')
      .values(
        Array.from({ length: count }, (_, i) => ({
          tenant_id: tenantId,
          id: UserId(userIdOf(i)),
          preferences: JSON.stringify({ timeZone: 'UTC', contacts: { email: { address: `${userIdOf(i)}@example.com`, verified: true } } }),
          tags: ['weekly'],
          updated_at: new Date(),
        })),
      )
      .execute();
    const batch: Batch = { label: 'd', tenantId, taskQueue, dueAt: 0, keyByUser: new Map(), userByKey: new Map(), receivedBefore: smtp.received.length, createdInMs: 0 };
    batch.worker = await spawnWorker(workerEnv(taskQueue));
    const schedules = createScheduleService({
      workflows: client.workflow,
      taskQueue,
      persistence: createSchedulePersistence(database.db),
      fanout: { pageSize: 25, maxPagesInFlight: 2 },
    });
    const dtstart = utcWall(Date.now() + 10_000);
    batch.dueAt = Date.parse(`${dtstart}Z`);
    const schedule = await schedules.create({ tenantId }, {
      name: 'Fault digest',
      recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
      audience: { filter: { tags: { all: ['weekly'] } } },
      content: { title: 'Once', body: 'Exactly once.' },
    });
    for (let i = 0; i < count; i++) {
      const key = deliveryIdempotencyKey({ tenantId, userId: userIdOf(i), occurrence: { scheduleId: schedule.id, recurrenceId: dtstart }, channel: 'email' });
      batch.keyByUser.set(userIdOf(i), key);
      batch.userByKey.set(key, userIdOf(i));
    }
    const { storedBeforeHold } = await holdAndSettle(batch);
    await batch.worker.kill();
    await waitUntil("the dead worker's SMTP connections closed", () => smtp.openConnections() === 0, { timeoutMs: 15_000, intervalMs: 50 });
    const heldAtKill = smtp.held().length;
    expect(heldAtKill, 'deliveries of a page in flight when the worker died').toBeGreaterThan(0);
    expect(smtp.release()).toEqual({ stored: 0, dropped: heldAtKill });
    batch.worker = await spawnWorker(workerEnv(taskQueue));
    const backAt = batch.worker.readyAt;

    await waitUntil(`${count} distinct Message-IDs`, () => new Set(messagesOf(batch).map((m) => m.headers['message-id'])).size >= count, { timeoutMs: ALL_ARRIVED_WITHIN_MS, intervalMs: 500 });
    const runs = await waitUntil(
      'the run complete',
      async () => {
        const [run] = await schedules.runs({ tenantId }, schedule.id, 1);
        return run?.completed && run.targeted === count ? run : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const messages = messagesOf(batch);
    const keys = messages.map((m) => m.headers[KEY_HEADER] ?? '');
    console.log(
      `[faults] (d) audience of ${count}: ${messages.length} stored, ${new Set(keys).size} distinct keys; ${storedBeforeHold} stored before the hold, ${heldAtKill} held and dropped at the SIGKILL; ` +
        `the last ${seconds(Math.max(...messages.map((m) => m.receivedAt)) - backAt)} after the new worker was up; run ${JSON.stringify(runs)}`,
    );
    expect(messages).toHaveLength(count);
    expect(new Set(keys)).toEqual(new Set(batch.keyByUser.values()));
    expect(runs).toMatchObject({ targeted: count, sent: count, failed: 0 });
    const decisions = await database.db
      .selectFrom('occurrence_decisions')
      .select(['user_id', 'kind'])
      .where('tenant_id', '=', tenantId)
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .execute();
    expect(decisions).toHaveLength(count);
    expect(decisions.every((d) => d.kind === 'sent')).toBe(true);
    await batch.worker.kill();
  });
});
