/**
 * Tenant-defined categories with their delivery policy (quiet hours mode, expiry, collapse, caps):
 * the layer between Chime's defaults and a reminder's own overrides, read at send time.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE category_policies (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    category text NOT NULL CHECK (category ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    policy jsonb NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
    description text CHECK (char_length(description) <= 500),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, category)
  )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS category_policies`.execute(db);
}
