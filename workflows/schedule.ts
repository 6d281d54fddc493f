/**
 * One workflow per audience schedule fans each occurrence out in each recipient's local time. Each
 * turn of its loop takes one step:
 *
 *   history long        → continue as new (the state is a few fences and cursors)
 *   archived / ended    → stop
 *   paused              → wait for resume or archive
 *   fan-out in progress → deliver its pages, a bounded number in flight, until every group is done
 *   deferrals due       → decide again the recipients whose quiet hours are over
 *   nothing planned     → plan the next time-zone bucket (an activity reads the audience's zones)
 *   not due yet         → sleep until it is, a deferral is, 6 hours have passed (new zones), or a message
 *   due                 → start its fan-out (or, past the catch-up window, record it missed)
 *
 * The recipients are read from the database page by page by the activities, which serve each one
 * through the same send-time path and delivery ledger as reminders: no workflow per recipient, no
 * audience in history. Handlers record intent; the loop acts on it between pages.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlannedBucket, PlannedMember, ScheduleActivities } from '../activities/schedules.js';
import { reject, UpdateRejection } from './update-rejection.js';
import { isTimeout } from './outcomes.js';
import { statusPublisher } from './status-publisher.js';
import {
  archiveScheduleUpdate,
  pauseScheduleUpdate,
  resumeScheduleUpdate,
  scheduleChangedSignal,
  scheduleStateQuery,
  type Fanout,
  type ScheduleCarried,
  type ScheduleRunStatus,
  type ScheduleState,
  type ScheduleWorkflowInput,
} from './schedule-messages.js';

export * from './schedule-messages.js';

const DEFAULT_CATCH_UP_WINDOW_MS = 15 * 60_000;
const DEFAULT_PAGE_SIZE = 200;
const DEFAULT_PAGES_IN_FLIGHT = 4;
/**
 * Plan again at least this often while waiting (and after every bucket): a zone that joins the
 * audience more than this long before its local occurrence gets its bucket.
 */
const REPLAN_EVERY_MS = 6 * 60 * 60_000;
/** A run continues as new once its history reaches this many events (or when the server suggests it). */
export const MAX_SCHEDULE_EVENTS_PER_RUN = 2_000;

const { planScheduleBucket } = proxyLocalActivities<ScheduleActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const { deliverSchedulePage, deliverDeferredPage } = proxyActivities<ScheduleActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const iso = (epochMs: number) => new Date(epochMs).toISOString();

