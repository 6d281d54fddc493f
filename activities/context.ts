import { Context } from '@temporalio/activity';

/** The running activity's context; undefined when an activity is called outside a worker (unit tests). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Who holds a delivery claim: this activity attempt of this workflow run (none outside a worker). */
export function claimantOf(context = activityContext()): { id: string; attempt: number } | undefined {
  const info = context?.info;
  const run = info?.workflowExecution;
  return info && run ? { id: `${run.workflowId}/${run.runId}/${info.activityId}`, attempt: info.attempt } : undefined;
}
