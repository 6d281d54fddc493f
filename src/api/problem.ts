/**
 * RFC 9457 problem details. Every error response of the API is one of these, with a stable `type`
 * that clients can switch on, and for bad input the offending field and the reason.
 */
import Type, { type Static } from 'typebox';

export const ProblemType = {
  InvalidRequest: 'urn:chime:problem:invalid-request',
  InvalidRecurrence: 'urn:chime:problem:invalid-recurrence',
  NotFound: 'urn:chime:problem:not-found',
  Unauthenticated: 'urn:chime:problem:unauthenticated',
  Forbidden: 'urn:chime:problem:forbidden',
  IdempotencyKeyRequired: 'urn:chime:problem:idempotency-key-required',
  IdempotencyInFlight: 'urn:chime:problem:idempotency-key-in-flight',
  IdempotencyMismatch: 'urn:chime:problem:idempotency-key-reused',
  RateLimited: 'urn:chime:problem:rate-limited',
  Conflict: 'urn:chime:problem:conflict',
  PayloadTooLarge: 'urn:chime:problem:payload-too-large',
  Unavailable: 'urn:chime:problem:unavailable',
  Internal: 'urn:chime:problem:internal',
} as const;
export type ProblemType = (typeof ProblemType)[keyof typeof ProblemType];

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }, { additionalProperties: false })),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof ProblemSchema>;

const WHY: Record<number, string> = {
  400: 'The request is invalid: `errors` names each field',
  401: 'No valid API key',
  403: 'This API key may not do that',
  404: 'No such resource (or not visible to this key)',
  409: 'Conflicts with the current state, or the same Idempotency-Key is still in progress',
  412: 'If-Match does not match the current version',
  413: 'The body is too large',
  414: 'A path parameter is too long',
  415: 'Unsupported content type',
  422: 'This Idempotency-Key was used with a different request',
  429: 'Too many requests (see Retry-After)',
  500: 'Internal error (details are logged, never returned)',
  503: 'A dependency (Temporal, the database) is unavailable; retry',
};

/**
 * The error responses of a route as the spec shows them: `application/problem+json` (RFC 9457),
 * those every authenticated route can answer plus `extra`.
 */
export function problemResponses(...extra: number[]) {
  const statuses = [...new Set([400, 401, 414, 429, 500, 503, ...extra])].sort();
  return Object.fromEntries(
    statuses.map((status) => [status, { description: WHY[status] ?? 'Problem', content: { 'application/problem+json': { schema: ProblemSchema } } }]),
  ) as Record<number, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }>;
}

/** An error the API reports as-is; anything else becomes a 500 with its internals hidden. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ProblemType,
    readonly title: string,
    readonly errors?: { field: string; reason: string }[],
    options?: { cause?: unknown },
  ) {
    super(title, options);
    this.name = 'ApiError';
  }
}
