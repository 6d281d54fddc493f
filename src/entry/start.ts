/**
 * `npm start`: the whole embedded stack on one machine — the Temporal dev server (SQLite file under
 * data/, Web UI), PGlite under data/, one worker and the HTTP API. Ctrl-C stops all of it.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { loadConfig } from '../config.js';
import { startDevServer } from '../temporal/dev-server.js';
import { ensureAdminKey } from '../auth/bootstrap.js';
import { createSenders, DEFAULT_TENANT, observe, openStorage, serveWorkerMetrics, startApi, startWorker } from './runtime.js';

const config = loadConfig();
// One process, one logger and one metrics registry: the API's /metrics shows the worker's metrics too.
const observability = observe(config, 'chime', { runsWorker: true });
const { logger } = observability;
await mkdir(config.dataDir, { recursive: true });

const cliPath = resolveTool('cli'); // installs the pinned Temporal CLI into .tools/ when missing
// With encrypted payloads, the UI on this machine decodes them through the API's /codec.
const codec = config.payloadKeys ? `http://${config.api.host}:${config.api.port}/codec` : undefined;
const server = await startDevServer({
  cliPath,
  port: config.temporal.devServerPort,
  uiPort: config.temporal.uiPort,
  dbFile: path.join(config.dataDir, 'temporal.sqlite'),
  ...(codec ? { uiCodecEndpoint: codec } : {}),
});
const storage = await openStorage(config);
const keyFile = path.join(config.dataDir, 'admin-api-key');
await ensureAdminKey(storage.db, DEFAULT_TENANT, keyFile);
const senders = createSenders(config, observability.metrics);
const worker = await startWorker(config, storage, senders, observability);
const workerMetrics = await serveWorkerMetrics(config, observability);
// The embedded stack is one machine's: its UI (which cannot send an API key) may use /codec from loopback.
const localApi = ['127.0.0.1', 'localhost', '::1'].includes(config.api.host);
const api = await startApi(
  codec && server.uiUrl
    ? { ...config, codecUiOrigin: config.codecUiOrigin ?? new URL(server.uiUrl).origin, codecOpenOnLoopback: config.codecOpenOnLoopback || localApi }
    : config,
  storage,
  observability,
);

const database = storage.kind === 'pglite' ? path.join(config.dataDir, 'pglite') : 'DATABASE_URL';
logger.info(
  { api: api.url, temporalUi: server.uiUrl, temporal: server.address, database, channels: senders.description, adminKeyFile: keyFile, metrics: `${api.url}/metrics`, workerMetrics: workerMetrics?.url ?? null, temporalMetrics: config.metrics.temporalAddress ?? null },
  `Chime is up — API ${api.url} · Temporal UI ${server.uiUrl} · Temporal ${server.address} · database ${database} · ${senders.description} · admin API key in ${keyFile}`,
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'chime: stopping');
  await api.close();
  await worker.close();
  await workerMetrics?.close();
  await senders.close();
  await storage.close();
  await server.stop();
  logger.info('chime: stopped');
  logger.flush();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal));
