/**
 * Long horizons on the time-skipping test server: a daily 09:00 Europe/Paris reminder across the
 * spring-forward change fires at 09:00 local every day — 08:00Z before the change, 07:00Z after.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { activitiesFor } from '../../src/entry/runtime.js';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { TenantId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import type { ReminderState } from '../../workflows/reminder.js';
import { openTestDatabase } from '../support/database.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const taskQueue = 'timeskipping-daily';
let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let worker: Worker;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  smtp = await startSmtpServer();
  database = await openTestDatabase();
  worker = await createChimeWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: activitiesFor(database.db, { email: createSmtpEmailSender({ url: smtp.url, from: 'chime@test.localhost' }) }),
  });
});

afterAll(async () => {
  await database?.close();
  await smtp?.close();
  await env?.teardown();
});

describe('daily reminder across a DST change (time-skipping)', () => {
  it('sends the 09:00 Paris reminder at 08:00Z before and 07:00Z after the spring-forward night', async () => {
    const service = createReminderService({
      workflows: env.client.workflow,
      taskQueue,
      persistence: createStoragePersistence(database.db),
    });
    const result = await worker.runUntil(async () => {
      const reminder = await service.create({ tenantId: TenantId('acme') }, {
        userId: 'lin',
        email: 'lin@example.com',
        title: 'Morning pills',
        body: 'Take them with water.',
        recurrence: { dtstart: '2030-03-29T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;COUNT=4' },
      });
      return env.client.workflow.getHandle(reminder.workflowId).result() as Promise<ReminderState>;
    });

    expect(result.status).toBe('completed');
    const delivered = result.decisions.filter((d) => d.kind === 'delivered');
    expect(delivered.map((d) => d.occurrence.scheduledFor)).toEqual([
      '2030-03-29T08:00:00Z',
      '2030-03-30T08:00:00Z',
      '2030-03-31T07:00:00Z',
      '2030-04-01T07:00:00Z',
    ]);
    // Decided when due (workflow time), not before and not a minute late.
    for (const d of delivered) {
      const lateMs = Date.parse(d.decidedAt) - Date.parse(d.occurrence.scheduledFor);
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThan(60_000);
    }
    expect(smtp.received).toHaveLength(4);
    expect(new Set(smtp.received.map((m) => m.headers['x-chime-idempotency-key'])).size).toBe(4);
  });
});
