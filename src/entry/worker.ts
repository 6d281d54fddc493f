// Runs a Chime worker against the Temporal cluster named by TEMPORAL_ADDRESS (scale horizontally:
// any number of workers on one task queue). On SIGTERM or SIGINT it stops polling, lets in-flight
// activities finish within CHIME_WORKER_SHUTDOWN_GRACE_MS, and exits 0 — 1 if the shutdown failed.
// A second signal during the drain ends the process at once (the default action).
import { loadConfig } from '../config.js';
import { describeConnection } from '../temporal/connection.js';
import { createSenders, observe, openStorage, serveWorkerMetrics, startWorker } from './runtime.js';

const config = loadConfig();
const observability = observe(config, 'worker', { runsWorker: true });
const { logger } = observability;
const storage = await openStorage(config);
const senders = createSenders(config, observability.metrics);
const worker = await startWorker(config, storage, senders, observability);
const metrics = await serveWorkerMetrics(config, observability);
logger.info(
  { taskQueue: config.temporal.taskQueue, temporal: describeConnection(config.temporal), channels: senders.description, metrics: metrics?.url ?? null, temporalMetrics: config.metrics.temporalAddress ?? null },
  'chime worker started',
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // (The SDK's own handler asks for the same shutdown; whichever runs first does it.)
    if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
    logger.info({ signal, graceMs: config.worker.shutdownGraceMs }, 'chime worker: polling stopped; draining in-flight work');
  });
}

let exitCode = 0;
async function step(what: string, run: () => Promise<void>) {
  try {
    await run();
  } catch (error) {
    logger.error({ err: error }, `chime worker: ${what} failed`);
    exitCode = 1;
  }
}
await step('draining', () => worker.done); // settles once the worker has stopped
if (exitCode === 0) await step('closing the Temporal connection', () => worker.close());
await step('closing the senders', () => senders.close());
await step('closing the database', () => storage.close());
await step('closing /metrics', async () => metrics?.close());
logger.info({ exitCode }, `chime worker: stopped${exitCode === 0 ? '' : ' with errors'}`);
logger.flush();
process.exit(exitCode);
