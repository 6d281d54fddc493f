/**
 * Payload encryption on the real dev server: what a codec client starts is ciphertext in the
 * server's history (input, memo, summary), a worker with the same keys runs it and answers queries
 * (its own commands, local-activity markers and query results sealed too), and a client without
 * the keys reads nothing but ciphertext.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../../activities/index.js';
import { normalizeRecurrence } from '../../src/domain/recurrence/index.js';
import { createEncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../src/temporal/codec.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';
import {
  REMINDER_WORKFLOW_TYPE,
  reminderStateQuery,
  reminderWorkflowId,
  type ReminderWorkflowInput,
  type reminderWorkflow,
} from '../../workflows/reminder.js';

const SECRET_TITLE = 'TOP-SECRET-TITLE';
const SECRET_BODY = 'TOP-SECRET-BODY';
const keyring = { keys: new Map([['it-k1', Buffer.alloc(32, 7)]]), activeKeyId: 'it-k1' };
const dataConverter = dataConverterFor(keyring);
const codec = createEncryptionCodec(keyring);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

let connection: Connection;
/** Chime's client, with the keys. */
let sealed: Client;
/** A client without the keys: what the server, the Web UI without a codec endpoint, or an intruder sees. */
let plain: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  sealed = new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
  plain = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
});

function reminderInput(reminderId: string): ReminderWorkflowInput {
  return {
    tenantId: 'codec',
    userId: 'ada',
    reminderId,
    definition: {
      // Far away: the reminder plans, then sleeps; nothing is delivered.
      recurrence: normalizeRecurrence({ dtstart: '2099-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=3' }),
      zoneMode: 'pinned',
      content: { title: SECRET_TITLE, body: SECRET_BODY },
      channels: ['email'],
      category: 'reminders',
    },
  };
}

async function startReminder(taskQueue: string) {
  const reminderId = `rem_${randomUUID().replaceAll('-', '')}`;
  const input = reminderInput(reminderId);
  const handle = await sealed.workflow.start<typeof reminderWorkflow>(REMINDER_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: reminderWorkflowId(input.tenantId, input.userId, reminderId),
    args: [input],
    memo: { title: SECRET_TITLE },
    staticSummary: `${SECRET_TITLE} — daily`,
  });
  return { handle, input };
}

/** Every byte string and string in a history, wherever a payload may hide. */
function leaves(value: unknown, out: Buffer[] = []): Buffer[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value));
  else if (typeof value === 'string') out.push(Buffer.from(value));
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) leaves(v, out);
  return out;
}

function expectNoPlaintext(history: unknown) {
  const found = leaves(history).filter((b) => b.includes(SECRET_TITLE) || b.includes(SECRET_BODY));
  expect(found.map((b) => b.toString('utf8').slice(0, 80))).toEqual([]);
}

describe('payload encryption', () => {
  it('keeps the start event sealed in history; only a client with the keys reads it back', async () => {
    // No worker polls this queue: the history is exactly what the client wrote.
    const { handle, input } = await startReminder(`codec-${randomUUID()}`);
    try {
      const history = await plain.workflow.getHandle(handle.workflowId).fetchHistory();
      const event = history.events?.[0];
      const started = event?.workflowExecutionStartedEventAttributes;
      const payload = started?.input?.payloads?.[0] as Payload;
      expect(text(payload.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(payload.metadata?.[KEY_ID_METADATA_KEY])).toBe('it-k1');
      expect(Buffer.from(payload.data ?? []).includes(SECRET_TITLE)).toBe(false);
      // The memo and the static summary are payloads as well.
      expect(text(started?.memo?.fields?.title?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(event?.userMetadata?.summary?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expectNoPlaintext(history);

      const [decoded] = await codec.decode([payload]);
      expect(defaultPayloadConverter.fromPayload(decoded as Payload)).toEqual(input);
      const description = await handle.describe();
      expect(description.memo).toEqual({ title: SECRET_TITLE });
      expect(await description.staticSummary()).toBe(`${SECRET_TITLE} — daily`);
      // Without the keys, the memo is not readable at all.
      await expect(plain.workflow.getHandle(handle.workflowId).describe()).rejects.toThrow(/encoding/i);
    } finally {
      await handle.terminate('payload-encryption test done');
    }
  });

  it('runs on a worker with the same keys, whose commands and query answers are sealed too', async () => {
    const taskQueue = `codec-${randomUUID()}`;
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    // Only planning runs (the one occurrence is in 2099): the other ports are never reached.
    const unused = {} as unknown as ActivityDependencies;
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: { ...createActivities(unused), recordStatus: async () => {}, recordDecision: async () => {} },
      ...(dataConverter ? { dataConverter } : {}),
    });
    const running = worker.run();
    const { handle } = await startReminder(taskQueue);
    try {
      await expect
        .poll(async () => (await handle.query(reminderStateQuery)).next?.utc, { timeout: 30_000, interval: 250 })
        .toBe('2099-01-01T09:00:00Z');
      const state = await handle.query(reminderStateQuery);
      expect(state.definition.content).toEqual({ title: SECRET_TITLE, body: SECRET_BODY });
      expect(state.status).toBe('active');

      // The worker's own writes (local-activity markers, memo upserts, timers' summaries) are ciphertext.
      const history = await plain.workflow.getHandle(handle.workflowId).fetchHistory();
      expect(history.events?.length).toBeGreaterThan(3);
      expectNoPlaintext(history);
      // And a client without the keys cannot read the answer to a query.
      await expect(plain.workflow.getHandle<typeof reminderWorkflow>(handle.workflowId).query(reminderStateQuery)).rejects.toThrow(/encoding/i);
    } finally {
      await handle.terminate('payload-encryption test done');
      worker.shutdown();
      await running;
      await native.close();
    }
  });
});
