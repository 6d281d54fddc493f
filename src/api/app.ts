/**
 * The HTTP API as a Fastify app factory: `src/entry/api.ts` and the embedded stack listen with it,
 * tests `inject` into the very same app. Shared services arrive as dependencies; nothing here reads
 * the environment.
 */
import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ReminderService } from '../reminders/service.js';
import type { UserService } from '../users/service.js';
import type { CategoryService } from '../categories/service.js';
import type { TemplateService } from '../templates/service.js';
import type { ApiKeyService } from '../keys/service.js';
import type { ScheduleService } from '../schedules/service.js';
import { authPlugin, type ApiKeyDirectory } from './auth.js';
import { installErrorHandler } from './error-handler.js';
import { ProblemType } from './problem.js';
import { declareIdempotencyKey, idempotencyPlugin, type IdempotencyStore } from './idempotency.js';
import { categoryRoutes } from './routes/categories.js';
import { healthRoutes } from './routes/health.js';
import { reminderRoutes } from './routes/reminders.js';
import { scheduleRoutes } from './routes/schedules.js';
import { templateRoutes } from './routes/templates.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { userRoutes } from './routes/users.js';
import { metricsRoutes } from './routes/metrics.js';
import { previewPageRoutes } from './routes/preview-page.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';

export interface AppDependencies {
  reminders: ReminderService;
  users: UserService;
  categories: CategoryService;
  schedules: ScheduleService;
  templates: TemplateService;
  keys: ApiKeyService;
  apiKeys: ApiKeyDirectory;
  idempotency: IdempotencyStore;
  checkReady: () => Promise<void>;
  /** How long an Idempotency-Key is remembered (at least 24 h in production). */
  idempotencyRetentionMs?: number;
  /** Requests per minute per API key. */
  rateLimitPerMinute?: number;
  /** Failed authentications per minute per client address before it is refused without a lookup (default 30). */
  authFailuresPerMinute?: number;
  logLevel?: string;
  /** The process's JSON logger (a new one at `logLevel` if absent): request lines carry the request id and, once authenticated, the tenant. */
  logger?: Logger;
  /** Served at `GET /metrics` with the API's request metrics added to it; absent: no `/metrics`. */
  metricsRegistry?: Registry;
}

export const BODY_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

/** ajv-formats is CommonJS: its function is the default export's default under ESM. */
const addFormats = (formats as unknown as { default?: typeof formats }).default ?? formats;

function validator(coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, addUsedSchema: false, allErrors: true, strict: false });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  return ajv;
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (deps.logger ?? createLogger({ level: deps.logLevel ?? 'info', service: 'api' })) as FastifyBaseLogger,
    // A caller's X-Request-Id is kept (ids only: at most 128 visible characters); else a new one. Echoed on every answer.
    requestIdHeader: 'x-request-id',
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: BODY_LIMIT_BYTES,
    // Errors the router raises before any route (malformed URL, over-long path parameter) are problems too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      void reply
        .status(status)
        .type('application/problem+json')
        .send({ type: ProblemType.InvalidRequest, title: error.message.slice(0, 200), status });
    },
    // Ids may be 128 characters (ID_PATTERN): the router must not cut them off at its default 100.
    routerOptions: { maxParamLength: 1_024 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Query strings, params and headers need coercion ("?limit=5"); bodies are JSON and arrive typed:
  // `{"tags":[false]}` is refused, never stored as "false".
  const bodies = validator(false);
  const others = validator('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : others).compile(schema));
  app.addHook('onRoute', declareIdempotencyKey);
  // The ids a request is about (`/v1/reminders/:reminderId`…) go on its log lines: after validation, so they are well formed.
  app.addHook('preHandler', async (request, reply) => {
    const ids = Object.entries((request.params ?? {}) as Record<string, unknown>).filter(([key, value]) => key.endsWith('Id') && typeof value === 'string');
    if (ids.length > 0) request.log = reply.log = request.log.child(Object.fromEntries(ids));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installErrorHandler(app);
  if (deps.metricsRegistry) await app.register(metricsRoutes, { registry: deps.metricsRegistry });

  // OpenAPI 3.1 generated from the route schemas that validate requests: one source of truth.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chime API',
        version: '1.0.0',
        description:
          'Schedule-driven reminders: RFC 5545 rules in every IANA time zone, delivered at least once and deduplicated by idempotency key. ' +
          'Authenticate with `Authorization: Bearer chime_…`; send an `Idempotency-Key` with every POST.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: false } }, async () => app.swagger());

  // An empty body with a JSON content type is no body (`POST …/pause` as many clients send it);
  // a route that needs one still answers 400 naming it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );

  await app.register(authPlugin, { keys: deps.apiKeys, ...(deps.authFailuresPerMinute !== undefined ? { maxFailuresPerMinute: deps.authFailuresPerMinute } : {}) });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler', // after authentication, so limits are per API key
    max: deps.rateLimitPerMinute ?? 600,
    timeWindow: '1 minute',
    keyGenerator: (request) => (request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`),
    allowList: (request) => !request.routeOptions.url?.startsWith('/v1/'),
  });
  await app.register(idempotencyPlugin, {
    store: deps.idempotency,
    retentionMs: deps.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS,
    scopeOf: (request) => ({ tenantId: request.principal.tenantId, scope: request.principal.keyId }),
  });

  await app.register(healthRoutes, { checkReady: deps.checkReady });
  await app.register(reminderRoutes, { reminders: deps.reminders });
  await app.register(userRoutes, { users: deps.users });
  await app.register(categoryRoutes, { categories: deps.categories });
  await app.register(scheduleRoutes, { schedules: deps.schedules });
  await app.register(templateRoutes, { templates: deps.templates });
  await app.register(apiKeyRoutes, { apiKeys: deps.keys });
  await app.register(previewPageRoutes); // GET /preview: the schedule preview page, served from src/api/preview-page/
  return app;
}
