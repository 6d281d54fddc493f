/**
 * Builds Chime's Temporal worker. Shared by the worker entry point, the embedded stack and the
 * tests so they all run the same workflow bundle with the same options.
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { BundleOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { ReminderActivities } from '../../activities/index.js';
import type { ScheduleActivities } from '../../activities/schedules.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Our sources are ESM TypeScript importing `./x.js`; webpack must look for `./x.ts` first. */
const bundlerOptions: Pick<BundleOptions, 'webpackConfigHook'> = {
  webpackConfigHook: (config) => {
    config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
    return config;
  },
};

/** Bundles the workflows (another entry point: an earlier release's, for upgrade tests). */
export function bundleWorkflows(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN'), ...bundlerOptions });
}

export interface ChimeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ReminderActivities & ScheduleActivities;
  /** A pre-built bundle (tests build one per run); otherwise the workflows are bundled now. */
  workflowBundle?: { codePath: string } | WorkflowBundleWithSourceMap;
  /** Payload encryption (src/temporal/data-converter.ts); the API's client must use the same keys. */
  dataConverter?: DataConverter;
  /** Slots, pollers and the sticky cache (see WorkerTuning). */
  tuning?: WorkerTuning;
  /**
   * After shutdown is asked for (SIGTERM): how long in-flight activities may run on before they are
   * cancelled; SHUTDOWN_FORCE_AFTER_GRACE_MS later the worker gives up and `run()` rejects.
   */
  shutdownGraceMs?: number;
}

/** How long activities still running at the end of the grace time get to stop before the worker gives up on them. */
export const SHUTDOWN_FORCE_AFTER_GRACE_MS = 10_000;

/** The worker's capacity knobs, from configuration (CHIME_WORKER_*). */
export type WorkerTuning = Partial<
  Pick<
    WorkerOptions,
    | 'maxConcurrentWorkflowTaskExecutions'
    | 'maxConcurrentActivityTaskExecutions'
    | 'maxConcurrentLocalActivityExecutions'
    | 'maxCachedWorkflows'
    | 'workflowTaskPollerBehavior'
    | 'activityTaskPollerBehavior'
    | 'stickyQueueScheduleToStartTimeout'
  >
>;

export async function createChimeWorker(options: ChimeWorkerOptions): Promise<Worker> {
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle,
    activities: options.activities,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(options.shutdownGraceMs !== undefined
      ? { shutdownGraceTime: options.shutdownGraceMs, shutdownForceTime: options.shutdownGraceMs + SHUTDOWN_FORCE_AFTER_GRACE_MS }
      : {}),
    ...options.tuning,
  });
}
