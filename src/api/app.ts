/**
 * The HTTP API as a Fastify plugin factory: `src/entry/api.ts` and the embedded stack listen with
 * it, tests `inject` into the very same app.
 */
import Fastify, { type FastifyInstance } from 'fastify';
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
  await app.register(healthRoutes, { checkReady: deps.checkReady });
  await app.register(reminderRoutes, { reminders: deps.reminders, tenantId: deps.tenantId });
  return app;
}
