/**
 * The delivery ledger: one row per delivery idempotency key (the primary key), claimed before the
 * provider call and settled after it.
 *
 *   claim  → `acquired`: this caller may call the provider (attempt n; n > 1 means an earlier attempt
 *            ended without a known outcome, so check the provider for the key first where it can);
 *            `settled`: sent or permanently failed already — return the stored result, never call
 *            the provider again; `busy`: another attempt holds a live lease — retry later.
 *   settle → records the outcome. `sent` always wins (a late success of an attempt whose lease ran
 *            out is still recorded, never lost); `failed`/`unknown` only settle the caller's own claim.
 *
 * A claim's lease bounds how long a crashed worker blocks the key; set it to at least the delivery
 * activity's start-to-close timeout. A claim that names its claimant (the activity) and attempt is
 * taken over at once by a later attempt of the same claimant: Temporal starts attempt n + 1 only
 * after attempt n failed or timed out, so a dead worker never blocks the key for the whole lease.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Channel } from '../domain/delivery.js';
import type { ReminderId, ScheduleId, TenantId, UserId } from '../domain/ids.js';
import { StorageError, StorageErrorType, guard } from './errors.js';
import { afterCursor, clampLimit, decodeCursor, toPage, type Page, type PageRequest } from './pagination.js';
import type { Database, DeliveriesTable, DeliveryStatus } from './schema.js';

export const DEFAULT_LEASE_MS = 5 * 60_000;

/** What is being delivered: an occurrence of a reminder, or of an audience schedule for one recipient. */
export type DeliverySource = { reminderId: ReminderId } | { scheduleId: ScheduleId };

export interface DeliveryRecord {
  idempotencyKey: string;
  tenantId: TenantId;
  userId: UserId;
  source: DeliverySource;
  recurrenceId: string;
  occurrenceAt: Date;
  channel: Channel;
  category?: string;
  status: DeliveryStatus;
  provider?: string;
  providerMessageId?: string;
  providerStatus?: { status: string; rank: number; at: Date; errorCode?: string };
  attempts: number;
  lastError?: { type: string; message: string };
  createdAt: Date;
  claimedAt: Date;
  leaseExpiresAt: Date;
  settledAt?: Date;
}

export interface ClaimRequest {
  idempotencyKey: string;
  tenantId: TenantId;
  userId: UserId;
  source: DeliverySource;
  recurrenceId: string;
  occurrenceAt: Date;
  channel: Channel;
  /** The occurrence's category (counted by frequency caps, see `countSent`). */
  category?: string;
}

/** Who claims: one Temporal activity (workflow run + activity id) and its attempt number. */
export interface Claimant {
  id: string;
  attempt: number;
}

export type ClaimResult =
  | { kind: 'acquired'; delivery: DeliveryRecord }
  | { kind: 'settled'; delivery: DeliveryRecord }
  | { kind: 'busy'; delivery: DeliveryRecord };

export type SettleOutcome =
  | { status: 'sent'; provider: string; providerMessageId: string }
  /** Permanent: a retry cannot fix it (invalid recipient, rejected). Final. */
  | { status: 'failed'; errorType: string; errorMessage: string; provider?: string }
  /** Transient or ambiguous (timeout, 5xx): the key may be claimed again by a retry. */
  | { status: 'unknown'; errorType: string; errorMessage: string; provider?: string };

export interface ProviderStatusEvent {
  provider: string;
  /** Either finds the row; the key also lets a lost create response be settled. */
  providerMessageId?: string;
  idempotencyKey?: string;
  /** Canonical status (e.g. SMS `delivered`) and its rank: a lower or equal rank never overwrites. */
  status: string;
  rank: number;
  errorCode?: string;
  at: Date;
}

const LIST = 'deliveries';
const MAX_ERROR_MESSAGE = 2000;

function toRecord(row: Selectable<DeliveriesTable>): DeliveryRecord {
  const record: DeliveryRecord = {
    idempotencyKey: row.idempotency_key,
    tenantId: row.tenant_id,
    userId: row.user_id,
    source: row.reminder_id !== null ? { reminderId: row.reminder_id } : { scheduleId: row.schedule_id as ScheduleId },
    recurrenceId: row.recurrence_id,
    occurrenceAt: row.occurrence_at,
    channel: row.channel,
    status: row.status,
    attempts: row.attempts,
    createdAt: row.created_at,
    claimedAt: row.claimed_at,
    leaseExpiresAt: row.lease_expires_at,
  };
  if (row.category !== null) record.category = row.category;
  if (row.provider !== null) record.provider = row.provider;
  if (row.provider_message_id !== null) record.providerMessageId = row.provider_message_id;
  if (row.provider_status !== null && row.provider_status_rank !== null && row.provider_status_at !== null) {
    record.providerStatus = { status: row.provider_status, rank: row.provider_status_rank, at: row.provider_status_at };
    if (row.provider_error_code !== null) record.providerStatus.errorCode = row.provider_error_code;
  }
  if (row.last_error_type !== null) record.lastError = { type: row.last_error_type, message: row.last_error_message ?? '' };
  if (row.settled_at !== null) record.settledAt = row.settled_at;
  return record;
}

