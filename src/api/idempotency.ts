/**
 * HTTP idempotency (IETF Idempotency-Key draft, as Stripe does it): the key plus a fingerprint of
 * the request is stored with the response. Same key + same request → the stored response, marked
 * `Idempotent-Replayed: true`; same key + different request → 422; same key while the first is
 * still running → 409; a POST without a key → 400. Keys are scoped per tenant and API key.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import Type from 'typebox';
import fp from 'fastify-plugin';
import type { TenantId } from '../domain/ids.js';
import { ApiError, ProblemType } from './problem.js';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Whose key it is: keys are scoped per tenant and API key. */
export interface IdempotencyRef {
  tenantId: TenantId;
  scope: string;
  key: string;
}

export type BeginResult =
  | { kind: 'started' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' };

/** Port: the durable record of idempotent requests (src/storage implements it). */
export interface IdempotencyStore {
  begin(record: IdempotencyRef & { fingerprint: string; expiresAt: Date }): Promise<BeginResult>;
  complete(record: IdempotencyRef & { response: StoredResponse }): Promise<unknown>;
  /** Forgets a request that failed with a 5xx, so the client's retry runs it again. */
  release(record: IdempotencyRef): Promise<unknown>;
}

export interface IdempotencyOptions {
  store: IdempotencyStore;
  retentionMs: number;
  /** The idempotency scope of a request: tenant + API key. */
  scopeOf(request: FastifyRequest): Omit<IdempotencyRef, 'key'>;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: IdempotencyRef;
  }
  interface FastifyContextConfig {
    /** Opt a route out of Idempotency-Key handling (webhooks carry their own event ids). */
    idempotency?: false;
  }
}

const KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';
const KEY_RE = new RegExp(KEY_PATTERN);

/** The header as the spec declares it on every POST that takes one (added by `declareIdempotencyKey`). */
export const IdempotencyKeyHeader = Type.String({
  pattern: KEY_PATTERN,
  description: 'Required on every POST: 1 to 255 printable ASCII characters. The same key and request replay the first answer; another request with it is a 422',
});

/** An `onRoute` hook: every POST that takes an Idempotency-Key says so in its schema (and so in the OpenAPI document). */
export function declareIdempotencyKey(route: RouteOptions): void {
  if (route.method !== 'POST' || !route.url.startsWith('/v1/') || route.config?.idempotency === false) return;
  const headers = (route.schema?.headers ?? { type: 'object', properties: {} }) as { properties?: Record<string, unknown>; required?: string[] };
  route.schema = {
    ...route.schema,
    headers: { ...headers, type: 'object', properties: { ...headers.properties, [IDEMPOTENCY_KEY_HEADER]: IdempotencyKeyHeader }, required: [...(headers.required ?? []), IDEMPOTENCY_KEY_HEADER] },
  };
}

/**
 * The Idempotency-Key of a request in its scope (tenant + API key), for use cases that make their
 * own effects idempotent by it (a reminder's id, a Temporal Update's id): one scope for both.
 */
export function scopedIdempotencyKey(request: FastifyRequest): string | undefined {
  const ref = request.idempotency;
  return ref ? `${ref.scope}:${ref.key}` : undefined;
}

export function requestFingerprint(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url ?? request.url}\n${JSON.stringify(request.params)}\n`)
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
}

async function idempotency(app: FastifyInstance, options: IdempotencyOptions) {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    // Only routes that exist and were authenticated (the 404 handler and public routes have no scope).
    if (request.method !== 'POST' || !request.principal || request.routeOptions.config?.idempotency === false) return;
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (typeof key !== 'string' || !KEY_RE.test(key)) {
      throw new ApiError(400, ProblemType.IdempotencyKeyRequired, 'An Idempotency-Key header is required', [
        { field: 'headers.idempotency-key', reason: 'required on every POST: 1 to 255 printable ASCII characters' },
      ]);
    }
    const ref = { ...options.scopeOf(request), key };
    const result = await options.store.begin({
      ...ref,
      fingerprint: requestFingerprint(request),
      expiresAt: new Date(Date.now() + options.retentionMs),
    });
    switch (result.kind) {
      case 'started':
        request.idempotency = ref;
        return;
      case 'replay':
        return reply
          .status(result.response.status)
          .header(REPLAYED_HEADER, 'true')
          .type(result.response.headers['content-type'] ?? 'application/json')
          .send(result.response.body);
      case 'in_flight':
        throw new ApiError(409, ProblemType.IdempotencyInFlight, 'A request with this Idempotency-Key is still in progress');
      case 'mismatch':
        throw new ApiError(422, ProblemType.IdempotencyMismatch, 'This Idempotency-Key was used with a different request');
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = undefined;
    if (reply.statusCode >= 500) {
      await options.store.release(claim);
    } else {
      await options.store.complete({
        ...claim,
        response: {
          status: reply.statusCode,
          headers: { 'content-type': String(reply.getHeader('content-type') ?? 'application/json') },
          body: typeof payload === 'string' ? payload : JSON.stringify(payload ?? null),
        },
      });
    }
    return payload;
  });
}

export const idempotencyPlugin = fp(idempotency, { name: 'chime-idempotency' });
