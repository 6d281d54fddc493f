/**
 * The composition root: the one place where configuration becomes real adapters (database, SMTP,
 * Temporal connections) and the worker and API are assembled from them.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { createActivities } from '../../activities/index.js';
import { buildApp } from '../api/app.js';
import { createFileEmailSender, createSmtpEmailSender } from '../channels/email.js';
import type { Config } from '../config.js';
import type { MessageSender } from '../domain/delivery.js';
import { TenantId } from '../domain/ids.js';
import { createReminderService } from '../reminders/service.js';
import { openDatabase, type OpenedDatabase } from '../storage/database.js';
import { createStoragePersistence } from '../reminders/persistence.js';
import { createChimeWorker } from '../temporal/worker.js';

/** Until API keys and tenants land, the embedded stack serves one tenant. */
export const DEFAULT_TENANT = TenantId('default');

export function emailSender(config: Config): { sender: MessageSender; description: string } {
  if (config.smtp.url) {
    return { sender: createSmtpEmailSender({ url: config.smtp.url, from: config.smtp.from }), description: 'SMTP' };
  }
  const dir = path.join(config.dataDir, 'outbox', 'email');
  return { sender: createFileEmailSender({ dir, from: config.smtp.from }), description: `files in ${dir}` };
}

export async function openStorage(config: Config): Promise<OpenedDatabase> {
  return openDatabase({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
}

export async function startWorker(
  config: Config,
  storage: OpenedDatabase,
  email: MessageSender,
): Promise<{ worker: Worker; done: Promise<void>; close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const persistence = createStoragePersistence(storage.db);
  const worker = await createChimeWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({ senders: { email }, contacts: persistence, decisions: persistence }),
  });
  const done = worker.run();
  return {
    worker,
    done,
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
      await connection.close();
    },
  };
}

export async function startApi(
  config: Config,
  storage: OpenedDatabase,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const reminders = createReminderService({
    workflows: client.workflow,
    taskQueue: config.temporal.taskQueue,
    persistence: createStoragePersistence(storage.db),
  });
  const app = await buildApp({
    reminders,
    tenantId: DEFAULT_TENANT,
    logLevel: config.logLevel,
    checkReady: async () => {
      await connection.healthService.check({});
      await storage.ping();
    },
  });
  const url = await app.listen({ host: config.api.host, port: config.api.port });
  return {
    app,
    url,
    async close() {
      await app.close();
      await connection.close();
    },
  };
}
