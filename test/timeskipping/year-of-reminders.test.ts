/**
 * A year of a daily reminder on the time-skipping server: 09:00 Europe/Paris every day of 2030,
 * across both DST changes (31 March, 27 October), on email and SMS. Every occurrence fires exactly
 * once per channel at exactly 09:00 local — checked against instants computed here, independently
 * of Chime's recurrence engine.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Temporal } from 'temporal-polyfill';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { createTwilioSmsSender } from '../../src/channels/sms-twilio.js';
import { ReminderId, TenantId, UserId } from '../../src/domain/ids.js';
import { activitiesFor } from '../../src/entry/runtime.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import type { ReminderState } from '../../workflows/reminder.js';
import { checkDeliveries, type ActualDelivery } from '../support/chronos.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const tenantId = TenantId('acme');
const userId = UserId('odile');
const taskQueue = 'timeskipping-year';
let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let twilio: FakeTwilio;
let database: TestDatabase;
let stores: Stores;
let worker: Worker;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  smtp = await startSmtpServer();
  twilio = await startFakeTwilio();
  database = await openTestDatabase();
  stores = createStores(database.db);
  worker = await createChimeWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: activitiesFor(database.db, {
      email: createSmtpEmailSender({ url: smtp.url, from: 'chime@test.localhost' }),
      sms: createTwilioSmsSender({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+15005550001', baseUrl: twilio.url }),
    }),
  });
}, 120_000);

afterAll(async () => {
  await database?.close();
  await twilio?.close();
  await smtp?.close();
  await env?.teardown();
});

async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    items.push(...p.items);
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

describe('a year of a daily reminder (time-skipping)', () => {
  it('fires 365 times at exactly 09:00 Paris, once per channel, across both DST changes', { timeout: 600_000 }, async () => {
    const service = createReminderService({ workflows: env.client.workflow, taskQueue, persistence: createStoragePersistence(database.db) });
    const reminder = await service.create(
      { tenantId },
      {
        userId,
        email: 'odile@example.com',
        title: 'Vitamins',
        body: 'One a day.',
        channels: ['email', 'sms'],
        recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;COUNT=365' },
      },
    );
    await stores.users.modifyPreferences(tenantId, userId, (p) => ({
      ...p,
      contacts: { ...p.contacts, sms: { number: '+15005550006', verified: true } },
    }));
    const result = await worker.runUntil(env.client.workflow.getHandle(reminder.workflowId).result() as Promise<ReminderState>);
    expect(result.status).toBe('completed');

    // Expected instants, computed independently: 09:00 wall clock in Paris on each day of 2030.
    const expected = Array.from(
      { length: 365 },
      (_, day) =>
        Temporal.PlainDate.from('2030-01-01').add({ days: day }).toPlainDateTime('09:00').toZonedDateTime('Europe/Paris').epochMilliseconds,
    );
    expect(new Set(expected.map((ms) => new Date(ms).toISOString().slice(11, 16)))).toEqual(new Set(['08:00', '07:00']));

    const id = ReminderId(reminder.id);
    const decisions = await allPages((cursor) => stores.decisions.listForReminder(tenantId, id, { limit: 100, ...(cursor ? { cursor } : {}) }));
    const actual: ActualDelivery[] = decisions
      .filter((d) => d.kind === 'sent')
      .flatMap((d) =>
        (d.channels as { channel: string; outcome: string }[])
          .filter((c) => c.outcome === 'sent')
          .map((c) => ({ channel: c.channel, occurrenceAt: d.occurrenceAt.getTime(), sentAt: d.decidedAt.getTime() })),
      );
    const report = checkDeliveries(expected, ['email', 'sms'], actual, 60_000);
    expect(report).toEqual({ missing: [], extra: [], late: [] });

    // And the providers saw exactly one message per occurrence and channel.
    const deliveries = await allPages((cursor) => stores.ledger.listForReminder(tenantId, id, { limit: 100, ...(cursor ? { cursor } : {}) }));
    expect(deliveries.filter((d) => d.channel === 'email' && d.status === 'sent')).toHaveLength(365);
    expect(deliveries.filter((d) => d.channel === 'sms' && d.status === 'sent')).toHaveLength(365);
    expect(smtp.received).toHaveLength(365);
    expect(new Set(smtp.received.map((m) => m.headers['x-chime-idempotency-key'])).size).toBe(365);
    expect(twilio.accepted).toHaveLength(365);
  });
});
