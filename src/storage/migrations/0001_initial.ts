/**
 * The initial schema. Constraints do the work where correctness matters: the delivery idempotency
 * key is the ledger's primary key; HTTP idempotency records are unique per (tenant, scope, key);
 * history (ledger, decisions) references users/reminders/schedules with ON DELETE RESTRICT so it
 * is never dropped as a side effect.
 */
import { sql, type Kysely } from 'kysely';

const ID = `'^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'`;
const WALL = `'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$'`;
const CHANNELS = `ARRAY['email', 'sms']::text[]`;

/** Recurrence columns shared by reminders and schedules. */
const RECURRENCE = `
  dtstart text CHECK (dtstart ~ ${WALL}),
  tzid text CHECK (length(tzid) BETWEEN 1 AND 64),
  rrule text CHECK (length(rrule) BETWEEN 1 AND 2000),
  rdate text[] NOT NULL DEFAULT '{}',
  exdate text[] NOT NULL DEFAULT '{}',
  ical text CHECK (length(ical) BETWEEN 1 AND 100000),
  CHECK (ical IS NOT NULL OR (dtstart IS NOT NULL AND tzid IS NOT NULL))`;

const UP: readonly string[] = [
  `CREATE TABLE tenants (
    id text PRIMARY KEY CHECK (id ~ ${ID}),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz(3) NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE users (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    id text NOT NULL CHECK (id ~ ${ID}),
    preferences jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
  )`,

  `CREATE TABLE api_keys (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{8,64}$'),
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    scope text NOT NULL CHECK (scope IN ('admin', 'user')),
    user_id text,
    secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    label text CHECK (length(label) <= 200),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    revoked_at timestamptz(3),
    CHECK ((scope = 'user') = (user_id IS NOT NULL)),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
  )`,
  `CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at)`,

  `CREATE TABLE reminders (
    tenant_id text NOT NULL,
    id text NOT NULL CHECK (id ~ ${ID}),
    user_id text NOT NULL,
    ${RECURRENCE},
    zone_mode text NOT NULL CHECK (zone_mode IN ('pinned', 'follow-user')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    body text NOT NULL CHECK (length(body) <= 10000),
    channels text[] NOT NULL CHECK (cardinality(channels) >= 1 AND channels <@ ${CHANNELS}),
    category text NOT NULL CHECK (category ~ ${ID}),
    policy jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(policy) = 'object'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'cancelled', 'completed')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
  )`,
  `CREATE INDEX reminders_list_idx ON reminders (tenant_id, created_at DESC, id DESC)`,
  `CREATE INDEX reminders_user_list_idx ON reminders (tenant_id, user_id, created_at DESC, id DESC)`,

  `CREATE TABLE schedules (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    id text NOT NULL CHECK (id ~ ${ID}),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    ${RECURRENCE},
    zone_mode text NOT NULL CHECK (zone_mode IN ('recipient-local', 'pinned')),
    audience jsonb NOT NULL CHECK (jsonb_typeof(audience) = 'object'),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    body text NOT NULL CHECK (length(body) <= 10000),
    channels text[] NOT NULL CHECK (cardinality(channels) >= 1 AND channels <@ ${CHANNELS}),
    category text NOT NULL CHECK (category ~ ${ID}),
    policy jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(policy) = 'object'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
    source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'file')),
    source_ref text,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    updated_at timestamptz(3) NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
  )`,
  `CREATE INDEX schedules_list_idx ON schedules (tenant_id, created_at DESC, id DESC)`,

  `CREATE TABLE deliveries (
    idempotency_key text PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    tenant_id text NOT NULL,
    user_id text NOT NULL,
    reminder_id text,
    schedule_id text,
    recurrence_id text NOT NULL CHECK (length(recurrence_id) BETWEEN 1 AND 64),
    occurrence_at timestamptz(3) NOT NULL,
    channel text NOT NULL CHECK (channel = ANY (${CHANNELS})),
    status text NOT NULL DEFAULT 'claimed' CHECK (status IN ('claimed', 'sent', 'failed', 'unknown')),
    provider text,
    provider_message_id text,
    provider_status text,
    provider_status_rank integer,
    provider_status_at timestamptz(3),
    provider_error_code text,
    attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    last_error_type text,
    last_error_message text CHECK (length(last_error_message) <= 2000),
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    claimed_at timestamptz(3) NOT NULL,
    lease_expires_at timestamptz(3) NOT NULL,
    settled_at timestamptz(3),
    CHECK (num_nonnulls(reminder_id, schedule_id) = 1),
    CHECK (status <> 'sent' OR (provider IS NOT NULL AND provider_message_id IS NOT NULL)),
    CHECK ((status IN ('sent', 'failed')) = (settled_at IS NOT NULL)),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, reminder_id) REFERENCES reminders (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE RESTRICT
  )`,
  `CREATE UNIQUE INDEX deliveries_provider_message_idx ON deliveries (provider, provider_message_id)
     WHERE provider_message_id IS NOT NULL`,
  `CREATE INDEX deliveries_reminder_idx ON deliveries (tenant_id, reminder_id, created_at DESC, idempotency_key DESC)`,
  `CREATE INDEX deliveries_settled_idx ON deliveries (settled_at) WHERE settled_at IS NOT NULL`,

  `CREATE TABLE occurrence_decisions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id text NOT NULL,
    user_id text NOT NULL,
    reminder_id text,
    schedule_id text,
    recurrence_id text NOT NULL CHECK (length(recurrence_id) BETWEEN 1 AND 64),
    occurrence_at timestamptz(3) NOT NULL,
    sequence integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    decided_at timestamptz(3) NOT NULL,
    kind text NOT NULL CHECK (kind IN ('sent', 'deferred', 'skipped', 'failed', 'missed')),
    reason text CHECK (length(reason) <= 200),
    deferred_until timestamptz(3),
    channels jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(channels) = 'array'),
    details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    CHECK (num_nonnulls(reminder_id, schedule_id) = 1),
    CHECK ((kind = 'deferred') = (deferred_until IS NOT NULL)),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, reminder_id) REFERENCES reminders (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id) ON DELETE RESTRICT
  )`,
  // One decision per (occurrence, sequence): a retried "record" activity cannot write it twice.
  `CREATE UNIQUE INDEX occurrence_decisions_reminder_uq
     ON occurrence_decisions (tenant_id, reminder_id, recurrence_id, sequence) WHERE reminder_id IS NOT NULL`,
  `CREATE UNIQUE INDEX occurrence_decisions_schedule_uq
     ON occurrence_decisions (tenant_id, schedule_id, user_id, recurrence_id, sequence) WHERE schedule_id IS NOT NULL`,
  `CREATE INDEX occurrence_decisions_reminder_list_idx
     ON occurrence_decisions (tenant_id, reminder_id, decided_at DESC, id DESC)`,
  `CREATE INDEX occurrence_decisions_decided_idx ON occurrence_decisions (decided_at)`,

  `CREATE TABLE http_idempotency (
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    scope text NOT NULL DEFAULT '' CHECK (length(scope) <= 200),
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 200),
    status text NOT NULL CHECK (status IN ('in_flight', 'completed')),
    response_status integer CHECK (response_status BETWEEN 100 AND 599),
    response_headers jsonb CHECK (jsonb_typeof(response_headers) = 'object'),
    response_body text,
    created_at timestamptz(3) NOT NULL,
    locked_at timestamptz(3),
    completed_at timestamptz(3),
    expires_at timestamptz(3) NOT NULL,
    CONSTRAINT http_idempotency_tenant_scope_key_uq UNIQUE (tenant_id, scope, key),
    CHECK ((status = 'completed') = (response_status IS NOT NULL AND completed_at IS NOT NULL)),
    CHECK ((status = 'in_flight') = (locked_at IS NOT NULL)),
    CHECK (expires_at > created_at)
  )`,
  `CREATE INDEX http_idempotency_expires_idx ON http_idempotency (expires_at)`,
];

const DOWN = [
  'http_idempotency',
  'occurrence_decisions',
  'deliveries',
  'schedules',
  'reminders',
  'api_keys',
  'users',
  'tenants',
].map((table) => `DROP TABLE IF EXISTS ${table}`);

// One statement per query: PGlite's extended protocol runs a single statement at a time.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
