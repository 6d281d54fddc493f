/**
 * Opens the database: embedded PGlite under `<dataDir>/pglite` when no URL is given, a PostgreSQL
 * server through a `pg` pool otherwise. Same schema, same Kysely query layer, same SQL on both.
 * Migrations run here on start unless switched off (`npm run db:migrate` runs them by hand).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { StorageError, StorageErrorType, guard } from './errors.js';
import { migrateToLatest, type MigrationReport } from './migrate.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export interface PoolOptions {
  /** Connections per process. Default 10. */
  max?: number;
  /** Give up acquiring a connection after this long. Default 10 000 ms. */
  connectionTimeoutMs?: number;
  /** Close connections idle for this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Server-side `statement_timeout`; 0 = none. Default 30 000 ms. */
  statementTimeoutMs?: number;
  /** Server-side `idle_in_transaction_session_timeout`; 0 = none. Default 60 000 ms. */
  idleInTransactionTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `chime`. */
  applicationName?: string;
}

export interface DatabaseOptions {
  /** The embedded database lives in `<dataDir>/pglite`. */
  dataDir: string;
  /** A PostgreSQL URL (`postgres://user:pass@host:5432/db?sslmode=verify-full`); unset = PGlite. */
  databaseUrl?: string;
  /** Run pending migrations before returning. Default true. */
  migrate?: boolean;
  pool?: PoolOptions;
  /**
   * TLS for the server connection when the URL carries no `sslmode`/`sslrootcert`/`sslcert`
   * parameters (pg lets the URL's TLS parameters win): e.g. `{ ca: readFileSync(caFile) }` to
   * trust a private CA, or `true` for TLS with the system CAs.
   */
  ssl?: boolean | ConnectionOptions;
  /** Errors of idle pooled connections (server restart, network drop). Default: ignored — the pool replaces them. */
  onPoolError?: (error: Error) => void;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: 'pglite' | 'postgres';
  /** Migrations applied while opening (empty when the schema was current or `migrate: false`). */
  migrations: MigrationReport;
  /** A round trip to the database (readiness checks). Throws StorageError `unavailable`. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_POOL: Required<PoolOptions> = {
  max: 10,
  connectionTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  applicationName: 'chime',
};

export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  const opened = options.databaseUrl ? openPostgres(options.databaseUrl, options) : await openPGlite(options.dataDir);
  let migrations: MigrationReport = { applied: [] };
  try {
    if (options.migrate !== false) migrations = await migrateToLatest(opened.db as Kysely<unknown>);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return { ...opened, migrations };
}

function withLifecycle(db: Kysely<Database>, kind: OpenedDatabase['kind']): Omit<OpenedDatabase, 'migrations'> {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    ping: () => guard(async () => void (await sql`select 1`.execute(db))),
    close: () => (closing ??= db.destroy()),
  };
}

function openPostgres(url: string, options: DatabaseOptions): Omit<OpenedDatabase, 'migrations'> {
  const p = { ...DEFAULT_POOL, ...options.pool };
  const pool = new pg.Pool({
    connectionString: url,
    max: p.max,
    connectionTimeoutMillis: p.connectionTimeoutMs,
    idleTimeoutMillis: p.idleTimeoutMs,
    statement_timeout: p.statementTimeoutMs,
    idle_in_transaction_session_timeout: p.idleInTransactionTimeoutMs,
    application_name: p.applicationName,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
  });
  pool.on('error', (error) => options.onPoolError?.(error));
  // The pool listens for errors only on idle clients. A client checked out between two queries when
  // the server goes away (a restart, a failover) would emit an unhandled 'error' and crash the
  // process: listen on every client. Its next query fails, and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', (error) => options.onPoolError?.(error)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return withLifecycle(db, 'postgres');
}

async function openPGlite(dataDir: string): Promise<Omit<OpenedDatabase, 'migrations'>> {
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDirectory(`${dir}.lock`);
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (error) {
    await unlock();
    throw new StorageError(StorageErrorType.Unavailable, `could not open the embedded database in ${dir}`, { cause: error });
  }
  const db = new Kysely<Database>({
    dialect: new PGliteDialect(client, {
      async onDestroy() {
        try {
          await client.close();
        } finally {
          await unlock();
        }
      },
    }),
  });
  return withLifecycle(db, 'pglite');
}

/** Lock files held by this process (a stale file naming our own pid is from a previous life). */
const held = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is single-process: two processes on one directory would corrupt it. A lock file beside it
 * holds the owner's pid; a lock whose process is gone is taken over.
 */
async function lockDirectory(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (held.has(file)) break;
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      held.add(file);
      return async () => {
        held.delete(file);
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new StorageError(
          StorageErrorType.DatabaseLocked,
          `the embedded database ${file.replace(/\.lock$/, '')} is in use by process ${owner}; ` +
            'run the API and worker in one process (npm start) or use a PostgreSQL server (DATABASE_URL)',
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new StorageError(StorageErrorType.DatabaseLocked, `the embedded database ${file.replace(/\.lock$/, '')} is already open in this process`);
}
