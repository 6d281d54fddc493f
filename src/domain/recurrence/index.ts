/**
 * Recurrence: RFC 5545 rules expanded in wall-clock time by Chime's own engine, then resolved to
 * instants in the rule's IANA zone with §3.3.5 semantics. See README.md in this folder.
 */
export { RecurrenceError } from './errors.js';
export { parseICal } from './ical.js';
export type { RecurrenceInput } from './input.js';
export { compileRecurrence, type Occurrence, type Recurrence, type RecurrenceLimits } from './recurrence.js';
export { normalizeRecurrence } from './normalize.js';
