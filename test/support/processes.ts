/**
 * Real processes for fault tests, each on loopback and each stoppable and startable again:
 * - a Temporal dev server with a persistent SQLite file on a fixed port (stop, then start again on
 *   the same port with the same file: workflows, timers and activity tasks survive);
 * - a PostgreSQL server of its own (scripts/postgres-test-server.sh with CHIME_PG_DIR);
 * - Chime workers as child processes (`node --import tsx src/entry/worker.ts`), killed with SIGKILL.
 * Every child is registered so `killLeftovers()` in afterAll can end whatever a failed test left.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';

const execFileAsync = promisify(execFile);
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Polls `check` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs, intervalMs = 250, describe }: { timeoutMs: number; intervalMs?: number; describe?: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error; // e.g. the database is restarting: keep polling
    }
    if (Date.now() >= deadline) {
      const state = describe ? ` (${await Promise.resolve(describe()).catch((e: unknown) => String(e))})` : '';
      const cause = lastError ? `; last error: ${String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Temporal dev server, restartable

export interface RestartableDevServer {
  address: string;
  port: number;
  dbFile: string;
  running(): boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); its state stays in `dbFile`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same SQLite file; resolves once it serves. */
  start(): Promise<void>;
}

export async function startRestartableDevServer(options: { cliPath: string; port: number; dbFile: string }): Promise<RestartableDevServer> {
  let server: DevServer | undefined;
  const start = async () => {
    if (server) return;
    server = await startDevServer({ cliPath: options.cliPath, port: options.port, dbFile: options.dbFile, readyTimeoutMs: 60_000 });
  };
  await start();
  return {
    address: `127.0.0.1:${options.port}`,
    port: options.port,
    dbFile: options.dbFile,
    running: () => server !== undefined,
    start,
    async stop() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL, restartable

const PG_SCRIPT = path.join(REPO_ROOT, 'scripts', 'postgres-test-server.sh');

export interface RestartablePostgres {
  /** Admin URL (database `postgres`). */
  adminUrl: string;
  dir: string;
  /** Fast shutdown: open connections are terminated. */
  stop(): Promise<void>;
  /** Starts it again from the same directory, on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
}

async function runPgScript(dir: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [PG_SCRIPT, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, CHIME_PG_DIR: dir },
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    throw new Error(`postgres-test-server.sh ${args.join(' ')} failed: ${e.stderr ?? e.message ?? String(error)}`, { cause: error });
  }
}

export async function startRestartablePostgres(dir: string): Promise<RestartablePostgres> {
  const start = async () => {
    const lines = (await runPgScript(dir)).trim().split('\n');
    const url = lines[lines.length - 1]?.trim() ?? '';
    if (!url.startsWith('postgres://')) throw new Error(`postgres-test-server.sh printed no URL: ${lines.join(' | ')}`);
    return url;
  };
  const adminUrl = await start();
  return {
    adminUrl,
    dir,
    async stop() {
      await runPgScript(dir, 'stop');
    },
    async start() {
      const url = await start();
      if (url !== adminUrl) throw new Error(`PostgreSQL came back on ${url}, not on ${adminUrl}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Worker child processes

const children = new Set<ChildProcess>();

export interface WorkerProcess {
  pid: number;
  /** When it logged that it started (epoch ms). */
  readyAt: number;
  alive(): boolean;
  /** Resolves when the process has exited (with its exit code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** Sends `signal` (e.g. SIGTERM for a graceful shutdown) and returns at once; `exited` tells the end. */
  signal(signal: NodeJS.Signals): void;
  /** The last few KB of its stdout and stderr, for failure messages. */
  output(): string;
}

/**
 * Spawns `node --import tsx src/entry/worker.ts` (or `api.ts`) with `env` on top of this process's
 * environment and resolves once it logs its ready line (`chime worker started` / `chime api started`;
 * rejects if it exits first or after `readyTimeoutMs`). Its metrics endpoints are off unless `env`
 * turns them on: several workers run side by side.
 */
export async function spawnWorker(
  env: Record<string, string>,
  { readyTimeoutMs = 90_000, entry = 'worker' }: { readyTimeoutMs?: number; entry?: 'worker' | 'api' } = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'entry', `${entry}.ts`)], {
    cwd: REPO_ROOT,
    env: { ...process.env, CHIME_WORKER_METRICS_ADDRESS: '', TEMPORAL_METRICS_ADDRESS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8_000);
  };
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });

  const readyAt = await new Promise<number>((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} not ready after ${readyTimeoutMs} ms:\n${tail}`));
    }, readyTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => logMessage(line) === `chime ${entry} started`)) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });

  return {
    pid: child.pid!,
    readyAt,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    signal(signal) {
      child.kill(signal);
    },
    output: () => tail,
  };
}

/** The `msg` of a JSON log line; undefined for any other line. */
export function logMessage(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return (JSON.parse(line) as { msg?: string }).msg;
  } catch {
    return undefined;
  }
}

/** SIGKILLs every worker child still running (afterAll). */
export async function killLeftovers(): Promise<void> {
  const waits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
