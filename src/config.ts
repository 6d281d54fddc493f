/**
 * Configuration: one validated schema, read from the environment in exactly one place.
 * Nothing else in Chime reads `process.env`.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
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
  }),
  api: Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Port,
  }),
  smtp: Type.Object({
    /** Unset: email goes to the local sink under `dataDir/outbox/email`. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    from: Type.String({ minLength: 3 }),
  }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
  ),
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

function opt(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

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
    },
    api: {
      host: opt(env, 'CHIME_API_HOST') ?? '127.0.0.1',
      port: int(env, 'CHIME_API_PORT', 3000),
    },
    smtp: {
      url: opt(env, 'SMTP_URL'),
      from: opt(env, 'CHIME_EMAIL_FROM') ?? 'Chime <reminders@chime.localhost>',
    },
    logLevel: opt(env, 'CHIME_LOG_LEVEL') ?? 'info',
  };
  // Drop undefined optionals so the schema sees them as absent.
  const cleaned = JSON.parse(JSON.stringify(candidate)) as unknown;
  if (!Value.Check(ConfigSchema, cleaned)) {
    const first = Value.Errors(ConfigSchema, cleaned)[0];
    throw new ConfigError(
      `invalid configuration at ${first?.instancePath || '/'}: ${first?.message ?? 'unknown error'}`,
    );
  }
  return cleaned;
}
