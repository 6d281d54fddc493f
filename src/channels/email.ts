/**
 * Email over SMTP with nodemailer. nodemailer's types and errors stay in this file: the rest of
 * Chime sees MessageSender, ProviderAcceptance and DeliveryError.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { ChimeErrorType, DeliveryError } from '../domain/errors.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';

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

/** SMTP 5xx and address rejections are permanent; 4xx, timeouts and broken connections are not. */
export function classifySmtpError(error: unknown): DeliveryError {
  const e = (error ?? {}) as SmtpLikeError;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    const type = e.command === 'RCPT TO' ? ChimeErrorType.RecipientInvalid : ChimeErrorType.ProviderRejected;
    return new DeliveryError(type, `SMTP ${e.responseCode}: ${message}`, { cause: error });
  }
  if (e.code === 'EENVELOPE' && e.responseCode === undefined) {
    return new DeliveryError(ChimeErrorType.RecipientInvalid, message, { cause: error });
  }
  return new DeliveryError(ChimeErrorType.ProviderUnavailable, message, { cause: error });
}

function buildMail(from: string, message: OutboundMessage) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    messageId: messageIdFor(message.idempotencyKey),
    headers: { [IDEMPOTENCY_HEADER]: message.idempotencyKey },
  };
}

/** Sends through an SMTP server (`smtp://user:pass@host:587`, `smtps://…`); pooled connections. */
export function createSmtpEmailSender(options: { url: string; from: string }): MessageSender {
  const transport: Transporter = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    channel: 'email',
    async send(message: OutboundMessage): Promise<ProviderAcceptance> {
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
  return {
    channel: 'email',
    async send(message: OutboundMessage): Promise<ProviderAcceptance> {
      const info = (await transport.sendMail(buildMail(options.from, message))) as { message: Buffer; messageId: string };
      await mkdir(options.dir, { recursive: true });
      await writeFile(path.join(options.dir, `${message.idempotencyKey}.eml`), info.message);
      return { provider: 'file-sink', providerMessageId: info.messageId, acceptedAt: new Date().toISOString() };
    },
  };
}
