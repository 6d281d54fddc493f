/**
 * Message templates (tenant resources, rendered per recipient at send time) and the tenant-set
 * user attributes templates read (`recipient.attributes.*`, `recipient.name`).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE templates (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    id text NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    content jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'),
    description text CHECK (char_length(description) <= 500),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
  )`.execute(db);
  // What a reminder or schedule renders: a template id (a JSON string) or an inline template.
  await sql`ALTER TABLE reminders ADD COLUMN template jsonb`.execute(db);
  await sql`ALTER TABLE schedules ADD COLUMN template jsonb`.execute(db);
  await sql`ALTER TABLE users ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users DROP COLUMN IF EXISTS attributes`.execute(db);
  await sql`ALTER TABLE schedules DROP COLUMN IF EXISTS template`.execute(db);
  await sql`ALTER TABLE reminders DROP COLUMN IF EXISTS template`.execute(db);
  await sql`DROP TABLE IF EXISTS templates`.execute(db);
}