export async function scheduleWorkflow(input: ScheduleWorkflowInput): Promise<ScheduleState> {
  const { tenantId, scheduleId } = input;
  const catchUpWindowMs = input.catchUpWindowMs ?? DEFAULT_CATCH_UP_WINDOW_MS;
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const pagesInFlight = input.maxPagesInFlight ?? DEFAULT_PAGES_IN_FLIGHT;
  const carried: ScheduleCarried = input.carried ?? { status: 'active', fence: workflowInfo().startTime.getTime() - 1, fences: {}, generation: 0 };

  // ---- intent (handlers) -----------------------------------------------------------------------
  let status = carried.status as ScheduleRunStatus;
  let generation = carried.generation;
  /** Bumped by a rule change: the fences restart after the change. */
  let ruleChangedAt: number | undefined;

  // ---- the loop's own state ----------------------------------------------------------------------
  let fence = carried.fence;
  let fences = { ...carried.fences };
  let fanout = carried.fanout;
  let nextDeferralAt = carried.nextDeferralAt;
  let planned: Extract<PlannedBucket, { kind: 'bucket' }> | undefined;

  const state = (): ScheduleState => ({
    status,
    generation,
    ...(planned
      ? { next: { firesAt: iso(planned.firesAt), members: planned.members.map(({ key, local, recurrenceId }) => ({ key, local, recurrenceId })) } }
      : {}),
    ...(fanout
      ? {
          fanout: {
            firesAt: iso(fanout.firesAt),
            groups: fanout.members.length,
            groupsDone: Object.values(fanout.cursors).filter((c) => c === null).length,
            pagesDone: fanout.pagesDone,
            recipientsProcessed: fanout.recipientsProcessed,
          },
        }
      : {}),
    ...(nextDeferralAt !== undefined ? { nextDeferralAt: iso(nextDeferralAt) } : {}),
  });

  setHandler(pauseScheduleUpdate, () => ((status = 'paused'), generation++, state()), {
    validator: () => {
      if (status !== 'active') throw reject(UpdateRejection.Conflict, `schedule is ${status}`);
    },
  });
  setHandler(resumeScheduleUpdate, () => ((status = 'active'), generation++, state()), {
    validator: () => {
      if (status !== 'paused') throw reject(UpdateRejection.Conflict, `schedule is ${status}, not paused`);
    },
  });
  setHandler(archiveScheduleUpdate, () => ((status = 'archived'), generation++, state()), {
    validator: () => {
      if (status === 'archived') throw reject(UpdateRejection.Conflict, 'schedule is already archived');
    },
  });
  setHandler(scheduleChangedSignal, ({ rule }) => {
    if (rule) ruleChangedAt = Date.now();
    generation++;
  });
  setHandler(scheduleStateQuery, state);

  // ---- effects -----------------------------------------------------------------------------------
  const historyIsLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= MAX_SCHEDULE_EVENTS_PER_RUN;
  };
  const publishStatus = statusPublisher();
  const publish = () => publishStatus(status, planned && status === 'active' ? planned.firesAt : null);
  const waitForChange = async (timeoutMs?: number): Promise<void> => {
    const seen = generation;
    const wake = () => generation !== seen || historyIsLong();
    if (timeoutMs === undefined) await condition(wake);
    else if (timeoutMs > 0) await condition(wake, timeoutMs);
  };

  /** Delivers the fan-out's pages, at most `pagesInFlight` at once, until done or stopped (pause, archive, long history). */
  const runFanout = async (f: Fanout): Promise<void> => {
    const stopped = () => status !== 'active' || historyIsLong();
    const interval = f.smoothingMs > 0 ? f.smoothingMs / Math.max(1, Math.ceil((f.recipients ?? pageSize) / pageSize)) : 0;
    let launched = f.pagesDone;
    const serveMember = async (member: PlannedMember): Promise<void> => {
      while (f.cursors[member.key] !== null && !stopped()) {
        // Smoothing: page n starts no earlier than n intervals after the bucket fires.
        const notBefore = f.firesAt + launched++ * interval;
        if (interval > 0 && notBefore > Date.now()) await sleep(notBefore - Date.now());
        const cursor = f.cursors[member.key];
        const request = {
          tenantId,
          scheduleId,
          member,
          ...(cursor ? { afterUserId: cursor } : {}),
          limit: pageSize,
          nowEpochMs: Date.now(),
          deliveryWindowMs: catchUpWindowMs,
        };
        const page = await deliverSchedulePage
          .executeWithOptions({ scheduleToCloseTimeout: Math.max(catchUpWindowMs, 60_000), summary: `${member.key} ${member.local}` }, [request])
          .catch(async (error: unknown) => {
            if (!isTimeout(error)) throw error;
            // Out of time (providers away): the rest of the page is decided again, and failed if still "send".
            return deliverSchedulePage.executeWithOptions({ startToCloseTimeout: '5 minutes', summary: `${member.key} out of time` }, [
              { ...request, nowEpochMs: Date.now(), windowClosed: true },
            ]);
          });
        f.cursors[member.key] = page.nextAfterUserId ?? null;
        f.pagesDone++;
        f.recipientsProcessed += page.processed;
        if (page.deferredUntil !== undefined) nextDeferralAt = Math.min(nextDeferralAt ?? Infinity, page.deferredUntil);
        setCurrentDetails(`fan-out ${iso(f.firesAt)}: ${f.recipientsProcessed} recipients, ${f.pagesDone} pages`);
      }
    };
    const queue = f.members.filter((m) => f.cursors[m.key] !== null);
    await Promise.all(
      Array.from({ length: Math.min(pagesInFlight, queue.length) }, async () => {
        for (let member = queue.shift(); member; member = queue.shift()) await serveMember(member);
      }),
    );
  };

  const continueAsNewNow = async (): Promise<never> => {
    await condition(allHandlersFinished);
    const carry: ScheduleCarried = {
      status: status === 'paused' ? 'paused' : 'active',
      fence,
      fences,
      ...(fanout ? { fanout } : {}),
      ...(nextDeferralAt !== undefined ? { nextDeferralAt } : {}),
      generation,
    };
    return continueAsNew<typeof scheduleWorkflow>({ ...input, carried: carry });
  };

  // ---- the loop ------------------------------------------------------------------------------------
  for (;;) {
    if (historyIsLong()) await continueAsNewNow();
    if (status === 'archived' || status === 'ended') break;
    if (ruleChangedAt !== undefined) {
      // A new rule applies from the change on, in every zone; a fan-out already running finishes.
      fence = Math.max(fence, ruleChangedAt);
      fences = {};
      ruleChangedAt = undefined;
      planned = undefined;
    }
    if (status === 'paused') {
      publish();
      const seen = generation;
      await waitForChange();
      if (generation !== seen) planned = undefined;
      continue;
    }
    if (fanout) {
      if (Date.now() - fanout.firesAt > catchUpWindowMs + 60_000 && fanout.pagesDone === 0) {
        fanout = undefined; // resumed too late to start: dropped (its runs show none targeted)
        continue;
      }
      await runFanout(fanout);
      if (Object.values(fanout.cursors).every((c) => c === null)) {
        for (const member of fanout.members) fences[member.key] = fanout.firesAt;
        fanout = undefined;
      }
      continue;
    }
    if (nextDeferralAt !== undefined && nextDeferralAt <= Date.now()) {
      const page = await deliverDeferredPage({ tenantId, scheduleId, nowEpochMs: Date.now(), limit: pageSize, deliveryWindowMs: catchUpWindowMs });
      nextDeferralAt = page.nextDeferralAt;
      continue;
    }
    if (!planned) {
      const seen = generation;
      const plan = await planScheduleBucket({ tenantId, scheduleId, fences, fence });
      if (generation !== seen) continue;
      if (plan.kind === 'none') {
        if (plan.ended && nextDeferralAt === undefined) {
          status = 'ended'; // the rule or the schedule's window is over: an edit starts it again
          continue;
        }
        // Nobody to fire for yet, or only deferrals left: wait for a change, a deferral, or an hour.
        publish();
        await waitForChange(Math.min(REPLAN_EVERY_MS, (nextDeferralAt ?? Infinity) - Date.now()));
        continue;
      }
      planned = plan;
      continue;
    }
    publish();
    const wakeAt = Math.min(planned.firesAt, nextDeferralAt ?? Infinity, Date.now() + REPLAN_EVERY_MS);
    if (Date.now() < wakeAt) {
      const seen = generation;
      await waitForChange(wakeAt - Date.now());
      if (generation !== seen || (Date.now() < planned.firesAt && Date.now() >= wakeAt)) planned = undefined; // plan again
      continue;
    }
    if (planned.firesAt > Date.now()) continue; // a deferral is due first
    const due = planned;
    planned = undefined;
    if (Date.now() - due.firesAt > catchUpWindowMs) {
      // Workers were away past the catch-up window: this bucket is missed, never sent late in a burst.
      for (const member of due.members) fences[member.key] = due.firesAt;
      setCurrentDetails(`missed ${iso(due.firesAt)} (${due.members.length} zones)`);
      continue;
    }
    fanout = {
      firesAt: due.firesAt,
      members: due.members,
      cursors: Object.fromEntries(due.members.map((m) => [m.key, ''])),
      smoothingMs: due.smoothingMs,
      ...(due.recipients !== undefined ? { recipients: due.recipients } : {}),
      pagesDone: 0,
      recipientsProcessed: 0,
    };
  }

  publish();
  await condition(allHandlersFinished);
  return state();

}
