/**
 * The audience schedule workflow's contract: its input, its state, and its messages. The schedule's
 * definition lives in the database (the API edits it there and signals the workflow); the workflow
 * holds only where each time-zone bucket stands — never the audience.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PlannedMember } from '../activities/schedules.js';

export const SCHEDULE_WORKFLOW_TYPE = 'scheduleWorkflow';

export function scheduleWorkflowId(tenantId: string, scheduleId: string): string {
  return `schedule/${tenantId}/${scheduleId}`;
}

export type ScheduleRunStatus = 'active' | 'paused' | 'archived' | 'ended';

/** An occurrence being fanned out: per recipient group, how far its pages got. */
export interface Fanout {
  firesAt: number;
  members: PlannedMember[];
  /** Per member key: the cursor of its next page (`''` before the first), or null when done. */
  cursors: Record<string, string | null>;
  /** Spread the pages over this long (0: as fast as the bound on pages in flight allows). */
  smoothingMs: number;
  /** Recipients expected (for smoothing and progress), when known. */
  recipients?: number;
  pagesDone: number;
  recipientsProcessed: number;
}

export interface ScheduleCarried {
  status: 'active' | 'paused';
  /** Groups without a fence of their own start after this instant (creation, a rule edit, a resume). */
  fence: number;
  /** Per recipient group (`zoneKey`): the last occurrence fanned out there. */
  fences: Record<string, number>;
  fanout?: Fanout;
  nextDeferralAt?: number;
  generation: number;
}

export interface ScheduleWorkflowInput {
  tenantId: string;
  scheduleId: string;
  /** An occurrence is still fanned out within this window after it falls due, else recorded missed. */
  catchUpWindowMs?: number;
  /** Recipients per page activity. */
  pageSize?: number;
  /** Pages in flight at once (across the bucket's groups). */
  maxPagesInFlight?: number;
  carried?: ScheduleCarried;
}

export interface ScheduleState {
  status: ScheduleRunStatus;
  generation: number;
  /** The next bucket: when it fires and which zones' local occurrence it is. */
  next?: { firesAt: string; members: { key: string; local: string; recurrenceId: string }[] };
  fanout?: { firesAt: string; groups: number; groupsDone: number; pagesDone: number; recipientsProcessed: number };
  nextDeferralAt?: string;
}

export interface ScheduleChange {
  /** The rule, its zone mode or its window changed: buckets restart after now. */
  rule: boolean;
}

export const pauseScheduleUpdate = defineUpdate<ScheduleState>('pauseSchedule');
export const resumeScheduleUpdate = defineUpdate<ScheduleState>('resumeSchedule');
export const archiveScheduleUpdate = defineUpdate<ScheduleState>('archiveSchedule');
/** The definition changed in the database: plan again (and, for a rule change, from now on). */
export const scheduleChangedSignal = defineSignal<[ScheduleChange]>('scheduleChanged');
export const scheduleStateQuery = defineQuery<ScheduleState>('scheduleState');
