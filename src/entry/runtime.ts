/**
 * The composition root: the one place where configuration becomes real adapters (database, SMTP,
 * Temporal connections) and the worker and API are assembled from them.
 */
import path from 'node:path';
import { Client, Connection, type WorkflowClient } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { createActivities, type ActivityDependencies } from '../../activities/index.js';
import { createDeliverer } from '../../activities/delivery.js';
import { createComposer } from '../templates/compose.js';
import type { DataConverter } from '@temporalio/common';
import { createEncryptionCodec, parseEncryptionKeys } from '../temporal/codec.js';
import { connectionOptions } from '../temporal/connection.js';
import { dataConverterFor } from '../temporal/data-converter.js';
import { codecRoutes } from '../api/routes/codec.js';
import { createAuthFailureLimiter } from '../api/auth.js';
import { parseToken, secretMatches } from '../auth/api-keys.js';
import { createScheduleActivities } from '../../activities/schedules.js';
import { buildApp } from '../api/app.js';
import { createFileEmailSender, createSmtpEmailSender } from '../channels/email.js';
import { withCircuitBreaker } from '../channels/resilience.js';
import { withCallTiming } from '../channels/timed.js';
import { NO_METRICS, type ChimeMetrics } from '../domain/metrics.js';
import { createFileSmsSender } from '../channels/sms-file.js';
import { createTwilioSmsSender } from '../channels/sms-twilio.js';
import { DEFAULT_SMS_MAX_SEGMENTS, hostAndPort, type Config } from '../config.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createDeliveryMetrics, createRegistry, type Registry } from '../observability/metrics.js';
import { serveMetrics, type MetricsServer } from '../observability/metrics-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { CHANNELS, type Channel, type MessageSender } from '../domain/delivery.js';
import { TenantId } from '../domain/ids.js';
import { createReminderService } from '../reminders/service.js';
import { twilioStatusRoutes } from '../api/routes/twilio-status.js';
import { SMS_STATUS_RANK } from '../channels/sms-status.js';
import { createStoragePersistence } from '../reminders/persistence.js';
import { createStores, openDatabase, scheduleRetention, type Database, type OpenedDatabase } from '../storage/index.js';
import { createCategoryPersistence } from '../categories/persistence.js';
import { createCategoryService } from '../categories/service.js';
import { createTemplatePersistence } from '../templates/persistence.js';
import { createApiKeyPersistence } from '../keys/persistence.js';
import { createApiKeyService } from '../keys/service.js';
import { createTemplateService } from '../templates/service.js';
import { createSchedulePersistence } from '../schedules/persistence.js';
import { createScheduleService } from '../schedules/service.js';
import { createUserPersistence } from '../users/persistence.js';
import { createUserService } from '../users/service.js';
import { createChimeWorker, type WorkerTuning } from '../temporal/worker.js';

/** The embedded stack's tenant (production creates tenants and keys with `npx chime keys create`). */
export const DEFAULT_TENANT = TenantId('default');

export interface Senders {
  senders: Record<Channel, MessageSender>;
  /** Where each channel goes, for the start-up line: never a credential. */
  description: string;
  close(): Promise<void>;
}

function emailSender(config: Config): [MessageSender, string] {
  const { smtp } = config;
  if (smtp.url) {
    const sender = createSmtpEmailSender({
      url: smtp.url,
      from: smtp.from,
      ...(smtp.user && smtp.pass ? { auth: { user: smtp.user, pass: smtp.pass } } : {}),
      tls: { requireTLS: smtp.requireTls, rejectUnauthorized: smtp.rejectUnauthorized },
      maxConnections: smtp.poolMax,
      socketTimeoutMs: smtp.socketTimeoutMs,
    });
    return [sender, 'email via SMTP'];
  }
  const dir = path.join(config.dataDir, 'outbox', 'email');
  return [createFileEmailSender({ dir, from: smtp.from }), `email to files in ${dir}`];
}

