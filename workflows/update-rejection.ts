/**
 * How a workflow's Update validators refuse: an ApplicationFailure whose `type` says whether the
 * request (400; `details[0]` names the field) or the workflow's state (409) is at fault.
 */
import { ApplicationFailure } from '@temporalio/workflow';

export const UpdateRejection = {
  /** The request itself is wrong (`details[0]` names the field): 400. */
  InvalidInput: 'invalid_input',
  /** The state does not allow it now (paused, ended, nothing pending): 409. */
  Conflict: 'conflict',
} as const;

export const reject = (type: (typeof UpdateRejection)[keyof typeof UpdateRejection], message: string, field?: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true, ...(field ? { details: [field] } : {}) });
