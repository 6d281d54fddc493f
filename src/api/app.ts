/**
 * The HTTP API as a Fastify app factory: `src/entry/api.ts` and the embedded stack listen with it,
 * tests `inject` into the very same app. Shared services arrive as dependencies; nothing here reads
 * the environment.
 */
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
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
    logger: { level: deps.logLevel ?? 'info', redact: ['req.headers.authorization'] },
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
  installErrorHandler(app);

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
  return app;
}
