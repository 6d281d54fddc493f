/**
 * A Chime stack for integration tests on the run's real Temporal dev server: a worker on its own
 * task queue, the HTTP app, a real SMTP server and a real database (PGlite or TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { createActivities } from '../../activities/index.js';
import { buildApp } from '../../src/api/app.js';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { TenantId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService, type ReminderService } from '../../src/reminders/service.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { openTestDatabase } from './database.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

export interface TestStack {
  tenantId: TenantId;
  taskQueue: string;
  app: FastifyInstance;
  client: Client;
  reminders: ReminderService;
  smtp: TestSmtpServer;
  database: Awaited<ReturnType<typeof openTestDatabase>>;
  close(): Promise<void>;
}

export async function startTestStack(options: { catchUpWindowMs?: number } = {}): Promise<TestStack> {
  const tenantId = TenantId('acme');
  const taskQueue = `test-${randomUUID()}`;
  const smtp = await startSmtpServer();
  const database = await openTestDatabase();
  const persistence = createStoragePersistence(database.db);
  const email = createSmtpEmailSender({ url: smtp.url, from: 'Chime <chime@test.localhost>' });
  const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker: Worker = await createChimeWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({ senders: { email }, contacts: persistence, decisions: persistence }),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const reminders = createReminderService({
    workflows: client.workflow,
    taskQueue,
    persistence,
    ...(options.catchUpWindowMs !== undefined ? { catchUpWindowMs: options.catchUpWindowMs } : {}),
  });
  const app = await buildApp({ reminders, tenantId, checkReady: async () => {}, logLevel: 'silent' });
  return {
    tenantId,
    taskQueue,
    app,
    client,
    reminders,
    smtp,
    database,
    async close() {
      await app.close();
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await email.close?.();
      await database.close();
      await smtp.close();
    },
  };
}

/** 'YYYY-MM-DDTHH:mm:ss' wall time in UTC, `offsetMs` from now, truncated to the second. */
export function utcWallTime(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().slice(0, 19);
}
