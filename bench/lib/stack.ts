/**
 * The benchmarks' embedded stack, assembled like `npm start` (Temporal dev server with a SQLite
 * file, PGlite, the file sink, Chime's worker and HTTP API) from the same composition root — plus
 * a bare worker on its own task queue for the baselines, on the same server in the same process.
 * The email sender is wrapped to record each provider acceptance: when, and how often per key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { ensureAdminKey } from '../../src/auth/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import type { MessageSender } from '../../src/domain/delivery.js';
import { activitiesFor, createSenders, DEFAULT_TENANT, openStorage, startApi, workerTuning } from '../../src/entry/runtime.js';
import { startDevServer } from '../../src/temporal/dev-server.js';
import type { OpenedDatabase } from '../../src/storage/index.js';
import { bundleWorkflows, createChimeWorker } from '../../src/temporal/worker.js';
import { NextOccurrenceKey } from '../../workflows/search-attributes.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

/** Provider acceptances seen by the wrapped email sender: acceptance instants per idempotency key. */
export class AcceptanceLog {
  readonly byKey = new Map<string, number[]>();
  record(key: string, at: number) {
    const seen = this.byKey.get(key);
    if (seen) seen.push(at);
    else this.byKey.set(key, [at]);
  }
  clear() {
    this.byKey.clear();
  }
  get duplicates() {
    let extra = 0;
    for (const at of this.byKey.values()) extra += at.length - 1;
    return extra;
  }
}

/** Chime's database in the benchmarks, for their headers: PGlite unless BENCH_DATABASE_URL names a PostgreSQL server. */
export const CHIME_DATABASE = process.env.BENCH_DATABASE_URL ? 'PostgreSQL server' : 'PGlite';

/** When each bare workflow's no-op activity ran, by workflow id. */
export const bareRuns = new Map<string, number>();

export interface BenchStack {
  dataDir: string;
  storage: OpenedDatabase;
  client: Client;
  apiUrl: string;
  adminKey: string;
  taskQueue: string;
  bareTaskQueue: string;
  acceptances: AcceptanceLog;
  /** The dev server's process id (for its CPU time). */
  serverPid: number;
  /** Bytes of the dev server's SQLite database (with its WAL). */
  serverDatabaseBytes(): Promise<number>;
  chimeWorker: Worker;
  stop(): Promise<void>;
}

