/**
 * Email over SMTP with nodemailer. nodemailer's types and errors stay in this file: the rest of
 * Chime sees MessageSender, ProviderAcceptance and DeliveryError.
 */
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { ChimeErrorType, DeliveryError } from '../domain/errors.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';
import { sinkFileName, sinkWriter } from './sink.js';

export const IDEMPOTENCY_HEADER = 'X-Chime-Idempotency-Key';

/**
 * A deterministic Message-ID: the same delivery key always yields the same Message-ID, so
 * receiving systems that deduplicate on it (many do) drop a retried copy too.
 */
export function messageIdFor(idempotencyKey: string): string {
  return `<${idempotencyKey}@chime.idempotency>`;
}

interface SmtpLikeError {
  code?: string;
  responseCode?: number;
  command?: string;
}

/**
 * nodemailer error → DeliveryError.
 * - 5xx at RCPT TO: the address is refused → RecipientInvalid (permanent).
 * - other 5xx (MAIL FROM, DATA: size, content, policy) → ProviderRejected (permanent).
 * - address syntax nodemailer refuses before talking (EENVELOPE without a reply) → RecipientInvalid.
 * - 4xx, timeouts, dropped connections, TLS trouble → ProviderUnavailable (retryable).
 * - authentication failures (EAUTH, 535) → ProviderUnavailable: a credentials problem the operator
 *   can fix; failing every reminder for good meanwhile would lose them, and the circuit breaker
 *   keeps a misconfigured relay from tying up the workers.
 */
export function classifySmtpError(error: unknown): DeliveryError {
  const e = (error ?? {}) as SmtpLikeError;
  const message = error instanceof Error ? error.message : String(error);
  if (e.code === 'EAUTH') {
    return new DeliveryError(ChimeErrorType.ProviderUnavailable, `SMTP authentication failed: ${message}`, { cause: error });
  }
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    const type = e.command === 'RCPT TO' ? ChimeErrorType.RecipientInvalid : ChimeErrorType.ProviderRejected;
    return new DeliveryError(type, `SMTP ${e.responseCode}: ${message}`, { cause: error });
  }
  if (e.code === 'EENVELOPE' && e.responseCode === undefined) {
    return new DeliveryError(ChimeErrorType.RecipientInvalid, message, { cause: error });
  }
  const label = typeof e.responseCode === 'number' ? `SMTP ${e.responseCode}: ${message}` : `SMTP unavailable: ${message}`;
  return new DeliveryError(ChimeErrorType.ProviderUnavailable, label, { cause: error });
}

function buildMail(from: string, message: OutboundMessage) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    ...(message.html !== undefined ? { html: message.html } : {}),
    messageId: messageIdFor(message.idempotencyKey),
    headers: { [IDEMPOTENCY_HEADER]: message.idempotencyKey },
  };
}

export interface SmtpEmailOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (implicit TLS). */
  url: string;
  from: string;
  /** Credentials, when not in the URL. */
  auth?: { user: string; pass: string };
  tls?: {
    /** Refuse to send unless the server upgrades with STARTTLS. Default false. */
    requireTLS?: boolean;
    /** Verify the server certificate. Default true; switch off only for a local relay. */
    rejectUnauthorized?: boolean;
    /** PEM CA bundle for a private relay. */
    ca?: string;
  };
  /** Pooled connections (default true) and how many (default 5). */
  pool?: boolean;
  maxConnections?: number;
  /** TCP connect timeout. Default 10 000 ms. */
  connectionTimeoutMs?: number;
  /** Wait for the server greeting. Default 10 000 ms. */
  greetingTimeoutMs?: number;
  /** Socket inactivity timeout, which bounds a server that stalls after DATA. Default 30 000 ms. */
  socketTimeoutMs?: number;
}

/**
 * Sends through an SMTP server, pooled. Every message carries a Message-ID derived from its
 * idempotency key: SMTP has no idempotency of its own, so after a timeout-after-DATA a retry
 * sends the same message again with the same Message-ID (receivers that deduplicate on it, and
 * mail clients threading on it, show one message).
 */
export function createSmtpEmailSender(options: SmtpEmailOptions): MessageSender {
  const pool = options.pool ?? true;
  const common = {
    url: options.url,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
    ...(options.tls?.requireTLS ? { requireTLS: true } : {}),
    tls: {
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
    },
  };
  const transport: Transporter = pool
    ? nodemailer.createTransport({ ...common, pool: true, maxConnections: options.maxConnections ?? 5 })
    : nodemailer.createTransport(common);
  return {
    channel: 'email',
    async send(message: OutboundMessage): Promise<ProviderAcceptance> {
      if (message.channel !== 'email') {
        throw new DeliveryError(ChimeErrorType.ProviderRejected, `email sender got a ${message.channel} message`);
      }
      try {
        const info = (await transport.sendMail(buildMail(options.from, message))) as { messageId: string };
        return { provider: 'smtp', providerMessageId: info.messageId, acceptedAt: new Date().toISOString() };
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The embedded default without SMTP settings: each message becomes an .eml file in `dir`, named by
 * its idempotency key (so a repeated delivery overwrites rather than duplicates). Open them with
 * any mail client.
 */
export function createFileEmailSender(options: { dir: string; from: string }): MessageSender {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const write = sinkWriter(options.dir);
  return {
    channel: 'email',
    async send(message: OutboundMessage): Promise<ProviderAcceptance> {
      const info = (await transport.sendMail(buildMail(options.from, message))) as { message: Buffer; messageId: string };
      await write(sinkFileName(message.idempotencyKey, 'eml'), info.message);
      return { provider: 'file-sink', providerMessageId: info.messageId, acceptedAt: new Date().toISOString() };
    },
  };
}
