/**
 * The email adapter against a real SMTP server (smtp-server) through the real nodemailer client:
 * the deterministic Message-ID and the classification of every SMTP fault.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  classifySmtpError,
  createFileEmailSender,
  createSmtpEmailSender,
  IDEMPOTENCY_HEADER,
  messageIdFor,
  type SmtpEmailOptions,
} from '../../src/channels/email.js';
import type { MessageSender, OutboundMessage } from '../../src/domain/delivery.js';
import { ChimeErrorType, DeliveryError } from '../../src/domain/errors.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

let smtp: TestSmtpServer;
const senders: MessageSender[] = [];
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(async () => {
  await smtp.close();
});
afterEach(async () => {
  for (const s of senders.splice(0)) await s.close?.();
  smtp.received.length = 0;
  smtp.attempts.length = 0;
});

function sender(overrides: Partial<SmtpEmailOptions> = {}): MessageSender {
  const s = createSmtpEmailSender({ url: smtp.url, from: 'Chime <reminders@chime.test>', socketTimeoutMs: 500, ...overrides });
  senders.push(s);
  return s;
}

let seq = 0;
function email(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  seq += 1;
  return {
    channel: 'email',
    to: 'ada@example.com',
    subject: 'Stand-up',
    text: 'Stand-up in 10 minutes',
    idempotencyKey: `dk_email_test_${seq}`,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe('SMTP email adapter', () => {
  it('sends one message whose Message-ID and idempotency header come from the key', async () => {
    const message = email();
    const acceptance = await sender().send(message);
    const [mail] = await smtp.waitFor(1);
    expect(mail?.headers['message-id']).toBe(messageIdFor(message.idempotencyKey));
    expect(mail?.headers[IDEMPOTENCY_HEADER.toLowerCase()]).toBe(message.idempotencyKey);
    expect(mail?.to).toEqual(['ada@example.com']);
    expect(acceptance).toMatchObject({ provider: 'smtp', providerMessageId: messageIdFor(message.idempotencyKey) });
  });

  it('derives the same Message-ID for the same key on every attempt and different ones for different keys', async () => {
    const s = sender();
    const message = email();
    await s.send(message);
    await s.send(message);
    await s.send(email());
    const ids = (await smtp.waitFor(3)).map((m) => m.headers['message-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it.each([
    [{ kind: 'reject-rcpt', code: 550 } as const, ChimeErrorType.RecipientInvalid, true],
    [{ kind: 'reject-rcpt', code: 450 } as const, ChimeErrorType.ProviderUnavailable, false],
    [{ kind: 'reject-data', code: 554 } as const, ChimeErrorType.ProviderRejected, true],
    [{ kind: 'reject-data', code: 451 } as const, ChimeErrorType.ProviderUnavailable, false],
    [{ kind: 'drop-at-rcpt' } as const, ChimeErrorType.ProviderUnavailable, false],
    [{ kind: 'drop-after-data' } as const, ChimeErrorType.ProviderUnavailable, false],
  ])('classifies %o as %s (permanent: %s)', async (fault, type, permanent) => {
    smtp.scriptFaults(fault);
    const error = await failure(sender().send(email()));
    expect(error.type).toBe(type);
    expect(error.permanent).toBe(permanent);
    expect(smtp.attempts.map((a) => a.fault)).toEqual([fault.kind]);
    expect(smtp.received).toHaveLength(0);
  });

  it('reports a server that stalls after DATA as retryable, though the server kept the message', async () => {
    smtp.scriptFaults({ kind: 'stall-after-data' });
    const error = await failure(sender({ socketTimeoutMs: 300 }).send(email()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
    expect(error.permanent).toBe(false);
    expect(smtp.received.map((m) => m.unconfirmed)).toEqual([true]);
  });

  it('re-sends with the same Message-ID after a timeout-after-success, so receivers can deduplicate', async () => {
    const s = sender({ socketTimeoutMs: 300 });
    const message = email();
    smtp.scriptFaults({ kind: 'stall-after-data' });
    await failure(s.send(message));
    await s.send(message);
    const copies = smtp.receivedWithMessageId(messageIdFor(message.idempotencyKey));
    expect(copies.map((m) => m.unconfirmed)).toEqual([true, false]);
  });

  it('delivers exactly one confirmed message when transient faults precede success', async () => {
    const s = sender();
    const message = email();
    smtp.scriptFaultsFor(message.to, { kind: 'reject-rcpt', code: 421 }, { kind: 'drop-after-data' }, { kind: 'reject-data', code: 452 });
    for (let i = 0; i < 3; i += 1) expect((await failure(s.send(message))).permanent).toBe(false);
    await s.send(message);
    expect(smtp.receivedWithMessageId(messageIdFor(message.idempotencyKey))).toHaveLength(1);
    expect(smtp.attempts).toHaveLength(4);
  });

  it('applies faults scripted for one recipient only to that recipient', async () => {
    const s = sender();
    smtp.scriptFaultsFor('bounce@example.com', { kind: 'reject-rcpt', code: 550 });
    await s.send(email());
    const error = await failure(s.send(email({ to: 'bounce@example.com' })));
    expect(error.type).toBe(ChimeErrorType.RecipientInvalid);
    expect(smtp.received.map((m) => m.to)).toEqual([['ada@example.com']]);
  });

  it('reports an unreachable server as retryable', async () => {
    const error = await failure(sender({ url: 'smtp://127.0.0.1:1', connectionTimeoutMs: 1_000 }).send(email()));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
  });

  it('refuses an address nodemailer cannot use as a permanent RecipientInvalid', async () => {
    const error = await failure(sender().send(email({ to: '' })));
    expect(error.type).toBe(ChimeErrorType.RecipientInvalid);
    expect(smtp.attempts).toHaveLength(0);
  });

  it('treats an authentication failure as retryable (a configuration an operator can fix)', () => {
    const error = classifySmtpError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', responseCode: 535 }));
    expect(error.type).toBe(ChimeErrorType.ProviderUnavailable);
  });
});

describe('file email sink', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-email-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one .eml per key, overwriting on a repeated delivery', async () => {
    const s = createFileEmailSender({ dir, from: 'Chime <reminders@chime.test>' });
    const message = email();
    const first = await s.send(message);
    const second = await s.send(message);
    expect(second.providerMessageId).toBe(first.providerMessageId);
    expect(await readdir(dir)).toEqual([`${message.idempotencyKey}.eml`]);
    const raw = await readFile(path.join(dir, `${message.idempotencyKey}.eml`), 'utf8');
    expect(raw).toContain(`Message-ID: ${messageIdFor(message.idempotencyKey)}`);
  });

  it('creates its directory on the first send, and again when it is removed while running', async () => {
    const outbox = path.join(dir, 'not-yet', 'email');
    const s = createFileEmailSender({ dir: outbox, from: 'Chime <reminders@chime.test>' });
    const first = email();
    await s.send(first);
    expect(await readdir(outbox)).toEqual([`${first.idempotencyKey}.eml`]);
    await rm(outbox, { recursive: true });
    const second = { ...email(), idempotencyKey: 'dk_recreated' };
    await s.send(second);
    expect(await readdir(outbox)).toEqual(['dk_recreated.eml']);
  });
});
