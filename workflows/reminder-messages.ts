/**
 * The reminder workflow's contract: its input, its state, and the messages (Updates, Signals,
 * Queries) that the API, the tests and the workflow itself import. Clients use these objects and
 * never spell a message name.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PolicyOverrides } from '../src/domain/policy/policy.js';
import type { ZoneMode } from '../src/domain/policy/zone-mode.js';
import type { Channel } from '../src/domain/delivery.js';
import type { ChannelOutcome, OccurrenceDecision, ReminderStatus } from '../src/domain/decisions.js';
import type { Occurrence, RecurrenceInput } from '../src/domain/recurrence/index.js';
import type { MessageContent } from '../src/domain/templates/schema.js';

export const REMINDER_WORKFLOW_TYPE = 'reminderWorkflow';

/** Business workflow id: starting the same reminder twice finds the running one. */
export function reminderWorkflowId(tenantId: string, userId: string, reminderId: string): string {
  return `reminder/${tenantId}/${userId}/${reminderId}`;
}

export type { ZoneMode, OccurrenceDecision, ReminderStatus };

/** The title and body, rendered through `template` at send time when it names one (an activity renders: never here). */
export type ReminderContent = MessageContent;

export interface ReminderDefinition {
  recurrence: RecurrenceInput;
  zoneMode: ZoneMode;
  content: ReminderContent;
  channels: Channel[];
  /** Tenant-defined category (`reminders`, `digest`, …) that preferences and policies refer to. */
  category: string;
  /** Policy overrides for this reminder (quiet-hours mode, expiry, collapse, caps); see src/domain/policy. */
  policy?: PolicyOverrides;
}

/**
 * The occurrence a reminder is on. Until it is first decided (`decidedOnce` false) it is only a
 * plan, replaced freely when the rule or the zone changes; once decided it is due and always ends
 * in a recorded decision.
 */
export interface CurrentOccurrence {
  occurrence: Occurrence;
  /** The next occurrence of the plan (a backlog collapses to it once it is due). */
  following?: Occurrence;
  /** When it is decided next: its instant, a snooze's `until`, or the end of a deferral. */
  dueAt: number;
  decidedOnce: boolean;
  /** The snooze applied to it (its `until`): applied once, kept through a deferral that follows. */
  snoozedUntil?: number;
  /** Channels not decided for good yet. */
  pending: Channel[];
  outcomes: ChannelOutcome[];
  /** When it was first deferred (quiet hours). */
  deferredAt?: number;
  /** Channels whose delivery ran out of time: decided again, and failed if the decision is still "send". */
  timedOut: Channel[];
  /** Decisions recorded about it so far (the next one's sequence number). */
  sequence: number;
  /** The rule version it was planned under: a rule edit ends a due occurrence of the old rule. */
  ruleVersion: number;
  /** The preference and setting versions it was planned or last decided under: a change decides it again. */
  decidedUnder: { preferences: number; settings: number };
}

/** State carried across continue-as-new: everything the workflow knows, nothing it can re-read. */
export interface CarriedState {
  status: 'active' | 'paused' | 'blocked';
  /** Fence: planning resumes strictly after this instant (the last occurrence handled, or "from now on"). */
  afterEpochMs?: number;
  /** The zone the last plan used (follow-user reminders: the user's zone then). */
  userTimeZone?: string;
  snooze?: { recurrenceId: string; untilEpochMs: number; occurrenceEpochMs?: number };
  skipNext: boolean;
  /** The occurrence a skip-next applies to (absent: whichever comes next). */
  skip?: { recurrenceId: string; epochMs: number };
  decisions: OccurrenceDecision[];
  /** Occurrences from this instant on were held back by a deferral (quiet hours), not missed by an outage. */
  heldSinceEpochMs?: number;
  /** Bumped by every accepted message (v1: every edit); a plan made for an older one is thrown away. */
  generation: number;
  // Since the state-machine rewrite (absent when a v1 run hands over):
  current?: CurrentOccurrence;
  ruleVersion?: number;
  preferencesVersion?: number;
  settingsVersion?: number;
  /** After a snooze: occurrences up to this instant were stood for by the snoozed one. */
  snoozeCoversUntilEpochMs?: number;
  blockedReason?: string;
}

export interface ReminderWorkflowInput {
  tenantId: string;
  userId: string;
  reminderId: string;
  definition: ReminderDefinition;
  /** A late occurrence is still delivered within this window after it is due, else recorded missed. */
  catchUpWindowMs?: number;
  /**
   * When the reminder was accepted: its occurrences from then on are its own, including one that fell
   * due while the workflow was being started (absent: the workflow's start).
   */
  acceptedAtEpochMs?: number;
  /** Absent on the first run. */
  carried?: CarriedState;
}

export interface ReminderState {
  status: ReminderStatus;
  generation: number;
  definition: ReminderDefinition;
  userTimeZone?: string;
  next?: { utc: string; local: string; dueAt: string };
  snoozedUntil?: string;
  /** Why a blocked reminder cannot plan (it waits for an edit or a preference change). */
  blockedReason?: string;
  decisions: OccurrenceDecision[];
}

export interface EditReminderPatch {
  recurrence?: RecurrenceInput;
  zoneMode?: ZoneMode;
  content?: ReminderContent;
  channels?: Channel[];
  category?: string;
  policy?: PolicyOverrides;
}

export { UpdateRejection } from './update-rejection.js';

// Messages, typed; clients import these objects and never spell the names.
export const editReminderUpdate = defineUpdate<ReminderState, [EditReminderPatch]>('editReminder');
export const pauseReminderUpdate = defineUpdate<ReminderState>('pauseReminder');
export const resumeReminderUpdate = defineUpdate<ReminderState>('resumeReminder');
export const snoozeOccurrenceUpdate = defineUpdate<ReminderState, [{ untilEpochMs: number }]>('snoozeOccurrence');
export const skipNextOccurrenceUpdate = defineUpdate<ReminderState>('skipNextOccurrence');
export const cancelReminderUpdate = defineUpdate<ReminderState>('cancelReminder');
/**
 * The user's zone, quiet hours, channels or opt-outs changed: plan and decide again with what the
 * database holds now. It carries no value, so two signals delivered out of order cannot leave a
 * stale one. (`timeZone` is read only by runs from before the state-machine rewrite; never sent now.)
 */
export interface PreferencesChanged {
  timeZone?: string;
}
export const preferencesChangedSignal = defineSignal<[PreferencesChanged]>('preferencesChanged');
export const reminderStateQuery = defineQuery<ReminderState>('reminderState');
export const upcomingQuery = defineQuery<{ utc: string; local: string }[], [number]>('upcoming');
export const decisionsQuery = defineQuery<OccurrenceDecision[], [number]>('decisions');