export async function startBenchStack(options: { api?: boolean; chimeWorker?: boolean } = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-bench-'));
  const port = 17_233 + Math.floor(Math.random() * 1_000);
  const config = loadConfig({
    CHIME_DATA_DIR: dataDir,
    CHIME_LOG_LEVEL: 'silent',
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    CHIME_API_HOST: '127.0.0.1',
    CHIME_API_PORT: '0',
    CHIME_RATE_LIMIT_PER_MINUTE: '100000000',
    // Chime's database: the embedded PGlite, or a PostgreSQL server (a migrated, empty database).
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  const dbFile = path.join(dataDir, 'temporal.sqlite');
  const server = await startDevServer({ cliPath: resolveTool('cli'), port, dbFile });
  pin(server.pid, process.env.BENCH_SERVER_CPUS);
  pin(process.pid, process.env.BENCH_PROCESS_CPUS);
  const storage = await openStorage(config);
  const senders = createSenders(config); // no SMTP settings: the embedded file sink
  const acceptances = new AcceptanceLog();
  const email = senders.senders.email;
  const recordingEmail: MessageSender = {
    ...email,
    channel: 'email',
    async send(message, ...rest: unknown[]) {
      const acceptance = await (email.send as (...args: unknown[]) => ReturnType<MessageSender['send']>)(message, ...rest);
      acceptances.record(message.idempotencyKey, Date.now());
      return acceptance;
    },
  };
  const bundle = await bundleWorkflows(fileURLToPath(new URL('../workflows/index.ts', import.meta.url)));
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const taskQueue = config.temporal.taskQueue;
  const bareTaskQueue = `${taskQueue}-bare`;
  const chimeWorker = await createChimeWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: activitiesFor(storage.db, { ...senders.senders, email: recordingEmail }),
    // As `npm run worker` runs it; BENCH_WORKER_TUNING (JSON WorkerOptions) tries other settings.
    tuning: { ...workerTuning(config), ...(process.env.BENCH_WORKER_TUNING ? JSON.parse(process.env.BENCH_WORKER_TUNING) : {}) },
  });
  // The baseline: Temporal's defaults, the no-op activity recording when it ran — but for the sticky
  // queue's timeout, which is Chime's: at the default 10 s, a burst whose queue grows past 10 s falls
  // off a cliff (every task that times out comes back with its whole history to replay), and the
  // baseline flipped between two figures (N = 1,000: p99 11 s or 27 s) from run to run.
  const bareWorker = await Worker.create({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue: bareTaskQueue,
    workflowBundle: bundle,
    stickyQueueScheduleToStartTimeout: workerTuning(config).stickyQueueScheduleToStartTimeout,
    activities: {
      noop: async () => {},
      ranAt: async (id: string) => {
        bareRuns.set(id, Date.now());
      },
    },
  });
  const running = [options.chimeWorker === false ? Promise.resolve() : chimeWorker.run(), bareWorker.run()];
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const keyFile = path.join(dataDir, 'admin-api-key');
  await ensureAdminKey(storage.db, DEFAULT_TENANT, keyFile);
  const adminKey = (await readFile(keyFile, 'utf8')).trim();
  const api = options.api === false ? undefined : await startApi(config, storage);
  const size = (file: string) => stat(file).then((s) => s.size, () => 0);
  return {
    dataDir,
    storage,
    client,
    apiUrl: api?.url ?? '',
    adminKey,
    taskQueue,
    bareTaskQueue,
    acceptances,
    chimeWorker,
    serverPid: server.pid,
    serverDatabaseBytes: async () => (await size(dbFile)) + (await size(`${dbFile}-wal`)),
    async stop() {
      await api?.close();
      if (chimeWorker.getState() === 'RUNNING') chimeWorker.shutdown();
      bareWorker.shutdown();
      await Promise.all(running);
      await nativeConnection.close();
      await connection.close();
      await senders.close();
      await storage.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A diagnostic, not a default: BENCH_SERVER_CPUS=0 BENCH_PROCESS_CPUS=1 keeps the dev server and this
 * process (workers, API, PGlite) off each other's cores, as separate machines would (Linux `taskset`).
 */
function pin(pid: number, cpus: string | undefined) {
  if (!cpus) return;
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
  console.log(`  (diagnostic) ${pid === process.pid ? 'this process' : 'the dev server'} pinned to CPUs ${cpus}`);
}

/** Reminder workflows that have planned: running, with their next occurrence set. */
export const PLANNED = `ExecutionStatus="Running" AND ${NextOccurrenceKey.name} IS NOT NULL`;

/**
 * Waits until `query` counts at least `total` workflows; returns the seconds waited. Fails only when
 * the count stops moving for `stallMs`: a backlog takes as long as the server needs, which no fixed
 * budget predicts. Each count scans visibility on the server being measured, so it is asked every
 * `everyMs`, no more often; `progress` hears the count every 30 s.
 */
export async function waitForCount(
  client: Client,
  query: string,
  total: number,
  { everyMs, stallMs = 5 * 60_000, progress }: { everyMs: number; stallMs?: number; progress?: (count: number) => void },
): Promise<number> {
  const started = Date.now();
  let lastProgress = started;
  let last = { count: -1, at: started };
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= total) return (Date.now() - started) / 1000;
    if (count > last.count) last = { count, at: Date.now() };
    else if (Date.now() - last.at > stallMs) throw new Error(`${count} of ${total} workflows match ${query}; none more for ${stallMs / 1000} s`);
    if (progress && Date.now() - lastProgress >= 30_000) {
      progress(count);
      lastProgress = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

export const quantile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? NaN;
};

/**
 * Workflow tasks that timed out waiting on a worker's sticky queue, per workflow, in a sample of
 * `workflowIds` (their histories; a sample because each is a call to the server being measured).
 * Each such task came back to the shared queue with the whole history to replay: a burst whose
 * queue outgrew the sticky timeout fell off the cliff docs/performance.md describes.
 */
export async function stickyTimeoutsPerWorkflow(client: Client, workflowIds: readonly string[], sample = 100): Promise<number> {
  const step = Math.max(1, Math.floor(workflowIds.length / sample));
  const picked = workflowIds.filter((_, i) => i % step === 0).slice(0, sample);
  const SCHEDULE_TO_START = 2; // temporal.api.enums.v1.TimeoutType (@temporalio/proto is no direct dependency)
  let timeouts = 0;
  for (const id of picked) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const event of history.events ?? []) {
      const timedOut = event.workflowTaskTimedOutEventAttributes;
      if (Number(timedOut?.timeoutType) === SCHEDULE_TO_START) timeouts++;
    }
  }
  return picked.length === 0 ? 0 : timeouts / picked.length;
}
