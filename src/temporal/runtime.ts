/**
 * The Temporal SDK's process-wide runtime, installed once by an entry point before any worker or
 * connection exists: its logs (workflow, activity and the native core's) go through Chime's JSON
 * logger, and its own metrics are served at a Prometheus endpoint of their own.
 */
import { Runtime } from '@temporalio/worker';
import { temporalLogger, type Logger } from '../observability/logger.js';

export function installTemporalRuntime({ logger, metricsAddress }: { logger: Logger; metricsAddress?: string }): void {
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(metricsAddress
        ? { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } }
        : {}),
    },
  });
}