const sameDelivery = (row: Selectable<DeliveriesTable>, request: ClaimRequest) =>
  row.tenant_id === request.tenantId &&
  row.user_id === request.userId &&
  row.channel === request.channel &&
  row.recurrence_id === request.recurrenceId &&
  ('reminderId' in request.source ? row.reminder_id === request.source.reminderId : row.schedule_id === request.source.scheduleId);

export function createLedger(db: Kysely<Database>) {
  const find = (key: string) => db.selectFrom('deliveries').selectAll().where('idempotency_key', '=', key).executeTakeFirst();

  return {
    /**
     * Claims the key atomically (INSERT … ON CONFLICT DO NOTHING, then take over an expired or
     * inconclusive claim, else report the existing row). Two racers: exactly one `acquired`.
     * StorageError `unique_violation` if the key already names a different delivery,
     * `foreign_key_violation` if the user/reminder/schedule does not exist.
     */
    claim: (
      request: ClaimRequest,
      { now = new Date(), leaseMs = DEFAULT_LEASE_MS, claimant }: { now?: Date; leaseMs?: number; claimant?: Claimant } = {},
    ): Promise<ClaimResult> =>
      guard(async () => {
        const leaseExpiresAt = new Date(now.getTime() + leaseMs);
        const claimedBy = { claimant: claimant?.id ?? null, claimant_attempt: claimant?.attempt ?? null };
        const inserted = await db
          .insertInto('deliveries')
          .values({
            idempotency_key: request.idempotencyKey,
            tenant_id: request.tenantId,
            user_id: request.userId,
            reminder_id: 'reminderId' in request.source ? request.source.reminderId : null,
            schedule_id: 'scheduleId' in request.source ? request.source.scheduleId : null,
            recurrence_id: request.recurrenceId,
            occurrence_at: request.occurrenceAt,
            channel: request.channel,
            category: request.category ?? null,
            created_at: now,
            claimed_at: now,
            lease_expires_at: leaseExpiresAt,
            ...claimedBy,
          })
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return { kind: 'acquired', delivery: toRecord(inserted) };

        const existing = await find(request.idempotencyKey);
        if (!existing) throw new StorageError(StorageErrorType.TransactionConflict, `delivery ${request.idempotencyKey} vanished during its claim`);
        if (!sameDelivery(existing, request)) {
          throw new StorageError(StorageErrorType.UniqueViolation, `idempotency key ${request.idempotencyKey} already names a different delivery`, {
            constraint: 'deliveries_pkey',
          });
        }
        if (existing.status === 'sent' || existing.status === 'failed') return { kind: 'settled', delivery: toRecord(existing) };

        const retaken = await db
          .updateTable('deliveries')
          .set({ status: 'claimed', attempts: sql<number>`attempts + 1`, claimed_at: now, lease_expires_at: leaseExpiresAt, ...claimedBy })
          .where('idempotency_key', '=', request.idempotencyKey)
          .where((eb) =>
            eb.or([
              eb('status', '=', 'unknown'),
              eb.and([
                eb('status', '=', 'claimed'),
                eb.or([
                  eb('lease_expires_at', '<=', now),
                  // A later attempt of the same activity: the earlier one is over (failed or timed out).
                  ...(claimant
                    ? [eb.and([eb('claimant', '=', claimant.id), eb('claimant_attempt', '<', claimant.attempt)])]
                    : []),
                ]),
              ]),
            ]),
          )
          .returningAll()
          .executeTakeFirst();
        if (retaken) return { kind: 'acquired', delivery: toRecord(retaken) };
        const current = await find(request.idempotencyKey);
        if (current && (current.status === 'sent' || current.status === 'failed')) return { kind: 'settled', delivery: toRecord(current) };
        return { kind: 'busy', delivery: toRecord(current ?? existing) };
      }),

    /**
     * Records the outcome of an attempt. `attempt` (the claim's `attempts`) makes a stale attempt's
     * `failed`/`unknown` a no-op. Returns whether the row changed. StorageError `not_found` for an
     * unknown key.
     */
    settle: (
      key: string,
      outcome: SettleOutcome,
      { now = new Date(), attempt }: { now?: Date; attempt?: number } = {},
    ): Promise<{ applied: boolean; delivery: DeliveryRecord }> =>
      guard(async () => {
        let row: Selectable<DeliveriesTable> | undefined;
        if (outcome.status === 'sent') {
          row = await db
            .updateTable('deliveries')
            .set({ status: 'sent', provider: outcome.provider, provider_message_id: outcome.providerMessageId, settled_at: now })
            .where('idempotency_key', '=', key)
            .where('status', '<>', 'sent')
            .returningAll()
            .executeTakeFirst();
        } else {
          let query = db
            .updateTable('deliveries')
            .set({
              status: outcome.status,
              last_error_type: outcome.errorType,
              last_error_message: outcome.errorMessage.slice(0, MAX_ERROR_MESSAGE),
              settled_at: outcome.status === 'failed' ? now : null,
              ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
            })
            .where('idempotency_key', '=', key)
            .where('status', '=', 'claimed');
          if (attempt !== undefined) query = query.where('attempts', '=', attempt);
          row = await query.returningAll().executeTakeFirst();
        }
        if (row) return { applied: true, delivery: toRecord(row) };
        const current = await find(key);
        if (!current) throw new StorageError(StorageErrorType.NotFound, `no delivery ${key}`);
        return { applied: false, delivery: toRecord(current) };
      }),

    /**
     * Records a provider status callback, idempotently and monotonically (by rank: a replayed or
     * out-of-order status never moves a delivery backwards). A callback for a claim whose create
     * response was lost settles it as sent. Returns whether anything changed.
     */
    recordProviderStatus: (event: ProviderStatusEvent): Promise<{ applied: boolean; delivery?: DeliveryRecord }> =>
      guard(async () => {
        if (event.providerMessageId === undefined && event.idempotencyKey === undefined) {
          throw new StorageError(StorageErrorType.InvalidData, 'a provider status needs a provider message id or an idempotency key');
        }
        const pmid = event.providerMessageId ?? null;
        const settles = sql<boolean>`(status IN ('claimed', 'unknown') AND coalesce(provider_message_id, ${pmid}) IS NOT NULL)`;
        const row = await db
          .updateTable('deliveries')
          .set({
            provider_status: event.status,
            provider_status_rank: event.rank,
            provider_status_at: event.at,
            provider_error_code: event.errorCode ?? null,
            provider: sql<string>`coalesce(provider, ${event.provider})`,
            provider_message_id: sql<string>`coalesce(provider_message_id, ${pmid})`,
            status: sql<DeliveryStatus>`CASE WHEN ${settles} THEN 'sent' ELSE status END`,
            settled_at: sql<Date>`CASE WHEN ${settles} THEN ${event.at} ELSE settled_at END`,
          })
          .where((eb) =>
            eb.and([
              event.idempotencyKey !== undefined
                ? eb('idempotency_key', '=', event.idempotencyKey)
                : eb.and([eb('provider', '=', event.provider), eb('provider_message_id', '=', pmid)]),
              eb.or([eb('provider_status_rank', 'is', null), eb('provider_status_rank', '<', event.rank)]),
            ]),
          )
          .returningAll()
          .executeTakeFirst();
        return row ? { applied: true, delivery: toRecord(row) } : { applied: false };
      }),

    /**
     * How many deliveries to the user on a channel (optionally: in a category) count against a
     * frequency cap since an instant: those sent since then, plus claims in progress or
     * inconclusive since then (they may have reached the provider — a cap errs on the safe side).
     */
    countSent: (query: { tenantId: TenantId; userId: UserId; channel: Channel; category?: string; since: Date }): Promise<number> =>
      guard(async () => {
        let q = db
          .selectFrom('deliveries')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('tenant_id', '=', query.tenantId)
          .where('user_id', '=', query.userId)
          .where('channel', '=', query.channel)
          .where((eb) =>
            eb.or([
              eb.and([eb('status', '=', 'sent'), eb('settled_at', '>=', query.since)]),
              eb.and([eb('status', 'in', ['claimed', 'unknown']), eb('claimed_at', '>=', query.since)]),
            ]),
          );
        if (query.category !== undefined) q = q.where('category', '=', query.category);
        return (await q.executeTakeFirstOrThrow()).n;
      }),

    get: (key: string): Promise<DeliveryRecord | undefined> =>
      guard(async () => {
        const row = await find(key);
        return row && toRecord(row);
      }),

    /** Deliveries of one reminder, newest first. */
    listForReminder: (tenantId: TenantId, reminderId: ReminderId, page: PageRequest): Promise<Page<DeliveryRecord>> =>
      guard(async () => {
        const limit = clampLimit(page.limit);
        let query = db.selectFrom('deliveries').selectAll().where('tenant_id', '=', tenantId).where('reminder_id', '=', reminderId);
        if (page.cursor !== undefined) query = query.where(afterCursor('created_at', 'idempotency_key', decodeCursor(LIST, page.cursor)));
        const rows = await query.orderBy('created_at', 'desc').orderBy('idempotency_key', 'desc').limit(limit + 1).execute();
        return toPage(LIST, rows, limit, (r) => ({ at: r.created_at, id: r.idempotency_key }), toRecord);
      }),
  };
}
export type Ledger = ReturnType<typeof createLedger>;
