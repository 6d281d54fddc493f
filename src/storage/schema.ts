/**
 * The one database schema, as Kysely sees it. Migrations in ./migrations create exactly this; the
 * repositories (users.ts, reminders.ts, ledger.ts, …) are the only modules that query it.
 *
 * Conventions: every instant is `timestamptz(3)` (UTC, millisecond precision so a JS Date
 * round-trips exactly and cursors compare exactly); wall-clock date-times are ISO text without an
 * offset; JSON columns are written as JSON text (`JSON.stringify`) so pg and PGlite serialise
 * them identically, and read back as parsed values.
 */
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Channel } from '../domain/delivery.js';
import type { ReminderId, ScheduleId, TenantId, UserId } from '../domain/ids.js';
import type { PolicyOverrides } from '../domain/policy/index.js';
import type { Preferences } from '../domain/preferences/index.js';
import type { AttributeValue, TemplateContent, TemplateRef } from '../domain/templates/index.js';

/** An instant the database fills in (`DEFAULT now()`), never written by updates. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;
/** An instant written by the application. */
type Instant = ColumnType<Date, Date, Date>;
type NullableInstant = ColumnType<Date | null, Date | null | undefined, Date | null>;
/** `text[]` columns: pg and PGlite both read and write JS string arrays. */
type TextArray<T extends string = string> = ColumnType<T[], T[] | undefined, T[]>;

// ---------------------------------------------------------------------------------------------
// Preferences (stored as one jsonb document per user, versioned as a whole)

/**
 * The stored preference document: the domain's `Preferences` (src/domain/preferences), possibly
 * partial (a user created by a reminder has only a contact point). Validated — and completed with
 * defaults — where it is used, at send time.
 */
export type UserPreferences = Partial<Preferences>;

// ---------------------------------------------------------------------------------------------
// Tables

export interface TenantsTable {
  id: TenantId;
  name: string;
  created_at: CreatedAt;
}

export type ApiKeyScope = 'admin' | 'user';

export interface ApiKeysTable {
  /** The public key id embedded in the token (`chime_<scope>_<id>_<secret>`). */
  id: string;
  tenant_id: TenantId;
  scope: ApiKeyScope;
  /** Set exactly when scope = 'user'. */
  user_id: UserId | null;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secret_hash: string;
  label: string | null;
  created_at: CreatedAt;
  revoked_at: NullableInstant;
}

export interface UsersTable {
  tenant_id: TenantId;
  id: UserId;
  preferences: JSONColumnType<UserPreferences>;
  /** Tags the tenant sets on the user (audience filters). */
  tags: TextArray;
  /** Attributes the tenant sets on the user (templates read them as `recipient.attributes.*`). */
  attributes: ColumnType<Record<string, AttributeValue>, string | undefined, string>;
  /** Optimistic concurrency: every write of the preferences is `… WHERE version = expected`. */
  version: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: Instant;
}

export type ZoneMode = 'pinned' | 'follow-user';
export type ReminderStatus = 'active' | 'paused' | 'blocked' | 'cancelled' | 'completed';

/** The recurrence definition columns shared by reminders and audience schedules. */
export interface RecurrenceColumns {
  /** Wall-clock DTSTART, `YYYY-MM-DDTHH:mm:ss` (no offset). Null when only `ical` is given. */
  dtstart: string | null;
  /** IANA zone the wall-clock times are in (for follow-user rules: the zone at creation). */
  tzid: string | null;
  /** RRULE value without the `RRULE:` prefix, e.g. `FREQ=WEEKLY;BYDAY=TU,TH`. */
  rrule: string | null;
  /** Extra occurrences, wall-clock `YYYY-MM-DDTHH:mm:ss`. */
  rdate: TextArray;
  /** Removed occurrences, wall-clock `YYYY-MM-DDTHH:mm:ss`. */
  exdate: TextArray;
  /** The definition as iCalendar text, when the client sent one (kept verbatim). */
  ical: string | null;
}

