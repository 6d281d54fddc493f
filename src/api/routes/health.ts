import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';

export interface HealthOptions {
  /** Resolves when every dependency the API needs answers; throws otherwise. */
  checkReady: () => Promise<void>;
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthOptions> = async (app, { checkReady }) => {
  const Status = Type.Object({ status: Type.String() });
  // Public: no API key (`security: []` overrides the document's default).
  app.get('/health', { schema: { summary: 'Liveness', security: [], response: { 200: Status } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { summary: 'Readiness', security: [], response: { 200: Status, 503: Status } } }, async (_request, reply) => {
    try {
      await checkReady();
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ status: 'unavailable' });
    }
  });
};
