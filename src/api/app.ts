/**
 * The HTTP API as a Fastify plugin factory: `src/entry/api.ts` and the embedded stack listen with
 * it, tests `inject` into the very same app.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TenantId } from '../domain/ids.js';
import type { ReminderService } from '../reminders/service.js';
import { installErrorHandler } from './error-handler.js';
import { healthRoutes } from './routes/health.js';
import { reminderRoutes } from './routes/reminders.js';

export interface AppDependencies {
  reminders: ReminderService;
  /** Until API keys land (issue 8) every request acts for this tenant. */
  tenantId: TenantId;
  checkReady: () => Promise<void>;
  logLevel?: string;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'info', redact: ['req.headers.authorization'] },
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandler(app);
  // OpenAPI 3.1 generated from the route schemas that validate requests: one source of truth.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chime API',
        version: '1.0.0',
        description: 'Schedule-driven reminders: RFC 5545 rules in every IANA time zone, delivered once.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { checkReady: deps.checkReady });
  await app.register(reminderRoutes, { reminders: deps.reminders, tenantId: deps.tenantId });
  return app;
}
