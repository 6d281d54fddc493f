/**
 * Audience schedules fan out at fire time:
 * - users carry tags a tenant sets through the API (audience filters), indexed for `@>` / `&&`;
 * - recipients are paged per zone by keyset over (tenant, zone, id);
 * - a schedule has an optional start and end and an optional smoothing window;
 * - `schedule_runs` keeps what each occurrence did per zone (counters, idempotent: they grow only by
 *   decisions newly recorded); `schedule_deferrals` holds recipients deferred by quiet hours until
 *   their window ends — the audience never sits in workflow history.
 */
import { sql, type Kysely } from 'kysely';

const UP: readonly string[] = [
  `ALTER TABLE users ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
     CHECK (cardinality(tags) <= 100)`,
  `CREATE INDEX users_tags_idx ON users USING gin (tags)`,
  `CREATE INDEX users_zone_idx ON users (tenant_id, (preferences->>'timeZone'), id)`,

  `ALTER TABLE schedules ADD COLUMN starts_at timestamptz(3)`,
  `ALTER TABLE schedules ADD COLUMN ends_at timestamptz(3)`,
  `ALTER TABLE schedules ADD COLUMN smoothing_ms integer NOT NULL DEFAULT 0 CHECK (smoothing_ms BETWEEN 0 AND 3600000)`,
  `ALTER TABLE schedules ADD CONSTRAINT schedules_window_check CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)`,

  `CREATE TABLE schedule_runs (
    tenant_id text NOT NULL,
    schedule_id text NOT NULL,
    recurrence_id text NOT NULL CHECK (length(recurrence_id) BETWEEN 1 AND 64),
    zone text NOT NULL CHECK (length(zone) BETWEEN 1 AND 64),
    fires_at timestamptz(3) NOT NULL,
    targeted integer NOT NULL DEFAULT 0 CHECK (targeted >= 0),
    sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
    deferred integer NOT NULL DEFAULT 0 CHECK (deferred >= 0),
    failed integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    skipped jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(skipped) = 'object'),
    started_at timestamptz(3) NOT NULL,
    completed_at timestamptz(3),
    PRIMARY KEY (tenant_id, schedule_id, recurrence_id, zone),
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE RESTRICT
  )`,
  `CREATE INDEX schedule_runs_list_idx ON schedule_runs (tenant_id, schedule_id, fires_at DESC)`,

  `CREATE TABLE schedule_deferrals (
    tenant_id text NOT NULL,
    schedule_id text NOT NULL,
    recurrence_id text NOT NULL CHECK (length(recurrence_id) BETWEEN 1 AND 64),
    user_id text NOT NULL,
    zone text NOT NULL CHECK (length(zone) BETWEEN 1 AND 64),
    occurrence_at timestamptz(3) NOT NULL,
    until timestamptz(3) NOT NULL,
    channels text[] NOT NULL,
    sequence integer NOT NULL CHECK (sequence >= 1),
    PRIMARY KEY (tenant_id, schedule_id, recurrence_id, user_id),
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
  )`,
  `CREATE INDEX schedule_deferrals_due_idx ON schedule_deferrals (tenant_id, schedule_id, until, user_id)`,
  `CREATE INDEX occurrence_decisions_schedule_list_idx
     ON occurrence_decisions (tenant_id, schedule_id, recurrence_id, decided_at) WHERE schedule_id IS NOT NULL`,
];

const DOWN: readonly string[] = [
  `DROP INDEX IF EXISTS occurrence_decisions_schedule_list_idx`,
  `DROP TABLE IF EXISTS schedule_deferrals`,
  `DROP TABLE IF EXISTS schedule_runs`,
  `ALTER TABLE schedules DROP CONSTRAINT IF EXISTS schedules_window_check`,
  `ALTER TABLE schedules DROP COLUMN IF EXISTS smoothing_ms`,
  `ALTER TABLE schedules DROP COLUMN IF EXISTS ends_at`,
  `ALTER TABLE schedules DROP COLUMN IF EXISTS starts_at`,
  `DROP INDEX IF EXISTS users_zone_idx`,
  `DROP INDEX IF EXISTS users_tags_idx`,
  `ALTER TABLE users DROP COLUMN IF EXISTS tags`,
];

// One statement per query: PGlite's extended protocol runs a single statement at a time.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
