/**
 * A Chime worker on its own time-skipping test server, with a real database and a real SMTP server:
 * for paths that take days of workflow time (deferrals through the night, hundreds of occurrences,
 * week-long snoozes) in seconds. Skipped time is global to a server, so each test file starts one.
 */
import { inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import type { MessageSender } from '../../src/domain/delivery.js';
import { TenantId } from '../../src/domain/ids.js';
import { activitiesFor } from '../../src/entry/runtime.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService, type ReminderService } from '../../src/reminders/service.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  tenantId: TenantId;
  taskQueue: string;
  smtp: TestSmtpServer;
  database: TestDatabase;
  stores: Stores;
  reminders: ReminderService;
  /** Runs `scenario` with a worker polling the task queue (a worker runs once: each call makes one). */
  run<T>(scenario: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startTimeSkippingStack(
  taskQueue: string,
  options: { senders?: (smtp: TestSmtpServer) => Partial<Record<'email' | 'sms', MessageSender>>; catchUpWindowMs?: number } = {},
): Promise<TimeSkippingStack> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const smtp = await startSmtpServer();
  const database = await openTestDatabase();
  const senders = options.senders?.(smtp) ?? { email: createSmtpEmailSender({ url: smtp.url, from: 'chime@test.localhost' }) };
  const activities = activitiesFor(database.db, senders);
  return {
    env,
    tenantId: TenantId('acme'),
    taskQueue,
    smtp,
    database,
    stores: createStores(database.db),
    async run(scenario) {
      const worker = await createChimeWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities,
      });
      return worker.runUntil(scenario);
    },
    reminders: createReminderService({
      workflows: env.client.workflow,
      taskQueue,
      persistence: createStoragePersistence(database.db),
      ...(options.catchUpWindowMs !== undefined ? { catchUpWindowMs: options.catchUpWindowMs } : {}),
    }),
    async close() {
      await database.close();
      await smtp.close();
      await env.teardown();
    },
  };
}
