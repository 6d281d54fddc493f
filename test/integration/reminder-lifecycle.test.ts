/**
 * A reminder's life on the real dev server: Updates with validators, Signals, Queries, search
 * attributes an operator can query, pause/resume, skip, snooze, cancel, zone moves and catch-up.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { WorkflowIdConflictPolicy, WorkflowUpdateFailedError, type WorkflowClient } from '@temporalio/client';
import type { CreateReminder, Reminder } from '../../src/client/index.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import {
  editReminderUpdate,
  REMINDER_WORKFLOW_TYPE,
  reminderStateQuery,
  upcomingQuery,
  type reminderWorkflow,
} from '../../workflows/reminder.js';
import { eventually, plannedState, recordHistory } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const daily0900Paris = { dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' };

async function create(userId: string, extra: Partial<CreateReminder> = {}): Promise<Reminder> {
  return stack.api.reminders.create({
    userId,
    email: `${userId}@example.com`,
    title: 'Water the plants',
    body: 'The ficus too.',
    recurrence: daily0900Paris,
    ...extra,
  });
}

const handleOf = (r: Reminder) => stack.client.workflow.getHandle<typeof reminderWorkflow>(r.workflowId);

async function idsMatching(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of stack.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

describe('reminder lifecycle', () => {
  it('lets an operator find all paused reminders of a user with a visibility query', async () => {
    const kept = await create('grace');
    const paused = await create('grace');
    expect((await stack.api.reminders.pause(paused.id)).status).toBe('paused');

    const found = await eventually(async () => {
      const ids = await idsMatching(`ChimeUserId = "grace" AND ChimeStatus = "paused"`);
      return ids.length > 0 ? ids : undefined;
    });
    expect(found).toEqual([paused.workflowId]);
    expect(found).not.toContain(kept.workflowId);

    expect((await stack.api.reminders.resume(paused.id)).status).toBe('active');
    await eventually(async () =>
      (await idsMatching(`ChimeUserId = "grace" AND ChimeStatus = "paused"`)).length === 0 ? true : undefined,
    );
    await recordHistory('pause-resume', handleOf(paused));
  });

  it('lists everything due in the next hour by the next-occurrence search attribute', async () => {
    const soon = await create('hopper', { recurrence: { dtstart: utcWallTime(30 * 60_000), tzid: 'UTC', rrule: 'FREQ=DAILY' } });
    const later = await create('hopper', { recurrence: { dtstart: utcWallTime(5 * 3_600_000), tzid: 'UTC', rrule: 'FREQ=DAILY' } });
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    const due = await eventually(async () => {
      const ids = await idsMatching(`ChimeUserId = "hopper" AND ChimeNextOccurrence < "${inAnHour}"`);
      return ids.length > 0 ? ids : undefined;
    });
    expect(due).toEqual([soon.workflowId]);
    expect(due).not.toContain(later.workflowId);
  });

  it('rejects an invalid edit in the validator, leaving no trace in history', async () => {
    const reminder = await create('lovelace');
    const handle = handleOf(reminder);
    await expect(handle.executeUpdate(editReminderUpdate, { args: [{ channels: [] }] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    const edited = await handle.executeUpdate(editReminderUpdate, {
      args: [{ content: { title: 'Water the ficus', body: 'Only the ficus.' } }],
    });
    expect(edited.definition.content.title).toBe('Water the ficus');
    expect(edited.generation).toBe(1);

    const history = await handle.fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted).toHaveLength(1); // only the valid edit
    await recordHistory('edit-rejected-then-accepted', handle);
  });

  it('recomputes the pending occurrence when the rule is edited', async () => {
    const reminder = await create('turing');
    await stack.api.reminders.edit(reminder.id, { recurrence: { ...daily0900Paris, rrule: 'FREQ=DAILY;BYHOUR=10' } });
    const state = await eventually(async () => {
      const s = await handleOf(reminder).query(reminderStateQuery);
      return s.next?.local.includes('T10:00:00') ? s : undefined;
    });
    expect(state.next?.local).toMatch(/T10:00:00\+0[12]:00$/);
    await recordHistory('rule-edit', handleOf(reminder));
  });

  it('answers an invalid rule edit with a problem naming the part, and the workflow never sees it', async () => {
    const reminder = await create('noether');
    await expect(
      stack.api.reminders.edit(reminder.id, { recurrence: { ...daily0900Paris, rrule: 'FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2' } }),
    ).rejects.toMatchObject({ status: 400, type: 'urn:chime:problem:invalid-recurrence' });
    expect((await handleOf(reminder).query(reminderStateQuery)).generation).toBe(0);
  });

  it('skips the next occurrence and records why', async () => {
    const reminder = await create('hamilton');
    // Once the workflow has planned: a query right after the start may come before the first plan.
    const [first, second] = await eventually(async () => {
      const upcoming = await handleOf(reminder).query(upcomingQuery, 2);
      return upcoming.length === 2 ? upcoming : undefined;
    });
    await stack.api.reminders.skipNext(reminder.id);
    const state = await eventually(async () => {
      const s = await handleOf(reminder).query(reminderStateQuery);
      return s.next?.utc === second?.utc ? s : undefined;
    });
    expect(state.decisions).toEqual([
      expect.objectContaining({ kind: 'skipped', reason: 'skipped_by_user', occurrence: expect.objectContaining({ scheduledFor: first?.utc }) }),
    ]);
    await recordHistory('skip-next', handleOf(reminder));
  });

  it('delivers a snoozed occurrence at the snooze time, once', async () => {
    const reminder = await create('shannon', {
      recurrence: { dtstart: utcWallTime(2_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    const until = new Date(Date.now() + 4_000);
    expect((await stack.api.reminders.snooze(reminder.id, until)).status).toBe('active');
    const result = await handleOf(reminder).result();
    expect(result.decisions.map((d) => d.kind)).toEqual(['delivered']);
    const mails = stack.smtp.received.filter((m) => m.to.includes('shannon@example.com'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.receivedAt).toBeGreaterThanOrEqual(until.getTime());
    await recordHistory('snooze', handleOf(reminder));
  });

  it('keeps 09:00 local when a follow-user reminder’s user moves from Paris to New York', async () => {
    const reminder = await create('curie', { zoneMode: 'follow-user' });
    const handle = handleOf(reminder);
    expect((await plannedState(() => handle.query(reminderStateQuery))).next.local).toMatch(/T09:00:00\+0[12]:00$/);
    await stack.api.users.putPreferences('curie', { timeZone: 'America/New_York' });
    const state = await eventually(async () => {
      const s = await handle.query(reminderStateQuery);
      return s.next?.local.endsWith('-05:00') || s.next?.local.endsWith('-04:00') ? s : undefined;
    });
    expect(state.next?.local).toMatch(/T09:00:00-0[45]:00$/);
    expect(state.userTimeZone).toBe('America/New_York');
    await recordHistory('zone-move', handle);
  });

  it('cancels a reminder: the workflow ends cancelled and later actions are refused with 409', async () => {
    const reminder = await create('franklin');
    expect((await stack.api.reminders.cancel(reminder.id)).status).toBe('cancelled');
    expect((await handleOf(reminder).result()).status).toBe('cancelled');
    await expect(stack.api.reminders.pause(reminder.id)).rejects.toMatchObject({ status: 409, type: 'urn:chime:problem:conflict' });
    await eventually(async () =>
      (await idsMatching(`ChimeReminderId = "${reminder.id}" AND ChimeStatus = "cancelled"`)).length === 1 ? true : undefined,
    );
    await recordHistory('cancel', handleOf(reminder));
  });

  it('treats starting the same reminder twice as a no-op', async () => {
    const reminder = await create('babbage');
    const { runId } = await handleOf(reminder).describe();
    const input = (await handleOf(reminder).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input;
    expect(input).toBeDefined();
    const again = await stack.client.workflow.start(REMINDER_WORKFLOW_TYPE, {
      taskQueue: stack.taskQueue,
      workflowId: reminder.workflowId,
      args: [{ tenantId: 'acme', userId: 'babbage', reminderId: reminder.id, definition: (await handleOf(reminder).query(reminderStateQuery)).definition }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    expect(again.firstExecutionRunId).toBe(runId);
  });

  it('answers 404 for an unknown reminder', async () => {
    await expect(stack.api.reminders.get('rem_nope')).rejects.toMatchObject({ status: 404, type: 'urn:chime:problem:not-found' });
  });
});

/** A reminder titled "Tick" for `userId`, created through `service`. */
const createTick = (service: ReturnType<typeof createReminderService>, userId: string, dtstart: string, rrule: string) =>
  service.create({ tenantId: stack.tenantId }, { userId, email: `${userId}@example.com`, title: 'Tick', body: '', recurrence: { dtstart, tzid: 'UTC', rrule } });
