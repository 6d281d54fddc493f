/**
 * HTTP idempotency records (IETF Idempotency-Key draft, as Stripe does it): unique per
 * (tenant, scope, key), where scope is the API key id so a user-scoped key never replays another
 * user's response ('' = tenant-wide). `begin` inserts an in-flight record or reports what exists:
 * same fingerprint and completed → replay; still running → in_flight; other fingerprint → mismatch.
 * An expired record is replaced; an in-flight record whose lock is older than `lockTimeoutMs`
 * (its process died) may be taken over by the same request.
 */
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { TenantId } from '../domain/ids.js';
import { StorageError, StorageErrorType, guard } from './errors.js';
import { json, type Database } from './schema.js';

export const DEFAULT_HTTP_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60_000;
export const DEFAULT_HTTP_IDEMPOTENCY_LOCK_TIMEOUT_MS = 5 * 60_000;

export interface StoredHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type HttpBeginResult =
  | { kind: 'started' }
  | { kind: 'replay'; response: StoredHttpResponse }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' };

export interface HttpIdempotencyRef {
  tenantId: TenantId;
  /** The API key id (or '' for tenant-wide keys). */
  scope: string;
  key: string;
}

export function createHttpIdempotencyStore(
  db: Kysely<Database>,
  { lockTimeoutMs = DEFAULT_HTTP_IDEMPOTENCY_LOCK_TIMEOUT_MS }: { lockTimeoutMs?: number } = {},
) {
  const find = (ref: HttpIdempotencyRef) =>
    db
      .selectFrom('http_idempotency')
      .selectAll()
      .where('tenant_id', '=', ref.tenantId)
      .where('scope', '=', ref.scope)
      .where('key', '=', ref.key)
      .executeTakeFirst();

  return {
    begin: (request: HttpIdempotencyRef & { fingerprint: string; expiresAt: Date; now?: Date }): Promise<HttpBeginResult> =>
      guard(async () => {
        const now = request.now ?? new Date();
        const staleBefore = new Date(now.getTime() - lockTimeoutMs);
        for (let attempt = 0; attempt < 3; attempt++) {
          const started = await db
            .insertInto('http_idempotency')
            .values({
              tenant_id: request.tenantId,
              scope: request.scope,
              key: request.key,
              fingerprint: request.fingerprint,
              status: 'in_flight',
              created_at: now,
              locked_at: now,
              expires_at: request.expiresAt,
            })
            .onConflict((oc) =>
              oc
                .columns(['tenant_id', 'scope', 'key'])
                .doUpdateSet((eb) => ({
                  fingerprint: eb.ref('excluded.fingerprint'),
                  status: 'in_flight',
                  response_status: null,
                  response_headers: null,
                  response_body: null,
                  created_at: eb.ref('excluded.created_at'),
                  locked_at: eb.ref('excluded.locked_at'),
                  completed_at: null,
                  expires_at: eb.ref('excluded.expires_at'),
                }))
                .where((eb) =>
                  eb.or([
                    eb('http_idempotency.expires_at', '<=', now),
                    eb.and([
                      eb('http_idempotency.status', '=', 'in_flight'),
                      eb('http_idempotency.locked_at', '<=', staleBefore),
                      eb('http_idempotency.fingerprint', '=', eb.ref('excluded.fingerprint')),
                    ]),
                  ]),
                ),
            )
            .returning('status')
            .executeTakeFirst();
          if (started) return { kind: 'started' };
          const existing = await find(request);
          if (!existing) continue; // released between our insert and read: try again
          if (existing.fingerprint !== request.fingerprint) return { kind: 'mismatch' };
          if (existing.status === 'in_flight') return { kind: 'in_flight' };
          return {
            kind: 'replay',
            response: { status: existing.response_status ?? 500, headers: existing.response_headers ?? {}, body: existing.response_body ?? '' },
          };
        }
        throw new StorageError(StorageErrorType.TransactionConflict, `idempotency key ${request.key} keeps changing; retry`);
      }),

    /** Stores the response of the in-flight request. False if there is no in-flight record (expired, released). */
    complete: (request: HttpIdempotencyRef & { response: StoredHttpResponse; now?: Date }): Promise<boolean> =>
      guard(async () => {
        const result = await db
          .updateTable('http_idempotency')
          .set({
            status: 'completed',
            response_status: request.response.status,
            response_headers: json(request.response.headers),
            response_body: request.response.body,
            completed_at: request.now ?? new Date(),
            locked_at: null,
          })
          .where('tenant_id', '=', request.tenantId)
          .where('scope', '=', request.scope)
          .where('key', '=', request.key)
          .where('status', '=', 'in_flight')
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),

    /** Forgets an in-flight request (it failed with a 5xx) so the client's retry runs it again. */
    release: (ref: HttpIdempotencyRef): Promise<boolean> =>
      guard(async () => {
        const result = await db
          .deleteFrom('http_idempotency')
          .where('tenant_id', '=', ref.tenantId)
          .where('scope', '=', ref.scope)
          .where('key', '=', ref.key)
          .where('status', '=', 'in_flight')
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),

    /** Deletes records whose retention ran out, in batches; returns how many. */
    purgeExpired: (now: Date = new Date(), { batchSize = 1000 }: { batchSize?: number } = {}): Promise<number> =>
      guard(async () => {
        let total = 0;
        for (;;) {
          const result = await db
            .deleteFrom('http_idempotency')
            .where(
              sql<SqlBool>`(tenant_id, scope, key) IN (
                SELECT tenant_id, scope, key FROM http_idempotency WHERE expires_at <= ${now} LIMIT ${batchSize})`,
            )
            .executeTakeFirst();
          const deleted = Number(result.numDeletedRows);
          total += deleted;
          if (deleted < batchSize) return total;
        }
      }),
  };
}
export type HttpIdempotencyStore = ReturnType<typeof createHttpIdempotencyStore>;
