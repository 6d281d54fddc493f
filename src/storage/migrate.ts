/** Runs the schema migrations (Kysely's Migrator; migrations listed statically in ./migrations). */
import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { migrationProvider } from './migrations/index.js';
import { StorageError, StorageErrorType, toStorageError } from './errors.js';

export interface MigrationReport {
  /** Migrations applied by this run, in order (empty when the schema was already current). */
  applied: string[];
}

export class MigrationError extends StorageError {
  constructor(
    readonly migration: string | undefined,
    readonly results: readonly MigrationResult[],
    cause: unknown,
  ) {
    super(StorageErrorType.MigrationFailed, `migration ${migration ?? '(unknown)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'MigrationError';
  }
}

function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider: migrationProvider });
}

/**
 * Brings the schema to the latest version. Safe to run concurrently from several processes: the
 * Migrator takes a PostgreSQL advisory lock and runs each migration in a transaction, so a failed
 * migration leaves the schema as it was.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationReport> {
  const { error, results = [] } = await migrator(db).migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error');
    // No migration ran (e.g. the server is unreachable): report the cause itself.
    if (!failed) throw toStorageError(error);
    throw new MigrationError(failed?.migrationName, results, error);
  }
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

/** Every known migration with the time it was applied (undefined = pending). */
export async function migrationStatus(db: Kysely<unknown>): Promise<{ name: string; executedAt?: Date }[]> {
  const all = await migrator(db).getMigrations();
  return all.map((m) => (m.executedAt ? { name: m.name, executedAt: m.executedAt } : { name: m.name }));
}