/** Waits until the wall clock (the server's clock) reaches `epochMs`: a step in it cannot cut the wait short. */
async function untilWallClock(epochMs: number): Promise<void> {
  while (Date.now() < epochMs) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('catch-up after workers were down', () => {
  it('delivers an occurrence that fell due while the reminder’s workflow was still being started', async () => {
    const dtstart = utcWallTime(3_000);
    const instant = Date.parse(`${dtstart}Z`);
    // Starting the workflow is held until a second after the occurrence, as a slow database or server would hold it.
    const slowStart: WorkflowClient = Object.create(stack.client.workflow, {
      start: {
        value: async (...args: Parameters<WorkflowClient['start']>) => {
          await untilWallClock(instant + 1_000);
          return stack.client.workflow.start(...args);
        },
      },
    });
    const service = createReminderService({ workflows: slowStart, taskQueue: stack.taskQueue, persistence: createStoragePersistence(stack.database.db) });
    const reminder = await createTick(service, 'babbage-late-start', dtstart, 'FREQ=DAILY;COUNT=1');
    expect(Date.parse(reminder.createdAt), 'accepted before its instant').toBeLessThan(instant);
    expect((await handleOf(reminder).describe()).startTime.getTime(), 'started after its instant').toBeGreaterThan(instant);
    const result = await handleOf(reminder).result();
    expect(result.decisions).toEqual([expect.objectContaining({ kind: 'delivered', occurrence: expect.objectContaining({ scheduledFor: `${dtstart}Z` }) })]);
    expect(stack.smtp.received.filter((m) => m.to.includes('babbage-late-start@example.com'))).toHaveLength(1);
    await recordHistory('late-start', handleOf(reminder));
  });

  it('delivers a late occurrence within the catch-up window once, records older ones as missed in one record, and never bursts', { timeout: 120_000 }, async () => {
    const taskQueue = `${stack.taskQueue}-catchup`;
    const windowMs = 7_000;
    const service = createReminderService({
      workflows: stack.client.workflow,
      taskQueue,
      persistence: createStoragePersistence(stack.database.db),
      catchUpWindowMs: windowMs,
    });
    // Occurrences at d, d+10 s, … d+40 s; no worker polls this queue until d+21 s, so d and d+10 are
    // missed, d+20 is late within the window (if the worker starts within 6 s) and the last two are on time.
    const dtstart = utcWallTime(2_000);
    const series = [0, 10, 20, 30, 40].map((s) => Date.parse(`${dtstart}Z`) + s * 1_000);
    const reminder = await createTick(service, 'hollerith', dtstart, 'FREQ=SECONDLY;INTERVAL=10;COUNT=5');
    await untilWallClock(series[0]! + 21_000);

    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await createChimeWorker({
      connection,
      namespace: 'default',
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: stack.activities(),
    });
    const result = await worker.runUntil(handleOf(reminder).result());
    await connection.close();
    await recordHistory('catch-up', handleOf(reminder));

    // A reminder's occurrences are those from when it was accepted (on a loaded machine that can be past d).
    const instants = series.filter((at) => at >= Date.parse(reminder.createdAt));
    // Where missed ends follows from when the workflow first ran (its clock, in its history), not from
    // this test's timers: a loaded machine starts the worker late, and wall-clock steps happen. That is
    // the start of the first task that completed (a task that timed out ran again later).
    const events = (await handleOf(reminder).fetchHistory()).events ?? [];
    const firstDone = events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
    const firstTask = events.slice(0, firstDone).findLast((e) => e.workflowTaskStartedEventAttributes)?.eventTime;
    const firstRanAt = Number(firstTask?.seconds?.toString()) * 1_000 + Math.floor((firstTask?.nanos ?? 0) / 1e6);
    const boundary = firstRanAt - windowMs; // older occurrences are past catching up
    const [first, ...rest] = result.decisions;
    expect(first).toMatchObject({ kind: 'missed' }); // the outage was long enough to miss something
    const missed = instants.filter((at) => at <= Date.parse(first!.occurrence.scheduledFor));
    const sent = instants.slice(missed.length);
    // The split lies at the boundary (within the few milliseconds between the task's start and the workflow's clock).
    expect(missed.at(-1)!).toBeLessThan(boundary + 250);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]!).toBeGreaterThanOrEqual(boundary - 250);
    expect(first).toMatchObject({ count: missed.length });
    expect(sent[0]!, 'the first occurrence sent is the late one, within the window').toBeLessThan(firstRanAt);
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    expect(rest.map((d) => [d.kind, d.occurrence.scheduledFor])).toEqual(sent.map((at) => ['delivered', iso(at)]));
    // No burst: each occurrence is sent at its own instant, or when the workers came back, never before.
    for (const [i, at] of sent.entries()) expect(Date.parse(rest[i]!.decidedAt)).toBeGreaterThanOrEqual(Math.max(at, firstRanAt));
    const mails = stack.smtp.received.filter((m) => m.to.includes('hollerith@example.com'));
    expect(mails).toHaveLength(sent.length);
    expect(new Set(mails.map((m) => m.headers['x-chime-idempotency-key'])).size).toBe(sent.length);
  });
});
