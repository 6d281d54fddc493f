/**
 * One workflow per reminder drives its whole life as a small state machine. Each turn of the loop
 * looks at the state and takes exactly one step:
 *
 *   history long        → continue as new, carrying the whole state (any turn may)
 *   completed           → stop
 *   cancelled           → end a due occurrence ("cancelled"), stop
 *   paused              → end a due occurrence ("paused"), wait for resume or cancel
 *   blocked             → wait for an edit or a preference change, then plan again
 *   rule changed        → end a due occurrence of the old rule ("rule_changed"); drop a mere plan
 *   nothing planned     → plan the next occurrence (an activity expands the rule in the user's zone)
 *   skip / snooze asked → apply it to the occurrence in hand
 *   not due yet         → sleep until it is, or until a message changes something
 *   due                 → decide at send time, deliver each channel, record (its first turn in one
 *                         activity); or defer and go round
 *
 * Message handlers only validate and record intent — status, definition, snooze, skip, the "from
 * now on" fence and version counters — and never touch the occurrence in hand. The loop applies
 * intent at the top of a turn and re-checks it right before each side effect, so an accepted pause,
 * cancel or channel removal is never followed by a send. The one exception: a delivery already in
 * flight is asked to stop (its activity is cancelled) and may still land at the provider.
 *
 * Deterministic orchestration only: no I/O, no tz database, no Intl (see eslint.config.js).
 */
import {
  ActivityFailure,
  type ActivityOptions,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  DecideRequest,
  DeliveryReceipt,
  OneStepDelivery,
  RecordDecisionRequest,
  RecordStatusRequest,
  ReminderActivities,
  SendOccurrenceResult,
} from '../activities/index.js';
import type { ChannelDecision } from '../src/domain/policy/decide.js';
import { recurrenceIdFor } from '../src/domain/policy/zone-mode.js';
import type { Channel, OccurrenceRef } from '../src/domain/delivery.js';
import { ChimeErrorType, PERMANENT_DELIVERY_ERRORS } from '../src/domain/errors.js';
import type { Occurrence } from '../src/domain/recurrence/index.js';
import {
  occurrenceEnded,
  reachedOutcome,
  sentOutcome,
  skippedOutcome,
  stopFor,
  type ChannelOutcome,
  type OccurrenceDecision,
  type ReminderStatus,
  type StopReason,
} from '../src/domain/decisions.js';
import { statusPublisher } from './status-publisher.js';
import { channelOutcome, isTimeout, stopExplanation } from './outcomes.js';
import { assertValidPatch } from './reminder-validation.js';
import { reject } from './update-rejection.js';
import { reminderWorkflowV1 } from './reminder-v1.js';
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
  UpdateRejection,
  type CarriedState,
  type CurrentOccurrence,
  type ReminderState,
  type ReminderWorkflowInput,
} from './reminder-messages.js';

export * from './reminder-messages.js';

/** Runs recorded before the state machine have no marker for this patch: they replay the frozen v1 loop. */
export const STATE_MACHINE_PATCH = 'reminder-state-machine';

const DEFAULT_CATCH_UP_WINDOW_MS = 15 * 60_000;
const DECISIONS_KEPT = 50;
const UPCOMING_PLANNED = 10;
const MAX_SNOOZE_MS = 7 * 24 * 3_600_000;
/** A run continues as new once its history reaches this many events (or when the server suggests it). */
export const MAX_EVENTS_PER_RUN = 1_000;
/** The shortest time a delivery is given, even when its send-by instant is (almost) past. */
const MIN_DELIVERY_WINDOW_MS = 10_000;

/**
 * Runs started under this patch take the lean path through a due occurrence, so it costs the server
 * about what a timer and one activity cost:
 * - the short, idempotent database work — the send-time decision, recording a decision or a status —
 *   runs in local activities (no task-queue round trip each);
 * - search attributes are upserted once per workflow task, right before the run waits;
 * - an occurrence with none after it completes the reminder with its decision (one write), without
 *   planning again — unless the rule changed meanwhile or follows the user's zone.
 * Runs started before it keep the path their histories recorded.
 */
export const LEAN_OCCURRENCE_PATCH = 'reminder-lean-occurrence';

