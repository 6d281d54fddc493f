// The benchmark's workflow bundle: Chime's workflows, and the bare loop they are measured against.
import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';

export * from '../../workflows/index.js';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** Activities per run: one workflow run cannot hold 100k (history is capped at 50k events). */
const PER_RUN = 10_000;

/** `activities` no-op activities, `inFlight` at a time: what Temporal alone costs per unit of work. */
export async function bareLoopWorkflow({ activities, inFlight }: { activities: number; inFlight: number }): Promise<void> {
  const now = Math.min(activities, PER_RUN);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, now) }, async () => {
      while (next < now) {
        next++;
        await noop();
      }
    }),
  );
  if (activities > now) await continueAsNew<typeof bareLoopWorkflow>({ activities: activities - now, inFlight });
}

const { ranAt } = proxyActivities<{ ranAt(id: string): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** The timeliness baseline: a timer to `dueAtEpochMs`, then one activity that notes when it ran. */
export async function bareTimerWorkflow({ dueAtEpochMs }: { dueAtEpochMs: number }): Promise<void> {
  await sleep(Math.max(0, dueAtEpochMs - Date.now()));
  await ranAt(workflowInfo().workflowId);
}

/** The API-create baseline: the cheapest workflow there is to start and run. */
export async function emptyWorkflow(): Promise<void> {}