function smsSender(config: Config): [MessageSender, string] {
  const { twilio } = config;
  if (twilio) {
    const sender = createTwilioSmsSender({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      ...(twilio.from ? { from: twilio.from } : {}),
      ...(twilio.messagingServiceSid ? { messagingServiceSid: twilio.messagingServiceSid } : {}),
      ...(twilio.statusCallbackUrl ? { statusCallbackUrl: twilio.statusCallbackUrl } : {}),
      ...(twilio.apiUrl ? { baseUrl: twilio.apiUrl } : {}),
      timeoutMs: twilio.timeoutMs,
    });
    return [sender, 'SMS via Twilio'];
  }
  const dir = path.join(config.dataDir, 'outbox', 'sms');
  return [createFileSmsSender({ dir }), `SMS to files in ${dir}`];
}

/** Every provider behind its own circuit breaker and bulkhead; its calls and breaker states counted. */
export function createSenders(config: Config, metrics: ChimeMetrics = NO_METRICS): Senders {
  const [email, emailWhere] = emailSender(config);
  const [sms, smsWhere] = smsSender(config);
  const guard = <S extends MessageSender>(sender: S) =>
    withCircuitBreaker(
      withCallTiming(sender, (seconds, outcome) => metrics.providerCall(sender.channel, seconds, outcome)),
      {
        failureThreshold: config.breaker.failures,
        openMs: config.breaker.openMs,
        maxConcurrent: config.breaker.maxConcurrent,
        queueWaitMs: config.breaker.queueWaitMs,
        onStateChange: (state) => metrics.breakerChanged(sender.channel, state),
      },
    );
  const senders = { email: guard(email), sms: guard(sms) };
  return {
    senders,
    description: `${emailWhere}, ${smsWhere}`,
    async close() {
      await email.close?.();
      await sms.close?.();
    },
  };
}

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';

/** The data converter every worker and client of this deployment uses: payloads encrypted when CHIME_PAYLOAD_KEYS is set. */
function dataConverterOf(config: Pick<Config, 'payloadKeys'>): { dataConverter?: DataConverter } {
  const dataConverter = dataConverterFor(parseEncryptionKeys(config.payloadKeys));
  return dataConverter ? { dataConverter } : {};
}

export async function openStorage(config: Config): Promise<OpenedDatabase> {
  return openDatabase({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
}

/** What the worker's activities depend on, over the database and the channel senders. */
export function activityDependencies(db: Kysely<Database>, senders: Partial<Record<Channel, MessageSender>>): ActivityDependencies {
  const stores = createStores(db);
  return {
    senders,
    recipients: { recipientOf: (tenantId, userId) => stores.users.get(tenantId, userId) },
    templates: { templateOf: async (tenantId, id) => (await stores.templates.get(tenantId, id))?.content },
    categories: { categoryPolicyOf: async (tenantId, category) => (await stores.categoryPolicies.get(tenantId, category))?.policy },
    ledger: stores.ledger,
    decisions: stores.decisions,
    reminders: stores.reminders,
  };
}

/** The worker's activities (reminders and audience schedules) over the database and the channel senders. */
export function activitiesFor(db: Kysely<Database>, senders: Partial<Record<Channel, MessageSender>>, metrics: ChimeMetrics = NO_METRICS) {
  const deps = activityDependencies(db, senders);
  const stores = createStores(db);
  return {
    ...createActivities({ ...deps, metrics }),
    ...createScheduleActivities({
      metrics,
      deliverOnce: createDeliverer({ senders, ledger: stores.ledger, metrics }),
      schedules: stores.schedules,
      audiences: stores.audiences,
      runs: stores.scheduleRuns,
      categories: deps.categories,
      ledger: stores.ledger,
      users: stores.users,
      templates: deps.templates,
    }),
  };
}
export type WorkerActivities = ReturnType<typeof activitiesFor>;

/**
 * Slots, pollers and cache from configuration (docs/performance.md says how the defaults were chosen).
 */
export function workerTuning({ worker }: Pick<Config, 'worker'>): WorkerTuning {
  return {
    maxConcurrentWorkflowTaskExecutions: worker.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: worker.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: worker.maxConcurrentLocalActivities,
    maxCachedWorkflows: worker.maxCachedWorkflows,
    // Fixed, few pollers: pollers scaling with the backlog took every new reminder's first task at
    // once, and a single-shard server then answered starts (API creates) at half its rate.
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: worker.workflowTaskPollers },
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: worker.activityTaskPollers },
    // Longer than a burst's queueing: a task that times out on the sticky queue comes back with its
    // whole history, and replaying it cost a saturated worker about 70 % more CPU per occurrence.
    // Not much longer: tasks already queued for a killed worker wait it out before another takes them.
    stickyQueueScheduleToStartTimeout: worker.stickyTimeoutMs,
  };
}

