/**
 * `GET /metrics` for Prometheus: the process's registry plus one histogram of the API's requests
 * by route template. No API key (scrapers do not carry one) and no ids in any label: keep the port
 * on the operators' network.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createHttpMetrics, METRICS_CONTENT_TYPE, type Registry } from '../../observability/metrics.js';

async function metrics(app: FastifyInstance, { registry }: { registry: Registry }) {
  const http = createHttpMetrics(registry);
  app.addHook('onResponse', async (request, reply) => {
    http.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true }, config: { auth: false } }, async (_request, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(await registry.metrics()),
  );
}

/** Hooks apply to every route of the app, not only this plugin's (fastify-plugin). */
export const metricsRoutes = fp(metrics, { name: 'chime-metrics' });
