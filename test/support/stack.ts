/**
 * A Chime stack for integration tests on the run's real Temporal dev server, assembled by the same
 * composition functions as production (src/entry/runtime.ts): a worker on its own task queue, the
 * HTTP app (listening on loopback, for the typed client), a real SMTP server and a real database
 * (PGlite, or a fresh database on TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { createChimeClient, type ChimeClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import type { MessageSender } from '../../src/domain/delivery.js';
import { TenantId, UserId } from '../../src/domain/ids.js';
import { activitiesFor, createApi } from '../../src/entry/runtime.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService, type ReminderService } from '../../src/reminders/service.js';
import { createStores } from '../../src/storage/index.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

export interface TestStack {
  tenantId: TenantId;
  taskQueue: string;
  app: FastifyInstance;
  url: string;
  client: Client;
  /** The tenant admin's API key, and the typed API client that uses it. */
  adminKey: string;
  api: ChimeClient;
  /** The service behind the API, for tests that drive use cases directly. */
  reminders: ReminderService;
  smtp: TestSmtpServer;
  database: TestDatabase;
  /** A new API key of `tenantId` (another tenant's, if given), user-scoped when `userId` is given. */
  createKey(options?: { tenantId?: TenantId; userId?: string }): Promise<string>;
  /** Activities over this stack's database, for extra workers (e.g. on another task queue). */
  activities(senders?: Partial<Record<'email' | 'sms', MessageSender>>): ReturnType<typeof activitiesFor>;
  close(): Promise<void>;
}

export async function startTestStack(options: { catchUpWindowMs?: number } = {}): Promise<TestStack> {
  const tenantId = TenantId('acme');
  const taskQueue = `test-${randomUUID()}`;
  const config = loadConfig({
    CHIME_TASK_QUEUE: taskQueue,
    CHIME_LOG_LEVEL: 'silent',
    CHIME_RATE_LIMIT_PER_MINUTE: '100000',
    ...(options.catchUpWindowMs !== undefined ? { CHIME_CATCH_UP_WINDOW_MS: String(options.catchUpWindowMs) } : {}),
  });
  const smtp = await startSmtpServer();
  const database = await openTestDatabase();
  const stores = createStores(database.db);
  const email = createSmtpEmailSender({ url: smtp.url, from: 'Chime <chime@test.localhost>' });
  const activities = (senders: Partial<Record<'email' | 'sms', MessageSender>> = { email }) => activitiesFor(database.db, senders);

  const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker: Worker = await createChimeWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: activities(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const app = await createApi({ config, workflows: client.workflow, storage: database, checkReady: async () => {} });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const createKey: TestStack['createKey'] = async ({ tenantId: keyTenant = tenantId, userId } = {}) => {
    await stores.tenants.ensure({ id: keyTenant, name: keyTenant });
    const key = generateApiKey(userId ? 'user' : 'admin');
    if (userId) {
      await stores.users.ensure(keyTenant, UserId(userId));
      await stores.apiKeys.create({ id: key.keyId, tenantId: keyTenant, scope: 'user', userId: UserId(userId), secretHash: key.secretHash });
    } else {
      await stores.apiKeys.create({ id: key.keyId, tenantId: keyTenant, scope: 'admin', secretHash: key.secretHash });
    }
    return key.token;
  };
  const adminKey = await createKey();

  return {
    tenantId,
    taskQueue,
    app,
    url,
    client,
    adminKey,
    api: createChimeClient({ baseUrl: url, apiKey: adminKey, maxRetries: 0 }),
    reminders: createReminderService({
      workflows: client.workflow,
      taskQueue,
      persistence: createStoragePersistence(database.db),
      catchUpWindowMs: config.catchUpWindowMs,
    }),
    smtp,
    database,
    createKey,
    activities,
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
