/**
 * The walking skeleton, end to end on real components: POST /v1/reminders → a reminder workflow on
 * the real Temporal dev server → an email through nodemailer to a real SMTP server, carrying the
 * delivery idempotency key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { createActivities } from '../../activities/index.js';
import { buildApp } from '../../src/api/app.js';
import { createSmtpEmailSender, IDEMPOTENCY_HEADER, messageIdFor } from '../../src/channels/email.js';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { TenantId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService, type ReminderView } from '../../src/reminders/service.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { reminderStateQuery } from '../../workflows/reminder.js';
import { openTestDatabase } from '../support/database.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const tenantId = TenantId('acme');
const taskQueue = `walking-skeleton-${randomUUID()}`;

let smtp: TestSmtpServer;
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let nativeConnection: NativeConnection;
let connection: Connection;
let worker: Worker;
let running: Promise<void>;
let app: FastifyInstance;
let client: Client;

beforeAll(async () => {
  smtp = await startSmtpServer();
  database = await openTestDatabase();
  const persistence = createStoragePersistence(database.db);
  const email = createSmtpEmailSender({ url: smtp.url, from: 'Chime <chime@test.localhost>' });
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createChimeWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({ senders: { email }, contacts: persistence, decisions: persistence }),
  });
  running = worker.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  app = await buildApp({
    reminders: createReminderService({ workflows: client.workflow, taskQueue, persistence }),
    tenantId,
    checkReady: async () => {},
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await app?.close();
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await database?.close();
  await smtp?.close();
});

/** 'YYYY-MM-DDTHH:mm:ss' wall time in UTC, `offsetMs` from now, truncated to the second. */
function utcWallTime(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().slice(0, 19);
}

describe('POST /v1/reminders', () => {
  it('starts a reminder workflow that emails each occurrence with its idempotency key', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/reminders',
      payload: {
        userId: 'ada',
        email: 'ada@example.com',
        title: 'Drink water',
        body: 'A glass now.',
        recurrence: { dtstart: utcWallTime(3_000), tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=2;COUNT=2' },
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    const reminder = response.json<ReminderView>();
    expect(reminder.workflowId).toBe(`reminder/acme/ada/${reminder.id}`);
    expect(reminder.upcoming).toHaveLength(2);

    const mails = await smtp.waitFor(2, 30_000);
    expect(mails.map((m) => m.to)).toEqual([['ada@example.com'], ['ada@example.com']]);
    const expectedKeys = reminder.upcoming.map((occurrence) =>
      deliveryIdempotencyKey({
        tenantId,
        userId: 'ada',
        occurrence: { reminderId: reminder.id, recurrenceId: occurrence.utc },
        channel: 'email',
      }),
    );
    expect(mails.map((m) => m.headers[IDEMPOTENCY_HEADER.toLowerCase()])).toEqual(expectedKeys);
    expect(mails.map((m) => m.headers['message-id'])).toEqual(expectedKeys.map(messageIdFor));
    expect(mails[0]?.headers.subject).toBe('Drink water');
    // Each mail arrives at, not before, its occurrence.
    for (const [i, mail] of mails.entries()) {
      expect(mail.receivedAt).toBeGreaterThanOrEqual(Date.parse(reminder.upcoming[i]!.utc));
    }

    const handle = client.workflow.getHandle(reminder.workflowId);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.decisions.map((d) => d.kind)).toEqual(['delivered', 'delivered']);
    const state = await handle.query(reminderStateQuery);
    expect(state.decisions.flatMap((d) => (d.kind === 'delivered' ? d.channels.map((c) => c.outcome) : []))).toEqual([
      'sent',
      'sent',
    ]);
  });

  it('rejects an invalid rule with a problem naming the rule part', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/reminders',
      payload: {
        userId: 'ada',
        email: 'ada@example.com',
        title: 'Broken',
        body: '',
        recurrence: { dtstart: '2026-01-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;BYHOUR=25' },
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ type: string; errors: { field: string }[] }>();
    expect(problem.type).toBe('urn:chime:problem:invalid-recurrence');
    expect(problem.errors[0]?.field).toMatch(/BYHOUR/i);
  });

  it('rejects unknown fields and a malformed email with the field named', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/reminders',
      payload: { userId: 'ada', email: 'not-an-email', title: 'x', body: '', colour: 'red', ical: 'RRULE:FREQ=DAILY' },
    });
    expect(response.statusCode).toBe(400);
    const fields = response.json<{ errors: { field: string }[] }>().errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.email', 'body.colour']));
  });
});