/**
 * Runs started under this patch (all of them on the lean path) handle an occurrence's first turn in
 * one activity, `sendOccurrence`, which decides, sends and — when every channel ended there —
 * records the decision: one task-queue round trip and two activations, as a timer and one activity
 * cost, instead of a local decide, a `deliver` per channel and a local record. What it leaves open
 * (a deferral, a stop the database showed, a transient refusal, a passed send-by bound) and any
 * later turn of the occurrence go the two-step way.
 */
export const ONE_STEP_SEND_PATCH = 'reminder-one-step-send';

/** Idempotent writes: retried, with capped backoff, until the database answers. */
const bookkeepingOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;
const decideOptions = {
  ...bookkeepingOptions,
  retry: { ...bookkeepingOptions.retry, nonRetryableErrorTypes: [ChimeErrorType.PreferencesInvalid] },
};
// (The proxies are Proxy objects: their functions are read by name, never spread.)
const remote = proxyActivities<ReminderActivities>(bookkeepingOptions);
const remoteDecide = proxyActivities<ReminderActivities>(decideOptions).decideOccurrence;
const local = proxyLocalActivities<ReminderActivities>(bookkeepingOptions);
const localDecide = proxyLocalActivities<ReminderActivities>(decideOptions).decideOccurrence;
/** The bookkeeping activities of a run: local on the lean path, scheduled on the task queue before it. */
const bookkeeping = (lean: boolean) => ({
  recordDecision: (request: RecordDecisionRequest) => (lean ? local.recordDecision(request) : remote.recordDecision(request)),
  recordStatus: (request: RecordStatusRequest) => (lean ? local.recordStatus(request) : remote.recordStatus(request)),
  decideOccurrence: (request: DecideRequest, options: { scheduleToCloseTimeout: number; summary: string }) =>
    lean ? localDecide.executeWithOptions(options, [request]) : remoteDecide.executeWithOptions(options, [request]),
});
/** Heartbeats carry the cancellation of a delivery whose reminder was stopped, and reveal a dead worker within 20 s. */
const deliveryOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [...PERMANENT_DELIVERY_ERRORS],
  },
};
const { deliver } = proxyActivities<ReminderActivities>(deliveryOptions);
/** Decides and delivers; its own permanent refusals come back as results, so only a decision it cannot make stops its retries. */
const { sendOccurrence } = proxyActivities<ReminderActivities>({
  ...deliveryOptions,
  retry: { ...deliveryOptions.retry, nonRetryableErrorTypes: [ChimeErrorType.PreferencesInvalid, ...PERMANENT_DELIVERY_ERRORS] },
});
const { planOccurrences } = proxyLocalActivities<ReminderActivities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ChimeErrorType.RecurrenceInvalid, ChimeErrorType.PreferencesInvalid],
  },
});

const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** How one delivery ended, as the loop sees it. */
type DeliveryResult =
  | { kind: 'sent'; receipt: DeliveryReceipt }
  | { kind: 'failed'; error: unknown }
  | { kind: 'timed_out' }
  | { kind: 'stopped'; reason: StopReason };

export async function reminderWorkflow(input: ReminderWorkflowInput): Promise<ReminderState> {
  if (!patched(STATE_MACHINE_PATCH)) return reminderWorkflowV1(input);
  return runReminder(input);
}

