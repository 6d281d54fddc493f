/**
 * The reminder state machine:
 * - a reminder can be `blocked` (its workflow cannot plan: the rule or the user's stored preferences
 *   cannot be read as valid), with the reason, so the API and the database show what the workflow is doing;
 * - a delivery claim names its claimant (the Temporal activity) and attempt, so a later attempt of the
 *   same activity takes over a claim that a dead worker left behind at once, not after the lease.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE reminders DROP CONSTRAINT reminders_status_check`.execute(db);
  await sql`ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
    CHECK (status IN ('active', 'paused', 'blocked', 'cancelled', 'completed'))`.execute(db);
  await sql`ALTER TABLE reminders ADD COLUMN status_reason text CHECK (char_length(status_reason) <= 2000)`.execute(db);
  await sql`ALTER TABLE deliveries ADD COLUMN claimant text CHECK (char_length(claimant) <= 1000)`.execute(db);
  await sql`ALTER TABLE deliveries ADD COLUMN claimant_attempt integer CHECK (claimant_attempt >= 1)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries DROP COLUMN IF EXISTS claimant_attempt`.execute(db);
  await sql`ALTER TABLE deliveries DROP COLUMN IF EXISTS claimant`.execute(db);
  await sql`ALTER TABLE reminders DROP COLUMN IF EXISTS status_reason`.execute(db);
  await sql`ALTER TABLE reminders DROP CONSTRAINT reminders_status_check`.execute(db);
  await sql`ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
    CHECK (status IN ('active', 'paused', 'cancelled', 'completed'))`.execute(db);
}
