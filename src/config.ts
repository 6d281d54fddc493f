/**
 * Configuration: one validated schema, read from the environment in exactly one place.
 * Nothing else in Chime reads `process.env`.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

export const ConfigSchema = Type.Object({
  /** Directory for the embedded stack's state (Temporal SQLite file, PGlite, mail/SMS sinks). */
  dataDir: Type.String({ minLength: 1 }),
  /** PostgreSQL connection string; unset means embedded PGlite under `dataDir/pglite`. */
  databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  temporal: Type.Object({
    address: Type.String({ minLength: 1 }),
    namespace: Type.String({ minLength: 1 }),
    taskQueue: Type.String({ minLength: 1 }),
    /** Ports of the embedded dev server that `npm start` launches. */
    devServerPort: Port,
    uiPort: Port,
    /** TLS to the frontend (TEMPORAL_TLS, implied by an API key or any TLS file); absent: plaintext. Paths are checked readable PEM files. */
    tls: Type.Optional(
      Type.Object({
        /** mTLS client certificate and its private key: both or neither. */
        clientCertPath: Type.Optional(Type.String({ minLength: 1 })),
        clientKeyPath: Type.Optional(Type.String({ minLength: 1 })),
        /** CA certificate(s) of the server; unset: the system's roots (Temporal Cloud). */
        serverCaPath: Type.Optional(Type.String({ minLength: 1 })),
        /** TLS server name (SNI and certificate check) when it is not the address's host. */
        serverName: Type.Optional(Type.String({ minLength: 1 })),
      }),
    ),
    /** Temporal Cloud API key, sent as a bearer token over TLS. Never logged. */
    apiKey: Type.Optional(Type.String({ minLength: 1 })),
  }),
  api: Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Port,
  }),
  smtp: Type.Object({
    /** Unset: email goes to the local sink under `dataDir/outbox/email`. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    from: Type.String({ minLength: 3 }),
    user: Type.Optional(Type.String()),
    pass: Type.Optional(Type.String()),
    requireTls: Type.Boolean(),
    rejectUnauthorized: Type.Boolean(),
    poolMax: Type.Integer({ minimum: 1 }),
    socketTimeoutMs: Type.Integer({ minimum: 1_000 }),
  }),
  /** Unset: SMS goes to the local sink under `dataDir/outbox/sms`. */
  twilio: Type.Optional(
    Type.Object({
      accountSid: Type.String({ minLength: 1 }),
      authToken: Type.String({ minLength: 1 }),
      from: Type.Optional(Type.String({ minLength: 1 })),
      messagingServiceSid: Type.Optional(Type.String({ minLength: 1 })),
      /** Public URL of POST /v1/webhooks/twilio/status; unset: no status callbacks. */
      statusCallbackUrl: Type.Optional(Type.String({ minLength: 1 })),
      apiUrl: Type.Optional(Type.String({ minLength: 1 })),
      timeoutMs: Type.Integer({ minimum: 100 }),
    }),
  ),
  /** Per provider: a circuit breaker and a bulkhead so a dead provider cannot hold every worker slot. */
  breaker: Type.Object({
    failures: Type.Integer({ minimum: 1 }),
    openMs: Type.Integer({ minimum: 100 }),
    maxConcurrent: Type.Integer({ minimum: 1 }),
    /** How long a send waits for a bulkhead slot before it is turned back (to Temporal's retry). */
    queueWaitMs: Type.Integer({ minimum: 0 }),
  }),
  /** The worker's capacity (docs/performance.md says how these defaults were chosen). */
  worker: Type.Object({
    maxConcurrentWorkflowTasks: Type.Integer({ minimum: 2 }),
    maxConcurrentActivities: Type.Integer({ minimum: 1 }),
    maxConcurrentLocalActivities: Type.Integer({ minimum: 1 }),
    /** Workflows kept in memory between tasks; sleeping reminders past this are evicted and replayed when they wake. */
    maxCachedWorkflows: Type.Integer({ minimum: 0 }),
    /** Long polls kept open for workflow tasks and for activity tasks: a fixed number, not scaled with the backlog. */
    workflowTaskPollers: Type.Integer({ minimum: 2 }),
    activityTaskPollers: Type.Integer({ minimum: 1 }),
    /**
     * How long a workflow task may wait for this worker's sticky queue before the server hands it to
     * any worker with the whole history (which the worker then replays).
     */
    stickyTimeoutMs: Type.Integer({ minimum: 1_000 }),
    /** On SIGTERM/SIGINT: how long in-flight activities may run on after polling stops, before they are cancelled. */
    shutdownGraceMs: Type.Integer({ minimum: 0 }),
  }),
  retention: Type.Object({
    /** HTTP Idempotency-Key records (IETF draft: at least 24 h). */
    idempotencyHours: Type.Integer({ minimum: 1 }),
    /** Delivery ledger and decision records; 0 keeps them forever. */
    ledgerDays: Type.Integer({ minimum: 0 }),
  }),
  /** A late occurrence is still delivered within this window, else recorded as missed. */
  catchUpWindowMs: Type.Integer({ minimum: 0 }),
  /** How long a read waits for a reminder's workflow before answering from the database. */
  queryTimeoutMs: Type.Integer({ minimum: 100 }),
  /** New SMS destinations a tenant may set on its users in 24 hours (an SMS-pumping brake). */
  smsDestinationsPerDay: Type.Integer({ minimum: 1 }),
  /** Failed authentications per minute per client address; past it, refused before any key lookup. */
  authFailuresPerMinute: Type.Integer({ minimum: 1 }),
  /** SMS segments a template may take, estimated with sample values when it is defined. */
  smsMaxSegments: Type.Integer({ minimum: 1, maximum: 10 }),
  /** Where `chime schedules` sends its requests, and with which key (else the local API and data/admin-api-key). */
  cli: Type.Object({ apiUrl: Type.Optional(Type.String({ minLength: 1 })), apiKey: Type.Optional(Type.String({ minLength: 1 })) }),
  rateLimitPerMinute: Type.Integer({ minimum: 1 }),
  /** Payload encryption: `CHIME_PAYLOAD_KEYS`, `k2:<base64 32 bytes>,k1:…` (the first encrypts; all decrypt). Parsed by src/temporal/codec.ts. */
  payloadKeys: Type.Optional(Type.String({ minLength: 1 })),
  /** The Temporal Web UI origin allowed to call the codec endpoint from the browser. */
  codecUiOrigin: Type.Optional(Type.String({ minLength: 1 })),
  /** The codec endpoint answers loopback callers without a key (a Web UI on this machine cannot send one). */
  codecOpenOnLoopback: Type.Boolean(),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
  ),
  /** Prometheus endpoints (`host:port`); absent: not served. The API serves `/metrics` on its own port. */
  metrics: Type.Object({
    /** The worker's `/metrics` (deliveries, decisions, lateness, providers, breakers, ledger claims). */
    workerAddress: Type.Optional(Type.String({ minLength: 3 })),
    /** The Temporal SDK's own `/metrics` in the worker process (task latencies, slots, pollers, cache). */
    temporalAddress: Type.Optional(Type.String({ minLength: 3 })),
  }),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  readonly type = 'config_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function opt(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A readable PEM file named by `name` (resolved against the working directory), or undefined when unset. */
function pemFile(env: Env, name: string): string | undefined {
  const raw = opt(env, name);
  if (raw === undefined) return undefined;
  const file = path.resolve(raw);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? String(error));
    throw new ConfigError(`${name}: cannot read ${file} (${why})`);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(`${name}: ${file} is not a PEM file (no "-----BEGIN" line)`);
  return file;
}

