/**
 * One workflow per reminder drives its whole life: ask an activity for the next occurrence, sleep
 * until it (interruptibly), deliver on each channel, record the decision, repeat.
 *
 * Deterministic orchestration only: no I/O, no tz database, no Intl. Recurrence expansion happens in
 * the `upcomingOccurrences` activity and its result is recorded in history.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReminderActivities } from '../activities/index.js';
import type { Channel, OccurrenceRef } from '../src/domain/delivery.js';
import { PERMANENT_DELIVERY_ERRORS } from '../src/domain/errors.js';
import type { Occurrence, RecurrenceInput } from '../src/domain/recurrence/index.js';
import { NextOccurrenceKey, StatusKey } from './search-attributes.js';

export const REMINDER_WORKFLOW_TYPE = 'reminderWorkflow';

/** Business workflow id: starting the same reminder twice finds the running one. */
export function reminderWorkflowId(tenantId: string, userId: string, reminderId: string): string {
  return `reminder/${tenantId}/${userId}/${reminderId}`;
}

export type ReminderStatus = 'active' | 'completed' | 'cancelled';

export type ChannelOutcome =
  | { channel: Channel; outcome: 'sent'; idempotencyKey: string; providerMessageId: string }
  | { channel: Channel; outcome: 'failed'; errorType: string; message: string };

export type OccurrenceDecision =
  | { kind: 'delivered'; occurrence: OccurrenceRef; decidedAt: string; channels: ChannelOutcome[] }
  | { kind: 'missed'; occurrence: OccurrenceRef; decidedAt: string; lateByMs: number };

export interface ReminderWorkflowInput {
  tenantId: string;
  userId: string;
  reminderId: string;
  recurrence: RecurrenceInput;
  content: { title: string; body: string };
  channels: Channel[];
  /** An occurrence found later than this after its instant (workers were down) is recorded as missed. */
  catchUpWindowMs?: number;
  /** State carried across continue-as-new; absent on the first run. */
  carried?: { afterEpochMs?: number; decisions: OccurrenceDecision[] };
}

export interface ReminderState {
  status: ReminderStatus;
  next?: { utc: string; local: string };
  decisions: OccurrenceDecision[];
}

export const cancelReminderSignal = defineSignal('cancelReminder');
export const reminderStateQuery = defineQuery<ReminderState>('reminderState');

const DEFAULT_CATCH_UP_WINDOW_MS = 15 * 60_000;
const DECISIONS_KEPT = 50;
/** Continue-as-new at least this often even if the server has not suggested it yet. */
const OCCURRENCES_PER_RUN = 500;

const { deliver } = proxyActivities<ReminderActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [...PERMANENT_DELIVERY_ERRORS],
  },
});

const { upcomingOccurrences } = proxyLocalActivities<ReminderActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['recurrence_invalid'] },
});

function refOf(reminderId: string, occurrence: Occurrence): OccurrenceRef {
  // Zone-pinned reminders: the occurrence's identity is its instant (DESIGN.md, "Idempotency").
  return { reminderId, recurrenceId: occurrence.utc, scheduledFor: occurrence.utc };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export async function reminderWorkflow(input: ReminderWorkflowInput): Promise<ReminderState> {
  const catchUpWindowMs = input.catchUpWindowMs ?? DEFAULT_CATCH_UP_WINDOW_MS;
  let afterEpochMs = input.carried?.afterEpochMs;
  const state: ReminderState = { status: 'active', decisions: [...(input.carried?.decisions ?? [])] };
  let cancelled = false;

  setHandler(cancelReminderSignal, () => {
    cancelled = true;
  });
  setHandler(reminderStateQuery, () => state);

  const record = (decision: OccurrenceDecision) => {
    state.decisions.push(decision);
    if (state.decisions.length > DECISIONS_KEPT) state.decisions.splice(0, state.decisions.length - DECISIONS_KEPT);
  };

  for (let handled = 0; ; handled++) {
    const [next] = await upcomingOccurrences({
      recurrence: input.recurrence,
      ...(afterEpochMs !== undefined ? { afterEpochMs } : {}),
      count: 1,
    });
    if (!next) {
      state.status = 'completed';
      state.next = undefined;
      break;
    }
    state.next = { utc: next.utc, local: next.local };
    upsertSearchAttributes([
      { key: StatusKey, value: 'active' },
      { key: NextOccurrenceKey, value: new Date(next.epochMs) },
    ]);

    const waitMs = next.epochMs - Date.now();
    if (waitMs > 0) {
      await condition(() => cancelled, waitMs, { summary: `next occurrence ${next.local}` });
    }
    if (cancelled) {
      state.status = 'cancelled';
      state.next = undefined;
      break;
    }

    const occurrence = refOf(input.reminderId, next);
    const lateByMs = Date.now() - next.epochMs;
    if (lateByMs > catchUpWindowMs) {
      record({ kind: 'missed', occurrence, decidedAt: iso(Date.now()), lateByMs });
      // Skip the rest of the outage in one step: missed occurrences never turn into a burst.
      afterEpochMs = Math.max(next.epochMs, Date.now() - catchUpWindowMs);
      continue;
    }

    const channels: ChannelOutcome[] = [];
    for (const channel of input.channels) {
      try {
        const receipt = await deliver({
          tenantId: input.tenantId,
          userId: input.userId,
          occurrence,
          channel,
          content: input.content,
        });
        channels.push({
          channel,
          outcome: 'sent',
          idempotencyKey: receipt.idempotencyKey,
          providerMessageId: receipt.providerMessageId,
        });
      } catch (error) {
        // A permanent failure ends this delivery, never the series.
        const cause = error instanceof Error && error.cause instanceof ApplicationFailure ? error.cause : undefined;
        log.warn('delivery failed', { channel, errorType: cause?.type });
        channels.push({
          channel,
          outcome: 'failed',
          errorType: cause?.type ?? 'unknown',
          message: cause?.message ?? String(error),
        });
      }
    }
    record({ kind: 'delivered', occurrence, decidedAt: iso(Date.now()), channels });
    afterEpochMs = next.epochMs;

    if (workflowInfo().continueAsNewSuggested || handled + 1 >= OCCURRENCES_PER_RUN) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof reminderWorkflow>({
        ...input,
        carried: { ...(afterEpochMs !== undefined ? { afterEpochMs } : {}), decisions: state.decisions },
      });
    }
  }

  upsertSearchAttributes([{ key: StatusKey, value: state.status }, { key: NextOccurrenceKey, value: null }]);
  await condition(allHandlersFinished);
  return state;
}
