/** The embedded SMS sink: one JSON file per idempotency key, a repeated key answered from its file. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSmsSender, type SmsSinkRecord } from '../../src/channels/sms-file.js';
import type { OutboundMessage } from '../../src/domain/delivery.js';
import { ChimeErrorType } from '../../src/domain/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chime-sms-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const message: OutboundMessage = { channel: 'sms', to: '+15005550006', subject: '', text: 'Stand-up in 10', idempotencyKey: 'dk_0123abcd' };

describe('file SMS sink', () => {
  it('writes the message to <key>.json', async () => {
    const acceptance = await createFileSmsSender({ dir, now: () => new Date('2025-03-01T12:00:00Z') }).send(message);
    expect(await readdir(dir)).toEqual(['dk_0123abcd.json']);
    const record = JSON.parse(await readFile(path.join(dir, 'dk_0123abcd.json'), 'utf8')) as SmsSinkRecord;
    expect(record).toEqual({
      providerMessageId: 'file:dk_0123abcd',
      idempotencyKey: 'dk_0123abcd',
      to: '+15005550006',
      text: 'Stand-up in 10',
      acceptedAt: '2025-03-01T12:00:00.000Z',
    });
    expect(acceptance).toEqual({ provider: 'file-sink', providerMessageId: 'file:dk_0123abcd', acceptedAt: '2025-03-01T12:00:00.000Z' });
  });

  it('creates its directory on the first send, and again when it is removed while running', async () => {
    const outbox = path.join(dir, 'not-yet', 'sms');
    const sink = createFileSmsSender({ dir: outbox });
    await sink.send(message);
    expect(await readdir(outbox)).toEqual(['dk_0123abcd.json']);
    await rm(outbox, { recursive: true });
    await sink.send({ ...message, idempotencyKey: 'dk_recreated' });
    expect(await readdir(outbox)).toEqual(['dk_recreated.json']);
  });

  it('answers a repeated key with the first acceptance and keeps one file', async () => {
    let t = Date.parse('2025-03-01T12:00:00Z');
    const sink = createFileSmsSender({ dir, now: () => new Date((t += 1_000)) });
    const first = await sink.send(message);
    const again = await sink.send(message);
    expect(again).toEqual(first);
    expect(await readdir(dir)).toEqual(['dk_0123abcd.json']);
  });

  it('keeps a key with path characters inside the directory', async () => {
    await createFileSmsSender({ dir }).send({ ...message, idempotencyKey: '../escape/key' });
    expect(await readdir(dir)).toEqual(['%2e%2e%2fescape%2fkey.json']);
  });

  it('refuses a message for another channel', async () => {
    await expect(createFileSmsSender({ dir }).send({ ...message, channel: 'email' })).rejects.toMatchObject({ type: ChimeErrorType.ProviderRejected });
  });
});
