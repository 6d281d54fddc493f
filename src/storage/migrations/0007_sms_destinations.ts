/**
 * SMS destinations a tenant has set on its users, by hash (never the number): the per-tenant limit
 * on new ones a day keeps a leaked key from turning Chime into an SMS-pumping relay.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE sms_destinations (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    destination_hash text NOT NULL CHECK (destination_hash ~ '^[0-9a-f]{64}$'),
    first_set_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, destination_hash)
  )`.execute(db);
  await sql`CREATE INDEX sms_destinations_recent ON sms_destinations (tenant_id, first_set_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS sms_destinations`.execute(db);
}
