/**
 * A fresh database per test file, on whichever target the run uses:
 * - default: embedded PGlite in a new temporary data directory;
 * - with TEST_DATABASE_URL (an admin URL of a PostgreSQL server, see
 *   scripts/postgres-test-server.sh): a new database `chime_t_<random>` on that server, dropped on
 *   close — so test files can run in parallel against one server.
 * Migrations have run when it resolves (unless `migrate: false`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseOptions, type OpenedDatabase } from '../../src/storage/database.js';

export interface TestDatabase extends OpenedDatabase {
  /** The options it was opened with: `openDatabase(testDb.options)` opens the same database again. */
  options: DatabaseOptions;
  /** Closes the connections but keeps the data (to reopen it with `openDatabase(options)`). */
  disconnect(): Promise<void>;
  /** Closes and deletes the database (temp directory or server database). Idempotent. */
  close(): Promise<void>;
}

export const testDatabaseKind = (): 'pglite' | 'postgres' => (process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');

/** Runs one statement on the server's admin database (CREATE/DROP DATABASE cannot run in a pool transaction). */
async function admin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** `adminUrl`: a PostgreSQL server of the caller's own (else TEST_DATABASE_URL, else PGlite). */
export async function openTestDatabase({ adminUrl = process.env.TEST_DATABASE_URL, ...options }: { migrate?: boolean; pool?: DatabaseOptions['pool']; adminUrl?: string } = {}): Promise<TestDatabase> {
  if (!adminUrl) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-test-db-'));
    const opts: DatabaseOptions = { dataDir, ...options };
    const opened = await openDatabase(opts);
    let closing: Promise<void> | undefined;
    return {
      ...opened,
      options: opts,
      disconnect: () => opened.close(),
      close: () =>
        (closing ??= (async () => {
          await opened.close();
          await rm(dataDir, { recursive: true, force: true });
        })()),
    };
  }

  const name = `chime_t_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const opts: DatabaseOptions = { dataDir: os.tmpdir(), databaseUrl: url.toString(), ...options };
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase(opts);
  } catch (error) {
    await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    ...opened,
    options: opts,
    disconnect: () => opened.close(),
    close: () =>
      (closing ??= (async () => {
        await opened.close();
        await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })()),
  };
}