/** One process's logs and metrics: one JSON logger and one registry (`npm start` shares them between its API and worker). */
export interface Observability {
  logger: Logger;
  registry: Registry;
  metrics: ChimeMetrics;
}

/**
 * Sets up a process's logs and metrics. A process that runs a worker also installs the Temporal
 * SDK's runtime here, before any worker connects: SDK logs through the same logger, SDK metrics at
 * TEMPORAL_METRICS_ADDRESS.
 */
export function observe(config: Pick<Config, 'logLevel' | 'metrics'>, service: 'chime' | 'worker' | 'api', { runsWorker }: { runsWorker: boolean }): Observability {
  const logger = createLogger({ level: config.logLevel, service });
  if (runsWorker) installTemporalRuntime({ logger, ...(config.metrics.temporalAddress ? { metricsAddress: config.metrics.temporalAddress } : {}) });
  const registry = createRegistry();
  return { logger, registry, metrics: createDeliveryMetrics(registry, CHANNELS) };
}

export async function startWorker(
  config: Config,
  storage: OpenedDatabase,
  senders: Senders,
  observability: Observability = observe(config, 'worker', { runsWorker: false }),
): Promise<{ worker: Worker; done: Promise<void>; close(): Promise<void> }> {
  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const worker = await createChimeWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: activitiesFor(storage.db, senders.senders, observability.metrics),
    tuning: workerTuning(config),
    shutdownGraceMs: config.worker.shutdownGraceMs,
    ...dataConverterOf(config),
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

/** The worker process's `/metrics` at CHIME_WORKER_METRICS_ADDRESS (entry points only: tests run many workers in one process). */
export async function serveWorkerMetrics(config: Pick<Config, 'metrics'>, observability: Observability): Promise<MetricsServer | undefined> {
  return config.metrics.workerAddress ? serveMetrics(observability.registry, hostAndPort(config.metrics.workerAddress)) : undefined;
}

/** Builds the HTTP app over a Temporal client and the database (tests use the same function). */
export async function createApi(options: {
  config: Pick<Config, 'temporal' | 'twilio' | 'retention' | 'rateLimitPerMinute' | 'catchUpWindowMs' | 'queryTimeoutMs' | 'logLevel'> & Partial<Pick<Config, 'smsMaxSegments' | 'authFailuresPerMinute' | 'payloadKeys' | 'codecUiOrigin' | 'codecOpenOnLoopback' | 'smsDestinationsPerDay'>>;
  workflows: WorkflowClient;
  storage: OpenedDatabase;
  checkReady: () => Promise<void>;
  /** Its logger and the registry served at `/metrics`; absent: a logger at `logLevel`, and no `/metrics`. */
  observability?: Pick<Observability, 'logger' | 'registry'>;
}): Promise<FastifyInstance> {
  const { config, workflows, storage, observability } = options;
  const stores = createStores(storage.db);
  const compose = createComposer({ templates: { templateOf: async (tenantId, id) => (await stores.templates.get(tenantId, id))?.content } });
  const templates = createTemplateService({ persistence: createTemplatePersistence(storage.db), smsMaxSegments: config.smsMaxSegments ?? DEFAULT_SMS_MAX_SEGMENTS });
  const app = await buildApp({
    reminders: createReminderService({
      workflows,
      taskQueue: config.temporal.taskQueue,
      persistence: createStoragePersistence(storage.db),
      catchUpWindowMs: config.catchUpWindowMs,
      queryTimeoutMs: config.queryTimeoutMs,
      templates: templates.checkRef,
      compose,
    }),
    users: createUserService({
      workflows,
      persistence: createUserPersistence(storage.db),
      ...(config.smsDestinationsPerDay !== undefined ? { smsDestinationsPerDay: config.smsDestinationsPerDay } : {}),
    }),
    categories: createCategoryService({ persistence: createCategoryPersistence(storage.db) }),
    schedules: createScheduleService({
      workflows,
      taskQueue: config.temporal.taskQueue,
      persistence: createSchedulePersistence(storage.db),
      catchUpWindowMs: config.catchUpWindowMs,
      queryTimeoutMs: config.queryTimeoutMs,
      templates: templates.checkRef,
      compose,
    }),
    templates,
    keys: createApiKeyService({ persistence: createApiKeyPersistence(storage.db) }),
    apiKeys: stores.apiKeys,
    idempotency: stores.httpIdempotency,
    idempotencyRetentionMs: config.retention.idempotencyHours * 3_600_000,
    rateLimitPerMinute: config.rateLimitPerMinute,
    ...(config.authFailuresPerMinute !== undefined ? { authFailuresPerMinute: config.authFailuresPerMinute } : {}),
    checkReady: options.checkReady,
    logLevel: config.logLevel,
    ...(observability ? { logger: observability.logger, metricsRegistry: observability.registry } : {}),
  });
  const keyring = parseEncryptionKeys(config.payloadKeys);
  if (keyring) {
    // Decoding hands out plaintext: admin keys only, and an address that keeps failing is refused before any lookup.
    const failures = createAuthFailureLimiter({ maxPerMinute: config.authFailuresPerMinute ?? 30 });
    await app.register(codecRoutes, {
      codec: createEncryptionCodec(keyring),
      ...(config.codecUiOrigin ? { uiOrigin: config.codecUiOrigin } : {}),
      authorize: async (request) => {
        if (config.codecOpenOnLoopback && isLoopback(request.ip)) return true;
        if (failures.blockedFor(request.ip) !== undefined) return false;
        const header = request.headers.authorization;
        const parsed = header?.startsWith('Bearer ') ? parseToken(header.slice('Bearer '.length).trim()) : undefined;
        const found = parsed?.scope === 'admin' ? await stores.apiKeys.findActive(parsed.keyId) : undefined;
        const ok = parsed !== undefined && found?.principal.scope === 'admin' && secretMatches(parsed.secret, found.secretHash);
        if (!ok) failures.fail(request.ip);
        return ok;
      },
    });
  }
  const { twilio } = config;
  if (twilio?.statusCallbackUrl) {
    await app.register(twilioStatusRoutes, {
      authToken: twilio.authToken,
      publicUrl: twilio.statusCallbackUrl,
      onStatus: async (event) => {
        await stores.ledger.recordProviderStatus({
          provider: 'twilio',
          ...(event.providerMessageId ? { providerMessageId: event.providerMessageId } : {}),
          ...(event.idempotencyKey ? { idempotencyKey: event.idempotencyKey } : {}),
          status: event.status,
          rank: SMS_STATUS_RANK[event.status],
          ...(event.errorCode !== undefined ? { errorCode: String(event.errorCode) } : {}),
          at: new Date(event.occurredAt),
        });
      },
    });
  }
  return app;
}

export async function startApi(
  config: Config,
  storage: OpenedDatabase,
  observability: Observability = observe(config, 'api', { runsWorker: false }),
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const connection = await Connection.connect(connectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace, ...dataConverterOf(config) });
  const app = await createApi({
    config,
    workflows: client.workflow,
    storage,
    checkReady: async () => {
      await connection.healthService.check({});
      await storage.ping();
    },
    observability,
  });
  // HTTP idempotency records expire by their own expires_at; ledger and decisions are kept unless configured.
  const retention = scheduleRetention(storage.db, {
    deliveryRetentionDays: config.retention.ledgerDays,
    decisionRetentionDays: config.retention.ledgerDays,
    onError: (error) => app.log.error({ err: error }, 'retention run failed'),
  });
  const url = await app.listen({ host: config.api.host, port: config.api.port });
  return {
    app,
    url,
    async close() {
      await retention.stop();
      await app.close();
      await connection.close();
    },
  };
}
