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
const server = await startDevServer({
  cliPath,
  port: config.temporal.devServerPort,
  uiPort: config.temporal.uiPort,
  dbFile: path.join(config.dataDir, 'temporal.sqlite'),
});
const storage = await openStorage(config);
const keyFile = path.join(config.dataDir, 'admin-api-key');
await ensureAdminKey(storage.db, DEFAULT_TENANT, keyFile);
const senders = createSenders(config);
const worker = await startWorker(config, storage, senders);
const api = await startApi(config, storage);

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
