// Runs the stateless HTTP API (scale horizontally behind a load balancer). On SIGTERM or SIGINT it
// stops listening, finishes the requests in flight, closes its connections and exits 0 (1 on failure).
import { loadConfig } from '../config.js';
import { observe, openStorage, startApi } from './runtime.js';

const config = loadConfig();
const observability = observe(config, 'api', { runsWorker: false });
const { logger } = observability;
const storage = await openStorage(config);
const api = await startApi(config, storage, observability);
logger.info({ url: api.url, metrics: `${api.url}/metrics` }, 'chime api started');

let stopping = false;
async function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'chime api: closing');
  let exitCode = 0;
  for (const [what, close] of [['the API', () => api.close()], ['the database', () => storage.close()]] as const) {
    try {
      await close();
    } catch (error) {
      logger.error({ err: error }, `chime api: closing ${what} failed`);
      exitCode = 1;
    }
  }
  logger.info({ exitCode }, 'chime api: stopped');
  logger.flush();
  process.exit(exitCode);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(signal));
