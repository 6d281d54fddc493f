// Runs the stateless HTTP API (scale horizontally behind a load balancer).
import { loadConfig } from '../config.js';
import { openStorage, startApi } from './runtime.js';

const config = loadConfig();
const storage = await openStorage(config);
const api = await startApi(config, storage);
console.log(`chime api: ${api.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void api.close().then(() => storage.close());
  });
}
