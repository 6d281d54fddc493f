/**
 * FROZEN: the reminder loop as it was before the state-machine rewrite (workflows/reminder.ts).
 * It exists only so that runs started before the rewrite replay exactly the commands they recorded
 * (test/fixtures/histories): do not change what it does. Once such a run executes live on a new
 * worker, it hands over at the top of its next turn by continuing as new into the rewrite.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReminderActivities } from '../activities/index.js';
import type { ChannelDecision } from '../src/domain/policy/decide.js';
import { recurrenceIdFor } from '../src/domain/policy/zone-mode.js';
import { CHANNELS, type Channel, type OccurrenceRef } from '../src/domain/delivery.js';
import { PERMANENT_DELIVERY_ERRORS } from '../src/domain/errors.js';
import type { Occurrence, RecurrenceInput } from '../src/domain/recurrence/index.js';
import { NextOccurrenceKey, StatusKey } from './search-attributes.js';
import { channelOutcome } from './outcomes.js';
import type { ChannelOutcome, OccurrenceDecision, ReminderStatus } from '../src/domain/decisions.js';
import {
  cancelReminderUpdate,
  decisionsQuery,
  editReminderUpdate,
  pauseReminderUpdate,
  preferencesChangedSignal,
  reminderStateQuery,
  resumeReminderUpdate,
  skipNextOccurrenceUpdate,
  snoozeOccurrenceUpdate,
  upcomingQuery,
  type CarriedState,
  type EditReminderPatch,
  type ReminderState,
  type ReminderWorkflowInput,
} from './reminder-messages.js';

/** The patch that marks a v1 run handing over to the rewrite (see the top of the loop). */
export const V1_HANDS_OVER = 'v1-hands-over-to-state-machine';

const DEFAULT_CATCH_UP_WINDOW_MS = 15 * 60_000;
const DECISIONS_KEPT = 50;
const UPCOMING_PLANNED = 10;
const MAX_SNOOZE_MS = 7 * 24 * 3_600_000;
/** Continue-as-new at least this often even if the server has not suggested it yet. */
const OCCURRENCES_PER_RUN = 200;

const { deliver, decideOccurrence, recordDecision, recordStatus } = proxyActivities<ReminderActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [...PERMANENT_DELIVERY_ERRORS],
  },
});

const { planOccurrences } = proxyLocalActivities<ReminderActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['recurrence_invalid'] },
});

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function assertValidPatch(patch: EditReminderPatch): void {
  if (patch.content) {
    const title = patch.content.title;
    if (typeof title !== 'string' || title.length < 1 || title.length > 200) {
      throw new TypeError('content.title must be 1 to 200 characters');
    }
    if (typeof patch.content.body !== 'string' || patch.content.body.length > 10_000) {
      throw new TypeError('content.body must be at most 10000 characters');
    }
  }
  if (patch.channels) {
    if (patch.channels.length === 0) throw new TypeError('channels must not be empty');
    for (const channel of patch.channels) {
      if (!CHANNELS.includes(channel)) throw new TypeError(`channels: unknown channel ${String(channel)}`);
    }
  }
  if (patch.recurrence) {
    const { dtstart, tzid } = patch.recurrence;
    if (typeof dtstart !== 'string' || typeof tzid !== 'string' || !dtstart || !tzid) {
      throw new TypeError('recurrence needs dtstart and tzid');
    }
  }
  if (patch.zoneMode && patch.zoneMode !== 'pinned' && patch.zoneMode !== 'follow-user') {
    throw new TypeError('zoneMode must be pinned or follow-user');
  }
  if (patch.category !== undefined && (typeof patch.category !== 'string' || patch.category.length === 0)) {
    throw new TypeError('category must be a non-empty string');
  }
}