async function runReminder(input: ReminderWorkflowInput): Promise<ReminderState> {
  const { tenantId, userId, reminderId } = input;
  const catchUpWindowMs = input.catchUpWindowMs ?? DEFAULT_CATCH_UP_WINDOW_MS;
  const carried: CarriedState = input.carried ?? { status: 'active', skipNext: false, decisions: [], generation: 0 };
  // Decided once per run, at its start: a run never changes path midway.
  const lean = patched(LEAN_OCCURRENCE_PATCH);
  const oneStep = lean && patched(ONE_STEP_SEND_PATCH);
  const { recordDecision, recordStatus, decideOccurrence } = bookkeeping(lean);

  // ---- intent: written by the message handlers, read by the loop ------------------------------
  let definition = input.definition;
  let status = carried.status as ReminderStatus;
  /** Planning resumes strictly after this instant. Only ever moves forward, whoever moves it. */
  let fence = input.carried ? carried.afterEpochMs : (input.acceptedAtEpochMs ?? workflowInfo().startTime.getTime()) - 1;
  let snooze = carried.snooze;
  /** Skip this occurrence (an empty target: whichever comes next). */
  let skip: { target?: { recurrenceId: string; epochMs: number } } | undefined = carried.skipNext
    ? carried.skip
      ? { target: carried.skip }
      : {}
    : undefined;
  /** Bumped by every accepted message that the loop should wake for. */
  let generation = carried.generation;
  /** What an occurrence in hand was made under: rule edits, preference changes, setting edits. */
  const versions = { rule: carried.ruleVersion ?? 0, preferences: carried.preferencesVersion ?? 0, settings: carried.settingsVersion ?? 0 };

  // ---- the loop's own state --------------------------------------------------------------------
  let current: CurrentOccurrence | undefined = carried.current;
  /** True while the loop is deciding or delivering `current` (a snooze or skip then targets the one after). */
  let handling = false;
  let heldSince = carried.heldSinceEpochMs;
  let snoozeCoversUntil = carried.snoozeCoversUntilEpochMs;
  let blockedReason = carried.blockedReason;
  let userTimeZone = carried.userTimeZone;
  let upcoming: Occurrence[] = [];
  const decisions = [...carried.decisions];
  const advanceFence = (epochMs: number) => {
    fence = Math.max(fence ?? -Infinity, epochMs);
  };

  const idOf = (o: Occurrence) => recurrenceIdFor(definition.zoneMode, o);
  const refOf = (o: Occurrence): OccurrenceRef => ({ reminderId, recurrenceId: idOf(o), scheduledFor: o.utc });
  const isTerminal = () => status === 'completed' || status === 'cancelled';

  const state = (): ReminderState => ({
    status,
    generation,
    definition,
    ...(userTimeZone ? { userTimeZone } : {}),
    ...(current && status === 'active'
      ? { next: { utc: current.occurrence.utc, local: current.occurrence.local, dueAt: iso(current.dueAt) } }
      : {}),
    ...(snooze ? { snoozedUntil: iso(snooze.untilEpochMs) } : {}),
    ...(blockedReason && status === 'blocked' ? { blockedReason } : {}),
    decisions,
  });

  /** The occurrence a snooze or skip accepted now applies to: the one in hand, or the one after it while it is being handled. */
  const pendingTarget = (): Occurrence | undefined =>
    current ? (handling ? current.following : current.occurrence) : upcoming.find((o) => o.epochMs > (fence ?? -Infinity));

  // ---- message handlers: validate, record intent, wake the loop --------------------------------
  const assertActive = () => {
    if (status !== 'active') throw reject(UpdateRejection.Conflict, `reminder is ${status}`);
  };
  setHandler(
    editReminderUpdate,
    (patch) => {
      const before = definition;
      definition = { ...definition, ...patch };
      if (patch.recurrence || (patch.zoneMode && patch.zoneMode !== before.zoneMode)) {
        // A new rule applies from now on: its past occurrences are neither sent nor "missed".
        versions.rule++;
        advanceFence(Date.now());
        snooze = undefined;
        skip = undefined;
      }
      if (patch.channels || patch.category || patch.policy) versions.settings++;
      generation++;
      return state();
    },
    {
      validator: (patch) => {
        if (isTerminal()) throw reject(UpdateRejection.Conflict, `reminder is ${status}`);
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
    {
      validator: () => {
        if (status !== 'active' && status !== 'blocked') throw reject(UpdateRejection.Conflict, `reminder is ${status}`);
      },
    },
  );
  setHandler(
    resumeReminderUpdate,
    () => {
      status = 'active';
      // Occurrences that fell inside the pause are not sent afterwards (the user paused them).
      advanceFence(Date.now());
      generation++;
      return state();
    },
    {
      validator: () => {
        if (status !== 'paused') throw reject(UpdateRejection.Conflict, `reminder is ${status}, not paused`);
      },
    },
  );
  setHandler(
    snoozeOccurrenceUpdate,
    ({ untilEpochMs }) => {
      const target = pendingTarget()!;
      snooze = { recurrenceId: idOf(target), untilEpochMs, occurrenceEpochMs: target.epochMs };
      generation++;
      return state();
    },
    {
      validator: ({ untilEpochMs }) => {
        assertActive();
        const invalid = (reason: string) => reject(UpdateRejection.InvalidInput, `until ${reason}`, 'until');
        if (!Number.isFinite(untilEpochMs) || untilEpochMs <= Date.now()) throw invalid('must be in the future');
        if (untilEpochMs - Date.now() > MAX_SNOOZE_MS) throw invalid('must be at most 7 days from now');
        const target = pendingTarget();
        if (!target) throw reject(UpdateRejection.Conflict, 'there is no pending occurrence to snooze');
        if (untilEpochMs <= target.epochMs) {
          throw invalid(`must be after the occurrence it postpones (${target.utc}); to send it earlier, edit the rule`);
        }
      },
    },
  );
  setHandler(
    skipNextOccurrenceUpdate,
    () => {
      const target = pendingTarget();
      skip = target ? { target: { recurrenceId: idOf(target), epochMs: target.epochMs } } : {};
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
        if (isTerminal()) throw reject(UpdateRejection.Conflict, `reminder is already ${status}`);
      },
    },
  );
  setHandler(preferencesChangedSignal, () => {
    versions.preferences++;
    // Only a follow-user plan (its zone) or a due occurrence (its decision) depends on preferences.
    if (definition.zoneMode === 'follow-user' || current?.decidedOnce || status === 'blocked') generation++;
  });
  setHandler(reminderStateQuery, state);
  setHandler(upcomingQuery, (n) =>
    upcoming
      .filter((o) => o.epochMs > (fence ?? -Infinity))
      .slice(0, Math.max(0, n))
      .map(({ utc, local }) => ({ utc, local })),
  );
  setHandler(decisionsQuery, (n) => decisions.slice(-Math.max(0, n)));

  // ---- effects the loop runs --------------------------------------------------------------------
  const historyIsLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= MAX_EVENTS_PER_RUN;
  };

  /** Older occurrences are past catching up (missed) unless a deferral held them back or one of them is snoozed. */
  const catchUpFloor = () => Math.min(Date.now() - catchUpWindowMs, heldSince ?? Infinity, snooze?.occurrenceEpochMs ?? Infinity);

  /** The database shows what the workflow does: every status it settles in is recorded there. */
  let recordedStatus: ReminderStatus = carried.status;
  /** Keeps a decision for queries and the UI (the last ones, in full). */
  const remember = (decision: OccurrenceDecision) => {
    decisions.push(decision);
    if (decisions.length > DECISIONS_KEPT) decisions.splice(0, decisions.length - DECISIONS_KEPT);
    setCurrentDetails(`last decision: ${decision.kind} for ${decision.occurrence.scheduledFor}`);
  };
  const record = async (decision: OccurrenceDecision, sequence: number, reminderStatus?: ReminderStatus) => {
    remember(decision);
    await recordDecision({ tenantId, userId, decision, sequence, ...(reminderStatus ? { reminderStatus } : {}) });
    if (reminderStatus) recordedStatus = reminderStatus;
  };

  // Search attributes and memo are upserted only when they change: every upsert is a command.
  const publishStatus = statusPublisher();
  let publishedTitle = definition.content.title;
  /** On the lean path only where the run is about to wait (`waiting`): one upsert per workflow task at most. */
  const publish = (waiting = false) => {
    if (lean && !waiting) return;
    publishStatus(status, current && status === 'active' ? current.dueAt : null);
    if (publishedTitle !== definition.content.title) {
      upsertMemo({ title: definition.content.title });
      publishedTitle = definition.content.title;
    }
  };

  const syncStatus = async () => {
    publish();
    if (recordedStatus === status) return;
    const settled = status;
    await recordStatus({ tenantId, reminderId, status: settled, ...(settled === 'blocked' && blockedReason ? { reason: blockedReason } : {}) });
    recordedStatus = settled;
  };

  /**
   * Waits until a message changes something (or the run should continue as new), at most
   * `timeoutMs`; true when a message changed something.
   */
  const waitForChange = async (timeoutMs?: number, summary?: string): Promise<boolean> => {
    const seen = generation;
    const wake = () => generation !== seen || historyIsLong();
    publish(true);
    if (timeoutMs === undefined) await condition(wake);
    else if (timeoutMs > 0) await condition(wake, timeoutMs, { summary: summary ?? 'until something changes' });
    return generation !== seen;
  };

  const continueAsNewNow = async (): Promise<never> => {
    await condition(allHandlersFinished);
    publish(true);
    const carry: CarriedState = {
      status: status === 'paused' || status === 'blocked' ? status : 'active',
      ...(fence !== undefined ? { afterEpochMs: fence } : {}),
      ...(userTimeZone ? { userTimeZone } : {}),
      ...(snooze ? { snooze } : {}),
      skipNext: skip !== undefined,
      ...(skip?.target ? { skip: skip.target } : {}),
      decisions,
      generation,
      ...(heldSince !== undefined ? { heldSinceEpochMs: heldSince } : {}),
      ...(current ? { current } : {}),
      ruleVersion: versions.rule,
      preferencesVersion: versions.preferences,
      settingsVersion: versions.settings,
      ...(snoozeCoversUntil !== undefined ? { snoozeCoversUntilEpochMs: snoozeCoversUntil } : {}),
      ...(blockedReason ? { blockedReason } : {}),
    };
    return continueAsNew<typeof reminderWorkflow>({ ...input, definition, carried: carry });
  };

  /** Plans the next occurrence after the fence; records the ones that passed unhandled. */
  const plan = async (): Promise<void> => {
    const seen = generation;
    const covered = snoozeCoversUntil;
    let result;
    try {
      result = await planOccurrences({
        tenantId,
        userId,
        recurrence: definition.recurrence,
        zoneMode: definition.zoneMode,
        ...(fence !== undefined ? { afterEpochMs: fence } : {}),
        notBeforeEpochMs: covered !== undefined ? Math.max(catchUpFloor(), covered + 1) : catchUpFloor(),
        count: UPCOMING_PLANNED,
      });
    } catch (error) {
      // Retries are exhausted only for failures a retry cannot fix (the rule, the stored preferences).
      if (generation !== seen || status !== 'active') return; // changed meanwhile: the next turn looks again
      status = 'blocked';
      const failure = error instanceof ActivityFailure && error.cause ? error.cause : error;
      blockedReason = failure instanceof Error ? failure.message : String(failure);
      return;
    }
    if (generation !== seen) return; // changed while planning: the next turn plans again
    userTimeZone = result.timeZone;
    snoozeCoversUntil = undefined;
    const passed = result.missed.last;
    if (passed) {
      advanceFence(passed.epochMs);
      const occurrence = refOf(passed);
      await record(
        covered !== undefined
          ? { kind: 'skipped', occurrence, decidedAt: iso(Date.now()), reason: 'snoozed', channels: [], count: result.missed.count }
          : { kind: 'missed', occurrence, decidedAt: iso(Date.now()), lateByMs: Date.now() - passed.epochMs, count: result.missed.count },
        0,
      );
    }
    upcoming = result.upcoming;
    const [next, following] = result.upcoming;
    if (!next) {
      status = 'completed';
      return;
    }
    current = {
      occurrence: next,
      ...(following ? { following } : {}),
      dueAt: next.epochMs,
      decidedOnce: false,
      pending: [...definition.channels],
      outcomes: [],
      timedOut: [],
      sequence: 0,
      ruleVersion: versions.rule,
      decidedUnder: { preferences: versions.preferences, settings: versions.settings },
    };
  };

  /**
   * The plan that made this occurrence found none after it: the series is over, unless the rule
   * changed meanwhile or its zone may have moved with the user's.
   */
  const isLast = (c: CurrentOccurrence) =>
    lean && !c.following && status === 'active' && c.ruleVersion === versions.rule && definition.zoneMode !== 'follow-user';

  /** Moves past the occurrence in hand, whose decision is being recorded: the fence, a snooze it ends, the series' end. */
  const close = (c: CurrentOccurrence): { last: boolean } => {
    current = undefined;
    advanceFence(c.occurrence.epochMs);
    if (snooze?.recurrenceId === idOf(c.occurrence)) {
      // A snooze stands for the occurrences that fall before its end: they are skipped as snoozed.
      snoozeCoversUntil = snooze.untilEpochMs;
      snooze = undefined;
    }
    if (!c.following || c.following.epochMs > Date.now()) heldSince = undefined; // caught up with the present
    const last = isLast(c);
    if (last) status = 'completed';
    return { last };
  };

  /** Ends the occurrence in hand with its decision; the fence moves past it. */
  const finish = async (c: CurrentOccurrence, extra: ChannelOutcome[] = []): Promise<void> => {
    const decision = occurrenceEnded(
      refOf(c.occurrence),
      iso(Date.now()),
      [...c.outcomes, ...extra],
      c.deferredAt !== undefined ? iso(c.occurrence.epochMs) : undefined,
    );
    const { last } = close(c);
    await record(decision, c.sequence, last ? 'completed' : undefined);
  };

  /**
   * Ends the occurrence in hand with the decision a one-step send recorded: whatever was accepted
   * while it ran applies from now on. The status it may have written is set right by the next sync.
   */
  const adopt = (c: CurrentOccurrence, recorded: NonNullable<SendOccurrenceResult['recorded']>): void => {
    remember(recorded.decision);
    if (recorded.reminderStatus) recordedStatus = recorded.reminderStatus;
    close(c);
  };

  /** Ends the occurrence in hand because the reminder stopped: a plan is dropped, a due occurrence recorded. */
  const endCurrent = async (reason: StopReason): Promise<void> => {
    if (!current) return;
    if (!current.decidedOnce) {
      current = undefined;
      return;
    }
    await finish(
      current,
      current.pending.map((channel) => channelOutcome.stopped(channel, reason)),
    );
  };

  /**
   * Why a send for `channel` must not start (or go on), if it must not: a pause, a cancel, the
   * channel's removal. (A rule edit lets an occurrence already being sent finish; a deferred one of
   * the old rule ends at the top of the next turn.)
   */
  const stopReason = (channel?: Channel): StopReason | undefined => stopFor({ status, channels: definition.channels }, channel);

  /** For the lateness metric only (an input field, not a command: replay is unaffected). */
  const deferredFlag = (c: CurrentOccurrence): { deferred?: true } => (c.deferredAt !== undefined || c.snoozedUntil !== undefined ? { deferred: true } : {});

  /** Delivers one channel within its send-by bound; a stop accepted meanwhile cancels the delivery. */
  const deliverUnlessStopped = (c: CurrentOccurrence, verdict: Extract<ChannelDecision, { action: 'send' }>): Promise<DeliveryResult> =>
    CancellationScope.cancellable(async () => {
      publish(true);
      const sendBy = verdict.sendBy ?? Date.now() + catchUpWindowMs;
      const delivery = deliver
        .executeWithOptions(
          {
            startToCloseTimeout: '1 minute',
            heartbeatTimeout: '20 seconds',
            scheduleToCloseTimeout: Math.max(sendBy - Date.now(), MIN_DELIVERY_WINDOW_MS),
            summary: `${verdict.channel} for ${c.occurrence.local}`,
          },
          [
            {
              tenantId,
              userId,
              occurrence: refOf(c.occurrence),
              channel: verdict.channel,
              category: definition.category,
              content: definition.content,
              ...deferredFlag(c),
            },
          ],
        )
        .then(
          (receipt): DeliveryResult => ({ kind: 'sent', receipt }),
          (error: unknown): DeliveryResult => (isTimeout(error) ? { kind: 'timed_out' } : { kind: 'failed', error }),
        );
      const stopped = condition(() => stopReason(verdict.channel) !== undefined).then(
        (): DeliveryResult => ({ kind: 'stopped', reason: stopReason(verdict.channel)! }),
      );
      stopped.catch(() => undefined); // cancelled below when the delivery wins
      const result = await Promise.race([delivery, stopped]);
      CancellationScope.current().cancel(); // the loser: the wait, or the delivery still in flight
      return result;
    });

  /** Decides the occurrence in hand at send time and delivers what the decision says to send. */
  const decideAndDeliver = async (c: CurrentOccurrence): Promise<void> => {
    handling = true;
    try {
      // The first handling of an occurrence decides and sends in one step; any later one in two.
      const inOneStep = oneStep && !c.decidedOnce;
      const removed = c.pending.filter((channel) => !definition.channels.includes(channel));
      for (const channel of removed) c.outcomes.push(channelOutcome.stopped(channel, 'channel_removed'));
      c.pending = c.pending.filter((channel) => definition.channels.includes(channel));
      c.decidedOnce = true;
      c.decidedUnder = { preferences: versions.preferences, settings: versions.settings };
      if (c.pending.length === 0) return finish(c);

      const request: DecideRequest = {
        tenantId,
        userId,
        occurrence: refOf(c.occurrence),
        category: definition.category,
        channels: c.pending,
        ...(definition.policy ? { policy: definition.policy } : {}),
        fallbackTimeZone: userTimeZone ?? definition.recurrence.tzid,
        nowEpochMs: Date.now(),
        deliveryWindowMs: catchUpWindowMs,
        // Occurrences inside a snooze are stood for by the snoozed one, which therefore never collapses to them.
        ...(c.following && !(snooze?.recurrenceId === idOf(c.occurrence) && c.following.epochMs <= snooze.untilEpochMs)
          ? { followingEpochMs: c.following.epochMs }
          : {}),
      };
      const timeouts = { scheduleToCloseTimeout: Math.max(catchUpWindowMs, 60_000), summary: `decide ${c.occurrence.local}` };
      let verdicts: ChannelDecision[];
      /** What the one step already did for each channel it sends. */
      let done: SendOccurrenceResult['deliveries'] = {};
      try {
        if (inOneStep) {
          publish(true);
          const sent = await sendOccurrence.executeWithOptions({ ...timeouts, summary: `send ${c.occurrence.local}` }, [
            { ...request, content: definition.content, ...deferredFlag(c), record: { sequence: c.sequence, outcomes: c.outcomes, completesSeries: isLast(c) } },
          ]);
          if (sent.recorded) return adopt(c, sent.recorded); // every channel ended there: decided, sent and recorded
          ({ verdicts, deliveries: done } = sent);
        } else {
          verdicts = await decideOccurrence(request, timeouts);
        }
      } catch (error) {
        if (isTimeout(error) && inOneStep) {
          // Out of time in one step (the database was away): decided again now in two steps, and like a
          // timed-out delivery, a channel still to send is not sent late.
          c.timedOut = [...c.pending];
          c.dueAt = Date.now();
          return;
        }
        if (isTimeout(error)) {
          // No decision within the catch-up window (the database was away): late, so missed.
          current = undefined;
          advanceFence(c.occurrence.epochMs);
          const lateByMs = Date.now() - c.occurrence.epochMs;
          return record({ kind: 'missed', occurrence: refOf(c.occurrence), decidedAt: iso(Date.now()), lateByMs, count: 1 }, c.sequence);
        }
        // Preferences that cannot be read as valid: the occurrence fails with that reason, the series goes on.
        return finish(c, c.pending.map((channel) => channelOutcome.failed(channel, error)));
      }
      const settle = (outcome: ChannelOutcome) => {
        c.outcomes.push(outcome);
        c.pending = c.pending.filter((p) => p !== outcome.channel);
      };
      /** Settles a channel the one step already sent or saw refused for good, whatever was accepted meanwhile. */
      const settledInOneStep = (channel: Channel): boolean => {
        const delivery: OneStepDelivery | undefined = done[channel];
        if (delivery?.kind !== 'sent' && delivery?.kind !== 'failed') return false;
        settle(reachedOutcome(channel, delivery));
        return true;
      };
      if (stopReason()) {
        // Paused or cancelled meanwhile: the next turn ends the rest.
        for (const verdict of verdicts) settledInOneStep(verdict.channel);
        return;
      }

      for (const verdict of verdicts) {
        if (verdict.action !== 'skip') continue;
        settle(skippedOutcome(verdict));
      }
      for (const verdict of verdicts) {
        const { channel } = verdict;
        if (verdict.action !== 'send' || settledInOneStep(channel) || stopReason(channel)) continue;
        // Its send-by bound passed before the one step reached it: decided again now, like a timed-out delivery.
        const late = done[channel]?.kind === 'timed_out';
        if (c.timedOut.includes(channel)) {
          settle({ channel, outcome: 'failed', errorType: 'delivery_timeout', message: 'the provider did not take it within its send-by bound' });
          continue;
        }
        // (A channel the one step found stopped in the database, which this run has not seen stopped, is delivered here.)
        const result: DeliveryResult = late ? { kind: 'timed_out' } : await deliverUnlessStopped(c, verdict);
        if (result.kind === 'sent') {
          settle(sentOutcome(channel, result.receipt));
        } else if (result.kind === 'failed') {
          settle(channelOutcome.failed(channel, result.error)); // permanent: this delivery ends, never the series
        } else if (result.kind === 'stopped') {
          settle({ channel, outcome: 'interrupted', reason: result.reason, explanation: `${stopExplanation(result.reason)} while its delivery was in flight: the provider may have taken it (see the deliveries)` });
        } else {
          // Out of time: decided again now, with the preferences, quiet hours and expiry of now.
          c.timedOut.push(channel);
          c.dueAt = Date.now();
        }
      }

      const deferred = verdicts.filter((v): v is Extract<ChannelDecision, { action: 'defer' }> => v.action === 'defer' && c.pending.includes(v.channel));
      if (deferred.length > 0) {
        const until = Math.min(...deferred.map((v) => v.until));
        c.timedOut = c.timedOut.filter((channel) => !deferred.some((v) => v.channel === channel));
        heldSince ??= c.occurrence.epochMs;
        const first = c.deferredAt === undefined;
        c.deferredAt ??= Date.now();
        const changed = c.dueAt !== until;
        // Before the (awaited) record: a query never sees the deferral without its new due time. A
        // channel that ran out of time is decided again at once.
        c.dueAt = c.pending.some((channel) => c.timedOut.includes(channel)) ? Date.now() : until;
        if (first || changed) {
          const explanation = deferred.map((v) => v.explanation).join('; ');
          setCurrentDetails(`${c.occurrence.local}: ${explanation}`);
          await record({ kind: 'deferred', occurrence: refOf(c.occurrence), decidedAt: iso(Date.now()), until: iso(until), explanation }, c.sequence++);
        }
      }
      if (c.pending.length === 0) await finish(c);
    } finally {
      handling = false;
    }
  };

  // ---- the loop ---------------------------------------------------------------------------------
  for (;;) {
    publish();
    if (historyIsLong()) await continueAsNewNow();
    if (status === 'completed') break;
    if (status === 'cancelled') {
      await endCurrent('cancelled');
      break;
    }
    if (status === 'paused') {
      await endCurrent('paused');
      await syncStatus();
      await waitForChange();
      continue;
    }
    if (status === 'blocked') {
      await syncStatus();
      setCurrentDetails(`blocked: ${blockedReason ?? ''}`);
      // Something changed (an edit, a preference change): try to plan again.
      if ((await waitForChange()) && status === 'blocked') status = 'active';
      continue;
    }
    await syncStatus();
    if (current && current.ruleVersion !== versions.rule) {
      await endCurrent('rule_changed');
      continue;
    }
    if (current && !current.decidedOnce && definition.zoneMode === 'follow-user' && current.decidedUnder.preferences !== versions.preferences) {
      current = undefined; // the user's zone may have moved: plan again
      continue;
    }
    if (!current) {
      await plan();
      continue;
    }
    const c = current;
    const id = idOf(c.occurrence);
    if (skip && (skip.target === undefined || skip.target.recurrenceId === id)) {
      skip = undefined;
      await finish(c, c.pending.map((channel) => skippedOutcome({ channel, reason: 'skipped_by_user', explanation: 'skipped by the user' })));
      continue;
    }
    if (skip?.target && skip.target.epochMs < c.occurrence.epochMs) skip = undefined; // its occurrence passed without it
    if (snooze?.recurrenceId === id && c.snoozedUntil !== snooze.untilEpochMs) {
      c.dueAt = snooze.untilEpochMs; // applied once: a deferral after it moves dueAt on
      c.snoozedUntil = snooze.untilEpochMs;
    }
    const waitingForSnooze = c.snoozedUntil !== undefined && c.dueAt === c.snoozedUntil;
    if (c.decidedOnce && !waitingForSnooze && (c.decidedUnder.preferences !== versions.preferences || c.decidedUnder.settings !== versions.settings)) {
      c.dueAt = Math.min(c.dueAt, Date.now()); // preferences or settings changed: decide again now
    }
    if (Date.now() < c.dueAt) {
      publish();
      const what = waitingForSnooze ? 'snoozed' : c.decidedOnce ? 'deferred' : 'next occurrence';
      await waitForChange(c.dueAt - Date.now(), `${what}: ${c.occurrence.local}`);
      continue;
    }
    if (!c.decidedOnce && c.snoozedUntil === undefined && c.occurrence.epochMs < catchUpFloor()) {
      current = undefined; // late past the catch-up window: the next plan records it missed
      continue;
    }
    await decideAndDeliver(c);
  }

  await syncStatus();
  await condition(allHandlersFinished);
  publish(true);
  return state();
}