export interface RemindersTable extends RecurrenceColumns {
  tenant_id: TenantId;
  id: ReminderId;
  user_id: UserId;
  zone_mode: ZoneMode;
  title: string;
  body: string;
  /** A template id or an inline template; null: title and body are sent as written. */
  template: ColumnType<TemplateRef | null, string | null | undefined, string | null>;
  channels: TextArray<Channel>;
  category: string;
  policy: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  status: ColumnType<ReminderStatus, ReminderStatus | undefined, ReminderStatus>;
  /** Why the workflow is `blocked` (null otherwise). */
  status_reason: ColumnType<string | null, string | null | undefined, string | null>;
  version: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: Instant;
}

export type ScheduleStatus = 'active' | 'paused' | 'archived';
export type ScheduleSource = 'api' | 'file';

export interface SchedulesTable extends RecurrenceColumns {
  tenant_id: TenantId;
  id: ScheduleId;
  name: string;
  /** `recipient-local`: each recipient's own zone; `pinned`: the schedule's tzid for everyone. */
  zone_mode: 'recipient-local' | 'pinned';
  /** Who receives it, e.g. `{ "all": true }` or `{ "users": [...] }` or `{ "segment": "..." }`. */
  audience: JSONColumnType<Record<string, unknown>>;
  title: string;
  body: string;
  /** A template id or an inline template; null: title and body are sent as written. */
  template: ColumnType<TemplateRef | null, string | null | undefined, string | null>;
  channels: TextArray<Channel>;
  category: string;
  policy: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  status: ColumnType<ScheduleStatus, ScheduleStatus | undefined, ScheduleStatus>;
  /** Where the definition came from: the API, or a schedule file in the tenant's repository. */
  source: ColumnType<ScheduleSource, ScheduleSource | undefined, ScheduleSource>;
  /** For file-sourced schedules: the file's path and content hash (to detect drift). */
  source_ref: string | null;
  starts_at: NullableInstant;
  ends_at: NullableInstant;
  /** Spread each occurrence's fan-out over this long, so providers are not hit by a thundering herd. */
  smoothing_ms: ColumnType<number, number | undefined, number>;
  version: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: Instant;
}

export type DeliveryStatus = 'claimed' | 'sent' | 'failed' | 'unknown';

/** The delivery ledger: one row per idempotency key, written before the provider call. */
export interface DeliveriesTable {
  idempotency_key: string;
  tenant_id: TenantId;
  user_id: UserId;
  /** Exactly one of reminder_id / schedule_id is set. */
  reminder_id: ReminderId | null;
  schedule_id: ScheduleId | null;
  /** The occurrence's nominal identity (RECURRENCE-ID): wall-clock or instant text. */
  recurrence_id: string;
  /** The instant the occurrence was scheduled for. */
  occurrence_at: Instant;
  channel: Channel;
  /** The occurrence's category when it was claimed (frequency caps count per category). */
  category: ColumnType<string | null, string | null | undefined, string | null>;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  provider: string | null;
  provider_message_id: string | null;
  /** Canonical provider-reported status (e.g. SMS `delivered`), only ever moved forward by rank. */
  provider_status: string | null;
  provider_status_rank: number | null;
  provider_status_at: NullableInstant;
  provider_error_code: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  last_error_type: string | null;
  last_error_message: string | null;
  /** The first claim (immutable; lists page over it). */
  created_at: CreatedAt;
  /** The latest claim. */
  claimed_at: Instant;
  /** A claim whose lease has run out may be taken over by a retry (its worker is presumed dead). */
  lease_expires_at: Instant;
  /** Who holds the claim (a Temporal activity: workflow run and activity id) and with which attempt. */
  claimant: ColumnType<string | null, string | null | undefined, string | null>;
  claimant_attempt: ColumnType<number | null, number | null | undefined, number | null>;
  settled_at: NullableInstant;
}

export type DecisionKind = 'sent' | 'deferred' | 'skipped' | 'failed' | 'missed';