/** The v1 loop; `reminderWorkflow` runs it for histories that began before the rewrite. */
export async function reminderWorkflowV1(input: ReminderWorkflowInput): Promise<ReminderState> {
  const { tenantId, userId, reminderId } = input;
  const catchUpWindowMs = input.catchUpWindowMs ?? DEFAULT_CATCH_UP_WINDOW_MS;
  let definition = input.definition;
  const carried: CarriedState = input.carried ?? { status: 'active', skipNext: false, decisions: [], generation: 0 };
  let status: ReminderStatus = carried.status;
  // A new reminder starts at its creation: earlier occurrences of its rule were never due.
  let afterEpochMs = input.carried ? carried.afterEpochMs : workflowInfo().startTime.getTime() - 1;
  let userTimeZone = carried.userTimeZone;
  let snooze = carried.snooze;
  let skipNext = carried.skipNext;
  let generation = carried.generation;
  let heldSince = carried.heldSinceEpochMs;
  /** Older occurrences are past catching up: missed, unless a deferral held them back. */
  const catchUpFloor = () => Math.min(Date.now() - catchUpWindowMs, heldSince ?? Infinity);
  const decisions = [...carried.decisions];
  let upcoming: Occurrence[] = [];
  let due: { occurrence: Occurrence; dueAt: number } | undefined;

  const state = (): ReminderState => ({
    status,
    generation,
    definition,
    ...(userTimeZone ? { userTimeZone } : {}),
    ...(due ? { next: { utc: due.occurrence.utc, local: due.occurrence.local, dueAt: iso(due.dueAt) } } : {}),
    ...(snooze ? { snoozedUntil: iso(snooze.untilEpochMs) } : {}),
    decisions,
  });
  const isTerminal = () => status === 'completed' || status === 'cancelled';
  const assertActive = () => {
    if (status !== 'active') throw new TypeError(`reminder is ${status}`);
  };

  // ---- message handlers -------------------------------------------------------------------------
  setHandler(
    editReminderUpdate,
    (patch) => {
      definition = { ...definition, ...patch };
      if (patch.recurrence) {
        // A new rule applies from now on: its past occurrences are neither sent nor "missed".
        afterEpochMs = Math.max(afterEpochMs ?? 0, Date.now());
        snooze = undefined;
      }
      generation++;
      upsertMemo({ title: definition.content.title });
      return state();
    },
    {
      validator: (patch) => {
        if (isTerminal()) throw new TypeError(`reminder is ${status}`);
        assertValidPatch(patch);
      },
    },
  );
  setHandler(
    pauseReminderUpdate,
    () => {
      status = 'paused';
      generation++;
      return state();
    },
    { validator: assertActive },
  );
  setHandler(
    resumeReminderUpdate,
    () => {
      status = 'active';
      // Occurrences that fell inside the pause are not sent afterwards (the user paused them).
      afterEpochMs = Math.max(afterEpochMs ?? 0, Date.now());
      generation++;
      return state();
    },
    {
      validator: () => {
        if (status !== 'paused') throw new TypeError(`reminder is ${status}, not paused`);
      },
    },
  );
  setHandler(
    snoozeOccurrenceUpdate,
    ({ untilEpochMs }) => {
      const target = due?.occurrence ?? upcoming[0];
      if (target) snooze = { recurrenceId: refOf(target).recurrenceId, untilEpochMs };
      generation++;
      return state();
    },
    {
      validator: ({ untilEpochMs }) => {
        assertActive();
        if (!Number.isFinite(untilEpochMs) || untilEpochMs <= Date.now()) throw new TypeError('untilEpochMs must be in the future');
        if (untilEpochMs - Date.now() > MAX_SNOOZE_MS) throw new TypeError('a snooze lasts at most 7 days');
        if (!due && upcoming.length === 0) throw new TypeError('there is no pending occurrence to snooze');
      },
    },
  );
  setHandler(
    skipNextOccurrenceUpdate,
    () => {
      skipNext = true;
      generation++;
      return state();
    },
    { validator: assertActive },
  );
  setHandler(
    cancelReminderUpdate,
    () => {
      status = 'cancelled';
      generation++;
      return state();
    },
    {
      validator: () => {
        if (isTerminal()) throw new TypeError(`reminder is already ${status}`);
      },
    },
  );
  setHandler(preferencesChangedSignal, (change) => {
    if (change?.timeZone) userTimeZone = change.timeZone;
    generation++;
  });
  setHandler(reminderStateQuery, state);
  setHandler(upcomingQuery, (n) => upcoming.slice(0, Math.max(0, n)).map(({ utc, local }) => ({ utc, local })));
  setHandler(decisionsQuery, (n) => decisions.slice(-Math.max(0, n)));

  // ---- helpers ----------------------------------------------------------------------------------
  const effectiveRecurrence = (): RecurrenceInput =>
    definition.zoneMode === 'follow-user' && userTimeZone
      ? { ...definition.recurrence, tzid: userTimeZone }
      : definition.recurrence;

  const refOf = (o: Occurrence): OccurrenceRef => ({
    reminderId,
    recurrenceId: recurrenceIdFor(definition.zoneMode, o),
    scheduledFor: o.utc,
  });

  const record = async (decision: OccurrenceDecision) => {
    const sequence = decisions.filter((d) => d.occurrence.recurrenceId === decision.occurrence.recurrenceId).length;
    decisions.push(decision);
    if (decisions.length > DECISIONS_KEPT) decisions.splice(0, decisions.length - DECISIONS_KEPT);
    setCurrentDetails(`last decision: ${decision.kind} for ${decision.occurrence.scheduledFor}`);
    await recordDecision({ tenantId, userId, decision, sequence });
  };

  const publish = () => {
    upsertSearchAttributes([
      { key: StatusKey, value: status },
      { key: NextOccurrenceKey, value: due && status === 'active' ? new Date(due.dueAt) : null },
    ]);
  };

  /** Sleeps until `epochMs` or until something changes; true when woken by a change. */
  const sleepUntil = async (epochMs: number, gen: number, summary: string): Promise<boolean> => {
    const interrupted = () => generation !== gen || status !== 'active';
    const waitMs = epochMs - Date.now();
    if (waitMs > 0) await condition(interrupted, waitMs, { summary });
    return interrupted();
  };

  /**
   * Decides and delivers one due occurrence. Deferred channels wait (interruptibly) and are decided
   * again at the new time, with the user's preferences as they are then.
   */
  const handleOccurrence = async (
    occurrence: Occurrence,
    following: Occurrence | undefined,
    gen: number,
  ): Promise<'done' | 'interrupted'> => {
    const ref = refOf(occurrence);
    const outcomes: ChannelOutcome[] = [];
    let pending: Channel[] = definition.channels;
    let deferredFrom: number | undefined;
    for (;;) {
      const verdicts: ChannelDecision[] = await decideOccurrence.executeWithOptions(
        { startToCloseTimeout: '30 seconds', summary: `decide ${occurrence.local}` },
        [
          {
            tenantId,
            userId,
            occurrence: ref,
            category: definition.category,
            channels: pending,
            ...(definition.policy ? { policy: definition.policy } : {}),
            fallbackTimeZone: effectiveRecurrence().tzid,
            nowEpochMs: Date.now(),
            ...(following ? { followingEpochMs: following.epochMs } : {}),
          },
        ],
      );
      for (const verdict of verdicts) {
        if (verdict.action === 'skip') outcomes.push({ channel: verdict.channel, outcome: 'skipped', reason: verdict.reason, explanation: verdict.explanation });
      }
      for (const verdict of verdicts) {
        if (verdict.action !== 'send') continue;
        try {
          const receipt = await deliver.executeWithOptions(
            { startToCloseTimeout: '1 minute', summary: `${verdict.channel} for ${occurrence.local}` },
            [{ tenantId, userId, occurrence: ref, channel: verdict.channel, category: definition.category, content: definition.content }],
          );
          outcomes.push({ channel: verdict.channel, outcome: 'sent', idempotencyKey: receipt.idempotencyKey, providerMessageId: receipt.providerMessageId });
        } catch (error) {
          // A permanent failure ends this delivery, never the series.
          outcomes.push(channelOutcome.failed(verdict.channel, error));
        }
      }
      const deferred = verdicts.filter((v) => v.action === 'defer');
      if (deferred.length === 0) break;
      const until = Math.min(...deferred.map((v) => v.until));
      deferredFrom ??= Date.now();
      heldSince ??= occurrence.epochMs;
      // Before the (awaited) record: a query must never see the deferral without its new due time.
      due = { occurrence, dueAt: until };
      await record({
        kind: 'deferred',
        occurrence: ref,
        decidedAt: iso(Date.now()),
        until: iso(until),
        explanation: deferred.map((v) => v.explanation).join('; '),
      });
      pending = deferred.map((v) => v.channel);
      publish();
      setCurrentDetails(`${occurrence.local}: ${deferred[0]?.explanation ?? 'deferred'}`);
      if (await sleepUntil(until, gen, `deferred: ${deferred[0]?.explanation ?? ''}`)) {
        // Edited, paused or cancelled while deferred: what was already sent stays recorded.
        if (outcomes.length > 0) {
          await record({ kind: 'delivered', occurrence: ref, decidedAt: iso(Date.now()), channels: outcomes });
        }
        return 'interrupted';
      }
    }
    const sent = outcomes.some((o) => o.outcome === 'sent' || o.outcome === 'failed');
    await record(
      sent
        ? { kind: 'delivered', occurrence: ref, decidedAt: iso(Date.now()), channels: outcomes, ...(deferredFrom !== undefined ? { deferredFrom: iso(occurrence.epochMs) } : {}) }
        : {
            kind: 'skipped',
            occurrence: ref,
            decidedAt: iso(Date.now()),
            reason: outcomes.map((o) => (o.outcome === 'skipped' ? o.reason : o.outcome)).join(', ') || 'no_channel',
            channels: outcomes,
          },
    );
    return 'done';
  };

  // ---- main loop --------------------------------------------------------------------------------
  for (let handled = 0; !isTerminal(); ) {
    // Replaying a recorded v1 history this is false at every turn; live, the run hands its state
    // to the rewrite here (a turn boundary: no occurrence is half-handled).
    if (patched(V1_HANDS_OVER)) {
      await condition(allHandlersFinished);
      const carry: CarriedState = {
        status: status === 'paused' ? 'paused' : 'active',
        ...(afterEpochMs !== undefined ? { afterEpochMs } : {}),
        ...(userTimeZone ? { userTimeZone } : {}),
        ...(snooze ? { snooze } : {}),
        skipNext,
        decisions,
        generation,
        ...(heldSince !== undefined ? { heldSinceEpochMs: heldSince } : {}),
      };
      await continueAsNew<typeof reminderWorkflowV1>({ ...input, definition, carried: carry });
    }
    if (status === 'paused') {
      due = undefined;
      publish();
      await condition(() => status !== 'paused');
      continue;
    }
    const gen = generation;
    const plan = await planOccurrences({
      recurrence: effectiveRecurrence(),
      ...(afterEpochMs !== undefined ? { afterEpochMs } : {}),
      notBeforeEpochMs: catchUpFloor(),
      count: UPCOMING_PLANNED,
    });
    if (generation !== gen) continue; // edited while planning: plan again
    if (plan.missed.last) {
      // Workers were down past the catch-up window: one record for the whole gap, never a burst.
      await record({
        kind: 'missed',
        occurrence: refOf(plan.missed.last),
        decidedAt: iso(Date.now()),
        lateByMs: Date.now() - plan.missed.last.epochMs,
        count: plan.missed.count,
      });
      afterEpochMs = plan.missed.last.epochMs;
    }
    upcoming = plan.upcoming;
    const next = upcoming[0];
    if (!next) {
      status = 'completed';
      due = undefined;
      break;
    }
    const ref = refOf(next);
    if (skipNext) {
      skipNext = false;
      await record({ kind: 'skipped', occurrence: ref, decidedAt: iso(Date.now()), reason: 'skipped_by_user', channels: [] });
      afterEpochMs = next.epochMs;
      continue;
    }
    const snoozed = snooze?.recurrenceId === ref.recurrenceId ? snooze.untilEpochMs : undefined;
    due = { occurrence: next, dueAt: snoozed ?? next.epochMs };
    publish();
    if (await sleepUntil(due.dueAt, gen, `next occurrence ${next.local}${snoozed ? ' (snoozed)' : ''}`)) continue;

    if (snoozed === undefined && next.epochMs < catchUpFloor()) continue; // planned again → missed
    const following = upcoming[1];
    if ((await handleOccurrence(next, following, gen)) === 'interrupted') continue;
    // Caught up with the present: a later outage counts as missed again.
    if (!following || following.epochMs > Date.now()) heldSince = undefined;
    afterEpochMs = next.epochMs;
    snooze = undefined;
    due = undefined;
    handled++;

    if (workflowInfo().continueAsNewSuggested || handled >= OCCURRENCES_PER_RUN) {
      await condition(allHandlersFinished);
      const carry: CarriedState = {
        status: (status as ReminderStatus) === 'paused' ? 'paused' : 'active',
        ...(afterEpochMs !== undefined ? { afterEpochMs } : {}),
        ...(userTimeZone ? { userTimeZone } : {}),
        ...(snooze ? { snooze } : {}),
        skipNext,
        decisions,
        generation,
        ...(heldSince !== undefined ? { heldSinceEpochMs: heldSince } : {}),
      };
      if (!isTerminal()) await continueAsNew<typeof reminderWorkflowV1>({ ...input, definition, carried: carry });
    }
  }

  due = undefined;
  publish();
  await recordStatus({ tenantId, reminderId, status });
  await condition(allHandlersFinished);
  return state();
}
