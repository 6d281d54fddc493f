/**
 * `npm run db:migrate` — applies pending migrations to the configured database (DATABASE_URL, or
 * the embedded PGlite under CHIME_DATA_DIR) and prints what it did. `--status` lists migrations.
 */
import { loadConfig } from '../config.js';
import { openDatabase } from './database.js';
import { migrateToLatest, migrationStatus } from './migrate.js';
import type { Kysely } from 'kysely';

const config = loadConfig();
const target = config.databaseUrl ? 'the PostgreSQL server (DATABASE_URL)' : `the embedded database in ${config.dataDir}/pglite`;
const opened = await openDatabase({
  dataDir: config.dataDir,
  ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  migrate: false,
});
try {
  const db = opened.db as Kysely<unknown>;
  if (process.argv.includes('--status')) {
    for (const m of await migrationStatus(db)) {
      console.log(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending                          '}  ${m.name}`);
    }
  } else {
    const { applied } = await migrateToLatest(db);
    console.log(applied.length === 0 ? `${target}: schema is up to date` : `${target}: applied ${applied.join(', ')}`);
  }
} catch (error) {
  const type = (error as { type?: unknown }).type;
  console.error(`${target}: ${error instanceof Error ? error.message : String(error)}${typeof type === 'string' ? ` (${type})` : ''}`);
  process.exitCode = 1;
} finally {
  await opened.close();
}