export interface OccurrenceDecisionsTable {
  id: Generated<string>;
  tenant_id: TenantId;
  user_id: UserId;
  reminder_id: ReminderId | null;
  schedule_id: ScheduleId | null;
  recurrence_id: string;
  occurrence_at: Instant;
  /** 0 for the first decision about an occurrence, 1 for the next (deferred, then sent), … */
  sequence: ColumnType<number, number | undefined, number>;
  decided_at: Instant;
  kind: DecisionKind;
  /** Machine-readable reason (`quiet_hours`, `opted_out`, `no_channel`, `late`, …). */
  reason: string | null;
  /** For deferrals: when the occurrence will be tried again. */
  deferred_until: NullableInstant;
  /** Per-channel outcomes and explanations. */
  channels: JSONColumnType<unknown[], string | undefined, string>;
  /** Anything else worth keeping for audits (the full decision as the workflow saw it). */
  details: JSONColumnType<Record<string, unknown>, string | undefined, string>;
}

export type HttpIdempotencyStatus = 'in_flight' | 'completed';

export interface HttpIdempotencyTable {
  tenant_id: TenantId;
  /** Who may replay the response within the tenant: the API key id ('' = the whole tenant). */
  scope: string;
  key: string;
  fingerprint: string;
  status: HttpIdempotencyStatus;
  response_status: number | null;
  response_headers: JSONColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  response_body: string | null;
  created_at: Instant;
  /** When the current in-flight attempt started (a crashed attempt's lock runs out). */
  locked_at: NullableInstant;
  completed_at: NullableInstant;
  expires_at: Instant;
}

/** A tenant's category and its policy overrides (layered over the defaults, under a reminder's own). */
export interface CategoryPoliciesTable {
  tenant_id: TenantId;
  category: string;
  policy: JSONColumnType<PolicyOverrides>;
  description: string | null;
  created_at: CreatedAt;
  updated_at: Instant;
}

export interface SmsDestinationsTable {
  tenant_id: TenantId;
  destination_hash: string;
  first_set_at: ColumnType<Date, Date | undefined, never>;
}

export interface TemplatesTable {
  tenant_id: TenantId;
  id: string;
  content: JSONColumnType<TemplateContent>;
  description: string | null;
  version: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: Instant;
}

/** What one occurrence of a schedule did in one zone (counters grow only by newly recorded decisions). */
export interface ScheduleRunsTable {
  tenant_id: TenantId;
  schedule_id: ScheduleId;
  recurrence_id: string;
  /** The recipient group: a zone, `~rule` (recipients with no zone) or `*` (everyone, pinned schedules). */
  zone: string;
  fires_at: Instant;
  targeted: ColumnType<number, number | undefined, number>;
  sent: ColumnType<number, number | undefined, number>;
  deferred: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  /** Skipped recipients by reason. */
  skipped: JSONColumnType<Record<string, number>, string | undefined, string>;
  started_at: Instant;
  completed_at: NullableInstant;
}

/** A recipient deferred by quiet hours: decided again at `until` (the audience never sits in history). */
export interface ScheduleDeferralsTable {
  tenant_id: TenantId;
  schedule_id: ScheduleId;
  recurrence_id: string;
  user_id: UserId;
  zone: string;
  occurrence_at: Instant;
  until: Instant;
  channels: TextArray<Channel>;
  /** The sequence number of the recipient's next decision about this occurrence. */
  sequence: number;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  users: UsersTable;
  reminders: RemindersTable;
  schedules: SchedulesTable;
  deliveries: DeliveriesTable;
  occurrence_decisions: OccurrenceDecisionsTable;
  http_idempotency: HttpIdempotencyTable;
  category_policies: CategoryPoliciesTable;
  templates: TemplatesTable;
  sms_destinations: SmsDestinationsTable;
  schedule_runs: ScheduleRunsTable;
  schedule_deferrals: ScheduleDeferralsTable;
}

/** Writes a JSON column value (pg and PGlite both accept JSON text for json/jsonb parameters). */
export function json(value: unknown): string {
  return JSON.stringify(value);
}
