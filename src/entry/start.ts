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
import { createSenders, DEFAULT_TENANT, openStorage, startApi, startWorker } from './runtime.js';

const config = loadConfig();
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
const senders = createSenders(config);
const worker = await startWorker(config, storage, senders);
// The embedded stack is one machine's: its UI (which cannot send an API key) may use /codec from loopback.
const localApi = ['127.0.0.1', 'localhost', '::1'].includes(config.api.host);
const api = await startApi(
  codec && server.uiUrl
    ? { ...config, codecUiOrigin: config.codecUiOrigin ?? new URL(server.uiUrl).origin, codecOpenOnLoopback: config.codecOpenOnLoopback || localApi }
    : config,
  storage,
);

console.log(
  `Chime is up — API ${api.url} · Temporal UI ${server.uiUrl} · Temporal ${server.address} · ` +
    `database ${storage.kind === 'pglite' ? path.join(config.dataDir, 'pglite') : 'DATABASE_URL'} · ${senders.description} · ` +
    `admin API key in ${keyFile}`,
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\nchime: ${signal} received, stopping…`);
  await api.close();
  await worker.close();
  await senders.close();
  await storage.close();
  await server.stop();
  console.log('chime: stopped');
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal));