/**
 * The Temporal connection's TLS and API key (Temporal Cloud, a cluster behind TLS or mTLS), checked
 * here so that a wrong setting stops `npm run worker` / `npm run api` at start, naming its variable.
 * src/temporal/connection.ts turns them into connection options. The API key never appears in an error.
 */
function temporalSecurity(env: Env): { tls?: NonNullable<Config['temporal']['tls']>; apiKey?: string } {
  const apiKey = opt(env, 'TEMPORAL_API_KEY');
  const explicit = opt(env, 'TEMPORAL_TLS') === undefined ? undefined : bool(env, 'TEMPORAL_TLS', false);
  const tlsVariables = ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_SERVER_NAME'].filter((name) => opt(env, name) !== undefined);
  if (explicit === false && tlsVariables.length > 0) {
    const why = tlsVariables[0] === 'TEMPORAL_API_KEY' ? 'an API key is only sent over TLS' : 'it is a TLS setting';
    throw new ConfigError(`${tlsVariables[0]} is set but TEMPORAL_TLS=false (${why}): unset TEMPORAL_TLS or set it to true`);
  }
  if ((opt(env, 'TEMPORAL_TLS_CERT_PATH') === undefined) !== (opt(env, 'TEMPORAL_TLS_KEY_PATH') === undefined)) {
    const [set, missing] = opt(env, 'TEMPORAL_TLS_CERT_PATH') ? ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH'] : ['TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_CERT_PATH'];
    throw new ConfigError(`${set} is set without ${missing}: the mTLS client certificate and its key go together (set both or neither)`);
  }
  const clientCertPath = pemFile(env, 'TEMPORAL_TLS_CERT_PATH');
  const clientKeyPath = pemFile(env, 'TEMPORAL_TLS_KEY_PATH');
  const serverCaPath = pemFile(env, 'TEMPORAL_TLS_CA_PATH');
  const serverName = opt(env, 'TEMPORAL_TLS_SERVER_NAME');
  const tls = explicit ?? tlsVariables.length > 0;
  return {
    ...(tls
      ? {
          tls: {
            ...(clientCertPath && clientKeyPath ? { clientCertPath, clientKeyPath } : {}),
            ...(serverCaPath ? { serverCaPath } : {}),
            ...(serverName ? { serverName } : {}),
          },
        }
      : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** `host:port` to listen on (port 0: any free port); set to the empty string to listen nowhere. */
function listenAddress(env: Env, name: string, fallback: string): string | undefined {
  const raw = env[name] ?? fallback;
  if (raw === '') return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  if (!match || Number(match[2]) > 65_535) throw new ConfigError(`${name} must be host:port (e.g. 0.0.0.0:9464), or empty to turn it off; got "${raw}"`);
  return raw;
}

/** Splits a `host:port` from `listenAddress`. */
export function hostAndPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

/** Three segments: about 450 GSM-7 characters, or 200 in UCS-2 (Arabic, Chinese, emoji). */
export const DEFAULT_SMS_MAX_SEGMENTS = 3;

/** Builds the configuration from environment variables (documented in the README). */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(opt(env, 'CHIME_DATA_DIR') ?? 'data');
  const devServerPort = int(env, 'TEMPORAL_PORT', 7233);
  const candidate = {
    dataDir,
    databaseUrl: opt(env, 'DATABASE_URL'),
    temporal: {
      address: opt(env, 'TEMPORAL_ADDRESS') ?? `127.0.0.1:${devServerPort}`,
      namespace: opt(env, 'TEMPORAL_NAMESPACE') ?? 'default',
      taskQueue: opt(env, 'CHIME_TASK_QUEUE') ?? 'chime',
      devServerPort,
      uiPort: int(env, 'TEMPORAL_UI_PORT', 8233),
      ...temporalSecurity(env),
    },
    api: {
      host: opt(env, 'CHIME_API_HOST') ?? '127.0.0.1',
      port: int(env, 'CHIME_API_PORT', 3000),
    },
    smtp: {
      url: opt(env, 'SMTP_URL'),
      from: opt(env, 'CHIME_EMAIL_FROM') ?? 'Chime <reminders@chime.localhost>',
      user: opt(env, 'SMTP_USER'),
      pass: opt(env, 'SMTP_PASS'),
      requireTls: bool(env, 'SMTP_REQUIRE_TLS', false),
      rejectUnauthorized: bool(env, 'SMTP_TLS_REJECT_UNAUTHORIZED', true),
      poolMax: int(env, 'SMTP_POOL_MAX', 5),
      socketTimeoutMs: int(env, 'SMTP_SOCKET_TIMEOUT_MS', 30_000),
    },
    twilio: opt(env, 'TWILIO_ACCOUNT_SID')
      ? {
          accountSid: opt(env, 'TWILIO_ACCOUNT_SID'),
          authToken: opt(env, 'TWILIO_AUTH_TOKEN'),
          from: opt(env, 'TWILIO_FROM'),
          messagingServiceSid: opt(env, 'TWILIO_MESSAGING_SERVICE_SID'),
          statusCallbackUrl: opt(env, 'TWILIO_STATUS_CALLBACK_URL'),
          apiUrl: opt(env, 'TWILIO_API_URL'),
          timeoutMs: int(env, 'TWILIO_TIMEOUT_MS', 10_000),
        }
      : undefined,
    breaker: {
      failures: int(env, 'CHIME_BREAKER_FAILURES', 5),
      openMs: int(env, 'CHIME_BREAKER_OPEN_MS', 30_000),
      maxConcurrent: int(env, 'CHIME_PROVIDER_MAX_CONCURRENT', 20),
      queueWaitMs: int(env, 'CHIME_PROVIDER_QUEUE_WAIT_MS', 5_000),
    },
    worker: {
      maxConcurrentWorkflowTasks: int(env, 'CHIME_WORKER_MAX_WORKFLOW_TASKS', 100),
      maxConcurrentActivities: int(env, 'CHIME_WORKER_MAX_ACTIVITIES', 100),
      maxConcurrentLocalActivities: int(env, 'CHIME_WORKER_MAX_LOCAL_ACTIVITIES', 100),
      maxCachedWorkflows: int(env, 'CHIME_WORKER_MAX_CACHED_WORKFLOWS', 2_000),
      workflowTaskPollers: int(env, 'CHIME_WORKER_WORKFLOW_POLLERS', 2),
      activityTaskPollers: int(env, 'CHIME_WORKER_ACTIVITY_POLLERS', 2),
      stickyTimeoutMs: int(env, 'CHIME_WORKER_STICKY_TIMEOUT_MS', 30_000),
      shutdownGraceMs: int(env, 'CHIME_WORKER_SHUTDOWN_GRACE_MS', 30_000),
    },
    retention: {
      idempotencyHours: int(env, 'CHIME_IDEMPOTENCY_RETENTION_HOURS', 24),
      ledgerDays: int(env, 'CHIME_LEDGER_RETENTION_DAYS', 0),
    },
    catchUpWindowMs: int(env, 'CHIME_CATCH_UP_WINDOW_MS', 15 * 60_000),
    queryTimeoutMs: int(env, 'CHIME_QUERY_TIMEOUT_MS', 3_000),
    smsMaxSegments: int(env, 'CHIME_SMS_MAX_SEGMENTS', DEFAULT_SMS_MAX_SEGMENTS),
    authFailuresPerMinute: int(env, 'CHIME_AUTH_FAILURES_PER_MINUTE', 30),
    smsDestinationsPerDay: int(env, 'CHIME_SMS_NEW_DESTINATIONS_PER_DAY', 200),
    cli: { apiUrl: opt(env, 'CHIME_API_URL'), apiKey: opt(env, 'CHIME_API_KEY') },
    rateLimitPerMinute: int(env, 'CHIME_RATE_LIMIT_PER_MINUTE', 600),
    payloadKeys: opt(env, 'CHIME_PAYLOAD_KEYS'),
    codecUiOrigin: opt(env, 'CHIME_CODEC_UI_ORIGIN'),
    codecOpenOnLoopback: bool(env, 'CHIME_CODEC_OPEN_ON_LOOPBACK', false),
    logLevel: opt(env, 'CHIME_LOG_LEVEL') ?? 'info',
    metrics: {
      workerAddress: listenAddress(env, 'CHIME_WORKER_METRICS_ADDRESS', '127.0.0.1:9464'),
      temporalAddress: listenAddress(env, 'TEMPORAL_METRICS_ADDRESS', '127.0.0.1:9465'),
    },
  };
  // Drop undefined optionals so the schema sees them as absent.
  const cleaned = JSON.parse(JSON.stringify(candidate)) as unknown;
  if (!Value.Check(ConfigSchema, cleaned)) {
    const first = Value.Errors(ConfigSchema, cleaned)[0];
    throw new ConfigError(
      `invalid configuration at ${first?.instancePath || '/'}: ${first?.message ?? 'unknown error'}`,
    );
  }
  const twilio = (cleaned as Config).twilio;
  if (twilio && (twilio.from === undefined) === (twilio.messagingServiceSid === undefined)) {
    throw new ConfigError('with TWILIO_ACCOUNT_SID set exactly one of TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required');
  }
  return cleaned;
}
