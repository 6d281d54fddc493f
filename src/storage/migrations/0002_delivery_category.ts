/**
 * Frequency caps ("at most 3 SMS a day in category digest") count recent deliveries per user,
 * channel and category: the ledger records the category the occurrence had when it was claimed.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries ADD COLUMN category text CHECK (category ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$')`.execute(db);
  await sql`CREATE INDEX deliveries_recent_idx ON deliveries (tenant_id, user_id, channel, claimed_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS deliveries_recent_idx`.execute(db);
  await sql`ALTER TABLE deliveries DROP COLUMN IF EXISTS category`.execute(db);
}
