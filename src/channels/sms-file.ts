/**
 * The embedded default for SMS when Twilio is not configured: each message becomes one JSON file
 * in `dir`, named by its idempotency key, so a repeated delivery of the same key overwrites its
 * file instead of adding a second one. `ls data/outbox/sms` shows what would have been texted.
 */
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ChimeErrorType, DeliveryError } from '../domain/errors.js';
import type { MessageSender, OutboundMessage, ProviderAcceptance } from '../domain/delivery.js';
import { sinkFileName, sinkWriter } from './sink.js';

/** What one sink file holds. */
export interface SmsSinkRecord {
  providerMessageId: string;
  idempotencyKey: string;
  to: string;
  text: string;
  acceptedAt: string;
}

export function createFileSmsSender(options: { dir: string; now?: () => Date }): MessageSender {
  const now = options.now ?? (() => new Date());
  const write = sinkWriter(options.dir);
  return {
    channel: 'sms',
    async send(message: OutboundMessage): Promise<ProviderAcceptance> {
      if (message.channel !== 'sms') {
        throw new DeliveryError(ChimeErrorType.ProviderRejected, `SMS sink got a ${message.channel} message`);
      }
      const name = sinkFileName(message.idempotencyKey, 'json');
      const file = path.join(options.dir, name);
      // Same key again: answer with the first acceptance, like a provider with idempotency keys.
      const existing = await readFile(file, 'utf8').then(
        (raw) => JSON.parse(raw) as SmsSinkRecord,
        () => undefined,
      );
      if (existing?.idempotencyKey === message.idempotencyKey) {
        return { provider: 'file-sink', providerMessageId: existing.providerMessageId, acceptedAt: existing.acceptedAt };
      }
      const record: SmsSinkRecord = {
        providerMessageId: `file:${message.idempotencyKey}`,
        idempotencyKey: message.idempotencyKey,
        to: message.to,
        text: message.text,
        acceptedAt: now().toISOString(),
      };
      // Write-then-rename: a crash never leaves a half-written record behind.
      const partial = await write(`${name}.${process.pid}.partial`, `${JSON.stringify(record, null, 2)}\n`);
      await rename(partial, file);
      return { provider: 'file-sink', providerMessageId: record.providerMessageId, acceptedAt: record.acceptedAt };
    },
  };
}
