// Runs a Chime worker against the Temporal cluster named by TEMPORAL_ADDRESS (scale horizontally).
import { loadConfig } from '../config.js';
import { createSenders, openStorage, startWorker } from './runtime.js';

const config = loadConfig();
const storage = await openStorage(config);
const senders = createSenders(config);
const worker = await startWorker(config, storage, senders);
console.log(`chime worker: task queue "${config.temporal.taskQueue}" on ${config.temporal.address}, ${senders.description}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void worker.close());
}
await worker.done;
await senders.close();
await storage.close();
