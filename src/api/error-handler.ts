import type { FastifyError, FastifyInstance } from 'fastify';
import { RecurrenceError } from '../domain/recurrence/index.js';
import { ConflictError, ForbiddenError, IdempotencyKeyReusedError, InvalidInputError, LimitExceededError, NotFoundError } from '../domain/errors.js';
import { isStorageError, StorageErrorType, TRANSIENT_STORAGE_ERRORS } from '../storage/errors.js';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency.js';
import { ApiError, ProblemType, type Problem } from './problem.js';

function toProblem(error: Error, body: unknown): Problem {
  if (error instanceof ApiError) {
    return { type: error.type, title: error.title, status: error.status, ...(error.errors ? { errors: error.errors } : {}) };
  }
  if (error instanceof InvalidInputError) {
    return {
      type: ProblemType.InvalidRequest,
      title: 'The request is invalid',
      status: 400,
      errors: [error, ...error.more].map(({ field, reason }) => ({ field: `body.${field}`, reason })),
    };
  }
  if (error instanceof LimitExceededError) {
    return { type: ProblemType.RateLimited, title: 'A limit of this tenant would be exceeded', status: 429, errors: [{ field: `body.${error.field}`, reason: error.reason }] };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return { type: ProblemType.IdempotencyMismatch, title: 'This Idempotency-Key was used with a different request', status: 422, detail: error.message };
  }
  if (error instanceof NotFoundError) {
    return { type: ProblemType.NotFound, title: `No such ${error.resource}`, status: 404 };
  }
  if (error instanceof ForbiddenError) {
    return {
      type: ProblemType.Forbidden,
      title: 'This API key may not do that',
      status: 403,
      errors: [{ field: `body.${error.field}`, reason: error.reason }],
    };
  }
  if (error instanceof ConflictError) {
    return { type: ProblemType.Conflict, title: 'The reminder cannot do that now', status: 409, detail: error.reason };
  }
  if (error instanceof RecurrenceError) {
    return {
      type: ProblemType.InvalidRecurrence,
      title: 'The recurrence is invalid',
      status: 400,
      detail: error.message,
      // Given as iCalendar lines, the fault is in `ical`; the reason names the property or rule part.
      errors: [
        typeof (body as { ical?: unknown } | undefined)?.ical === 'string'
          ? { field: 'body.ical', reason: error.message }
          : { field: `body.recurrence.${error.field}`, reason: error.field === 'rrule' ? error.message : error.reason },
      ],
    };
  }
  if (isStorageError(error, StorageErrorType.InvalidCursor)) {
    return {
      type: ProblemType.InvalidRequest,
      title: 'The request is invalid',
      status: 400,
      errors: [{ field: 'query.cursor', reason: 'is not a cursor of this list' }],
    };
  }
  if (isStorageError(error, StorageErrorType.VersionConflict)) {
    return { type: ProblemType.Conflict, title: 'Changed concurrently: read it again and retry', status: 409 };
  }
  if (isStorageError(error) && TRANSIENT_STORAGE_ERRORS.includes(error.type)) {
    return { type: ProblemType.Unavailable, title: 'Temporarily unavailable: retry with the same Idempotency-Key', status: 503 };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const where = fastifyError.validationContext ?? 'body';
    const keyProblem = where === 'headers' && fastifyError.validation.every((v) => `${v.instancePath}/${(v.params as { missingProperty?: string }).missingProperty ?? ''}`.includes(IDEMPOTENCY_KEY_HEADER));
    return {
      type: keyProblem ? ProblemType.IdempotencyKeyRequired : ProblemType.InvalidRequest,
      title: 'The request is invalid',
      status: 400,
      errors: fastifyError.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
        const leaf = missing.missingProperty ?? missing.additionalProperty;
        const pointer = `${v.instancePath}${leaf ? `/${leaf}` : ''}`;
        return {
          field: [where, ...pointer.split('/').filter(Boolean)].join('.'),
          reason: missing.additionalProperty ? 'is not a known field' : (v.message ?? 'is invalid'),
        };
      }),
    };
  }
  const status = fastifyError.statusCode;
  if (status === 429) return { type: ProblemType.RateLimited, title: 'Too many requests', status, detail: error.message };
  if (status === 413) return { type: ProblemType.PayloadTooLarge, title: 'The request body is too large', status };
  if (status !== undefined && status >= 400 && status < 500) {
    return { type: ProblemType.InvalidRequest, title: error.message, status };
  }
  return { type: ProblemType.Internal, title: 'Internal error', status: 500 };
}

/** The one place where errors become responses. 5xx details are logged, never returned. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error, request.body);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply
      .status(problem.status)
      .type('application/problem+json')
      .send({ ...problem, instance: request.id });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/problem+json')
      .send({ type: ProblemType.NotFound, title: 'No such resource', status: 404, instance: request.id });
  });
}
