// Runs a Chime worker against the Temporal cluster named by TEMPORAL_ADDRESS (scale horizontally).
import { loadConfig } from '../config.js';
import { emailSender, openStorage, startWorker } from './runtime.js';

const config = loadConfig();
const storage = await openStorage(config);
const email = emailSender(config);
const worker = await startWorker(config, storage, email.sender);
console.log(`chime worker: task queue "${config.temporal.taskQueue}" on ${config.temporal.address}, email via ${email.description}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void worker.close());
}
await worker.done;
await email.sender.close?.();
await storage.close();
