/**
 * Runs Temporal's own dev server (`temporal server start-dev`) as a child process: used by
 * `npm start` (persistent SQLite file, Web UI) and by the test suite (in memory, headless).
 * The project's search attributes are registered at start from workflows/search-attributes.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

export interface DevServerOptions {
  /** Path of the `temporal` CLI binary (scripts/temporal-tools.mjs resolves it). */
  cliPath: string;
  ip?: string;
  port: number;
  /** Web UI port; `undefined` runs headless. */
  uiPort?: number;
  /** SQLite file for persistent state; `undefined` keeps everything in memory. */
  dbFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readyTimeoutMs?: number;
  /** Where the Web UI decodes encrypted payloads (Chime's `/codec`). */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  /** gRPC address for clients and workers, `host:port`. */
  address: string;
  uiUrl?: string;
  /** The server's process id (the benchmarks read its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

// The search attribute type names the CLI expects for each SDK type.
const CLI_TYPE: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/**
 * The SQLite file's journal: a write-ahead log, synced at every commit. SQLite's default, a rollback
 * journal, copies each page a commit changes into the journal and then into the database, with four
 * fsyncs per commit, and the dev server's commits run one at a time. The WAL writes each page once
 * and syncs once per commit; `full` keeps the durability the default had (a committed transaction
 * survives a power loss). An existing file is converted when the server opens it. Measured in
 * docs/performance.md ("The dev server's SQLite journal").
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=full'] as const;

export function devServerArgs(options: DevServerOptions): string[] {
  const ip = options.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(options.port)];
  args.push('--log-level', options.logLevel ?? 'warn');
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  if (options.dbFile) {
    args.push('--db-filename', options.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (options.uiCodecEndpoint && options.uiPort !== undefined) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  // Updates are how reminders are edited; the SDK's own test launcher enables the same.
  for (const flag of ['frontend.enableUpdateWorkflowExecution', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted']) {
    args.push('--dynamic-config-value', `${flag}=true`);
  }
  return args;
}

async function waitUntilServing(address: string, child: ChildProcess, timeoutMs: number, stderr: () => string) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`temporal dev server exited (${child.exitCode ?? child.signalCode}) before serving:\n${stderr()}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const address = `${ip}:${options.port}`;
  // Own process group: a terminal's Ctrl-C reaches us, and we stop the server last, after the
  // worker and API that depend on it have drained.
  const child = spawn(options.cliPath, devServerArgs(options), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-8_000);
  });
  // Never leave an orphan server behind, whatever way this process ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitUntilServing(address, child, options.readyTimeoutMs ?? 60_000, () => stderrTail);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address,
    pid: child.pid!,
    ...(options.uiPort !== undefined ? { uiUrl: `http://${ip}:${options.uiPort}` } : {}),
    stop,
  };
}
