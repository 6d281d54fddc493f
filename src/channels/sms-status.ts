/**
 * SMS delivery status: Twilio's many message statuses mapped to ONE canonical enum, in this one
 * place, with a rank so that out-of-order or replayed status callbacks never move a message
 * backwards. The ledger merges stored and incoming statuses with `mergeSmsStatus`.
 */

/** Canonical SMS delivery statuses, in rank order (lowest first). */
export const SMS_STATUSES = ['accepted', 'sent', 'failed', 'delivered'] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];

/**
 * The rank of each canonical status. `delivered` outranks `failed` on purpose: Twilio documents
 * that a message reported `undelivered`/`failed` can later be reported `delivered` when a late
 * carrier receipt arrives, and a handset receipt is the stronger evidence. Nothing outranks
 * `delivered`, so a late `sent` (or a replayed `failed`) never undoes it.
 */
export const SMS_STATUS_RANK: Readonly<Record<SmsStatus, number>> = {
  accepted: 0,
  sent: 1,
  failed: 2,
  delivered: 3,
};

/**
 * Twilio's `MessageStatus` values → canonical. Unknown values map to `undefined` (the caller
 * acknowledges and ignores them rather than guessing).
 */
const TWILIO_STATUS: Readonly<Record<string, SmsStatus>> = {
  scheduled: 'accepted',
  accepted: 'accepted',
  queued: 'accepted',
  sending: 'accepted',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered', // WhatsApp/RCS read receipts imply delivery
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

export function canonicalSmsStatus(twilioStatus: string): SmsStatus | undefined {
  return Object.hasOwn(TWILIO_STATUS, twilioStatus) ? TWILIO_STATUS[twilioStatus] : undefined;
}

/** The status to keep when `incoming` arrives while `current` is stored: the higher-ranked one. */
export function mergeSmsStatus(current: SmsStatus | undefined, incoming: SmsStatus): SmsStatus {
  if (current === undefined) return incoming;
  return SMS_STATUS_RANK[incoming] > SMS_STATUS_RANK[current] ? incoming : current;
}

/** True when storing `incoming` over `current` changes anything (false for replays and regressions). */
export function advancesSmsStatus(current: SmsStatus | undefined, incoming: SmsStatus): boolean {
  return mergeSmsStatus(current, incoming) !== current;
}

/** One canonical status event, as handed to the ledger's `onStatus` port. */
export interface SmsStatusEvent {
  providerMessageId: string;
  status: SmsStatus;
  /** Twilio's error code for failed/undelivered messages (e.g. 30003 unreachable handset). */
  errorCode?: number;
  /** When Chime received the callback (Twilio status callbacks carry no event time). ISO 8601 UTC. */
  occurredAt: string;
  /**
   * The delivery idempotency key, when the callback URL carried it (see sms-twilio.ts): lets the
   * ledger settle a delivery whose create response was lost to a timeout.
   */
  idempotencyKey?: string;
}

/** Port: where canonical status events go (the delivery ledger implements it). Must be idempotent. */
export type SmsStatusSink = (event: SmsStatusEvent) => Promise<void>;
