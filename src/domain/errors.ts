import { redactContactPoints } from './redaction.js';
/**
 * Error types with explicit, stable type strings. Retry decisions, HTTP problem types and
 * Temporal `nonRetryableErrorTypes` are all drawn from these constants — never from class names.
 */
export const ChimeErrorType = {
  /** The contact point can never receive this message (invalid address, unsubscribed number). */
  RecipientInvalid: 'recipient_invalid',
  /** The provider refused the message for a reason a retry will not fix (SMTP 5xx, 4xx validation). */
  ProviderRejected: 'provider_rejected',
  /** The provider could not take the message now (timeout, 429, 5xx, SMTP 4xx); retrying may work. */
  ProviderUnavailable: 'provider_unavailable',
  /** The recurrence definition is invalid. */
  RecurrenceInvalid: 'recurrence_invalid',
  /** The user has no usable contact point for a channel. */
  NoContactPoint: 'no_contact_point',
  /** The user's stored preferences cannot be read as valid (a retry will not fix them; an update will). */
  PreferencesInvalid: 'preferences_invalid',
} as const;
export type ChimeErrorType = (typeof ChimeErrorType)[keyof typeof ChimeErrorType];

/** Failures that a retry cannot fix; the Temporal retry policy lists exactly these. */
export const PERMANENT_DELIVERY_ERRORS: readonly ChimeErrorType[] = [
  ChimeErrorType.RecipientInvalid,
  ChimeErrorType.ProviderRejected,
  ChimeErrorType.NoContactPoint,
];

/**
 * A provider's refusal, classified. Its message is redacted of contact points (it reaches the
 * ledger, decisions, the API and history), and the provider's own error stays in `options.cause`
 * for the adapter — never `Error.cause`, which Temporal would serialise into history verbatim.
 */
export class DeliveryError extends Error {
  constructor(
    readonly type: ChimeErrorType,
    message: string,
    readonly options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(redactContactPoints(message));
    this.name = 'DeliveryError';
  }

  get permanent(): boolean {
    return PERMANENT_DELIVERY_ERRORS.includes(this.type);
  }
}

/** Bad input from a caller: names the field and the reason. */
export class InvalidInputError extends Error {
  readonly type = 'invalid_input';
  constructor(
    readonly field: string,
    readonly reason: string,
    /** Further problems found in the same input (a template with several mistakes names them all). */
    readonly more: readonly { field: string; reason: string }[] = [],
  ) {
    super(`${field}: ${reason}`);
    this.name = 'InvalidInputError';
  }
}

/** The resource does not exist for this caller (also used where existence must not be disclosed). */
export class NotFoundError extends Error {
  readonly type = 'not_found';
  constructor(readonly resource: string) {
    super(`no such ${resource}`);
    this.name = 'NotFoundError';
  }
}

/** The request conflicts with the resource's current state (e.g. pausing a cancelled reminder). */
export class ConflictError extends Error {
  readonly type = 'conflict';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConflictError';
  }
}

/** The caller is known but may not do this (e.g. a user-scoped key naming another user). */
export class ForbiddenError extends Error {
  readonly type = 'forbidden';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ForbiddenError';
  }
}

/** An Idempotency-Key already used for a different request (the stored resource says which): 422. */
export class IdempotencyKeyReusedError extends Error {
  readonly type = 'idempotency_key_reused';
  constructor(readonly resource: string) {
    super(`this Idempotency-Key already made a ${resource} from a different request`);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** A per-tenant limit would be exceeded (new SMS destinations a day): 429, naming the field. */
export class LimitExceededError extends Error {
  readonly type = 'limit_exceeded';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'LimitExceededError';
  }
}
