/**
 * The canonical delivery model. The domain and the workflows speak only this; provider DTOs
 * (nodemailer, Twilio) stay inside their adapters under src/channels/.
 */
export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Nominal identity of one occurrence: what makes "the same occurrence" the same across retries. */
export interface OccurrenceRef {
  reminderId: string;
  /**
   * RECURRENCE-ID: the wall-clock date-time for reminders that follow the user's zone, the UTC
   * instant for reminders pinned to a zone. Never the deferred send time.
   */
  recurrenceId: string;
  /** The instant the occurrence was scheduled for (ISO 8601, UTC). */
  scheduledFor: string;
}

export interface OutboundMessage {
  channel: Channel;
  /** Contact point (address or E.164 number). Never logged, never put in search attributes or memos. */
  to: string;
  subject: string;
  text: string;
  /** The HTML part of an email (the text part is always there). */
  html?: string;
  idempotencyKey: string;
}

/** What a provider said when it took a message. */
export interface ProviderAcceptance {
  provider: string;
  providerMessageId: string;
  acceptedAt: string;
}

/** Port: one channel's provider adapter (SMTP, Twilio, a local sink). */
export interface MessageSender {
  readonly channel: Channel;
  send(message: OutboundMessage): Promise<ProviderAcceptance>;
  close?(): Promise<void> | void;
}

/** Port: where a user's current contact point for a channel is read at send time. */
export interface ContactDirectory {
  contactPoint(tenantId: string, userId: string, channel: Channel): Promise<string | undefined>;
}
