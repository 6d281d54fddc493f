/**
 * The paths that take days of workflow time, on the time-skipping server: a deferral through quiet
 * hours, a run long enough to continue as new, a pause or cancel that lands during a deferral, and
 * snoozes that outlast the catch-up window or overlap later occurrences. Each records its history
 * for the replay guard (test/fixtures/histories).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { UserId } from '../../src/domain/ids.js';
import type { Preferences } from '../../src/domain/preferences/index.js';
import { createUserPersistence } from '../../src/users/persistence.js';
import { createUserService } from '../../src/users/service.js';
import { reminderStateQuery, type ReminderState, type reminderWorkflow } from '../../workflows/reminder.js';
import { recordHistory } from '../support/histories.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping.js';

let stack: TimeSkippingStack;
beforeAll(async () => {
  stack = await startTimeSkippingStack('timeskipping-long-paths');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

type Handle = WorkflowHandle<typeof reminderWorkflow>;
const actor = () => ({ tenantId: stack.tenantId });
const nightOwl: Partial<Preferences> = { timeZone: 'UTC', quietHours: { default: { start: '22:00', end: '07:00' } } };

async function createReminder(userId: string, rrule: string, dtstart: string, preferences: Partial<Preferences> = {}): Promise<Handle> {
  const reminder = await stack.reminders.create(actor(), {
    userId,
    email: `${userId}@example.com`,
    title: 'Check the boiler',
    body: 'Pressure between 1 and 1.5 bar.',
    recurrence: { dtstart, tzid: 'UTC', rrule },
  });
  if (Object.keys(preferences).length > 0) {
    await stack.stores.users.modifyPreferences(stack.tenantId, UserId(userId), (p) => ({ ...p, ...preferences }));
  }
  return stack.env.client.workflow.getHandle<typeof reminderWorkflow>(reminder.workflowId);
}

/**
 * A date (`YYYY-MM-DD`, UTC) at least two days after the server's clock: skipped time is global to the
 * server, so each scenario starts after the ones before it.
 */
async function aFewDaysAhead(): Promise<string> {
  return new Date((await stack.env.currentTimeMs()) + 2 * 86_400_000).toISOString().slice(0, 10);
}
const plusDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Moves the server's clock to `iso` (the worker runs everything due on the way). */
async function skipTo(iso: string): Promise<void> {
  const ms = Date.parse(iso) - (await stack.env.currentTimeMs());
  if (ms > 0) await stack.env.sleep(ms);
}

const state = (handle: Handle) => handle.query(reminderStateQuery);
const mailsTo = (userId: string) => stack.smtp.received.filter((m) => m.to.includes(`${userId}@example.com`));
const kinds = (s: ReminderState) => s.decisions.map((d) => (d.kind === 'skipped' ? `skipped:${d.reason}` : d.kind));

describe('long paths (time-skipping)', () => {
  it('defers an occurrence inside quiet hours to their end, then sends it once', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('nox', 'FREQ=DAILY;COUNT=2', `${day}T23:00:00`, nightOwl);
      const result = await handle.result();
      await recordHistory('deferral', handle);
      expect(result.decisions.map((d) => d.kind)).toEqual(['deferred', 'delivered', 'deferred', 'delivered']);
      expect(result.decisions[0]).toMatchObject({ kind: 'deferred', until: `${plusDays(day, 1)}T07:00:00.000Z` });
      expect(result.decisions[1]).toMatchObject({ kind: 'delivered', deferredFrom: `${day}T23:00:00.000Z` });
      expect(mailsTo('nox')).toHaveLength(2);
    });
  });

  it('continues as new through a long series, neither losing nor repeating an occurrence', { timeout: 300_000 }, async () => {
    await stack.run(async () => {
      const handle = await createReminder('hyperion', 'FREQ=DAILY;COUNT=203', `${await aFewDaysAhead()}T09:00:00`);
      const { runId: firstRunId } = await handle.describe();
      const result = await handle.result();
      expect(result.status).toBe('completed');
      await recordHistory('continue-as-new', stack.env.client.workflow.getHandle(handle.workflowId, firstRunId));
      const { runId: lastRunId } = await handle.describe();
      expect(lastRunId).not.toBe(firstRunId);
      const mails = mailsTo('hyperion');
      expect(mails).toHaveLength(203);
      expect(new Set(mails.map((m) => m.headers['x-chime-idempotency-key'])).size).toBe(203);
    });
  });

  it('ends an occurrence paused during its deferral with a recorded decision', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('vesper', 'FREQ=DAILY;COUNT=1', `${day}T23:00:00`, nightOwl);
      await skipTo(`${day}T23:30:00Z`);
      expect(kinds(await state(handle))).toEqual(['deferred']);
      await stack.reminders.pause(actor(), reminderIdOf(handle));
      await skipTo(`${plusDays(day, 1)}T08:00:00Z`);
      await stack.reminders.resume(actor(), reminderIdOf(handle));
      const result = await handle.result();
      await recordHistory('pause-during-deferral', handle);
      expect(kinds(result)).toEqual(['deferred', 'skipped:paused']);
      expect(mailsTo('vesper')).toEqual([]);
    });
  });

  it('ends an occurrence cancelled during its deferral with a recorded decision', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('nyx', 'FREQ=DAILY', `${day}T23:00:00`, nightOwl);
      await skipTo(`${day}T23:30:00Z`);
      expect(kinds(await state(handle))).toEqual(['deferred']);
      await stack.reminders.cancel(actor(), reminderIdOf(handle));
      const result = await handle.result();
      await recordHistory('cancel-during-deferral', handle);
      expect(result.status).toBe('cancelled');
      expect(kinds(result)).toEqual(['deferred', 'skipped:cancelled']);
      expect(mailsTo('nyx')).toEqual([]);
    });
  });

  it('delivers a snoozed occurrence at its snooze time even when a change wakes the reminder long after its instant', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('sol', 'FREQ=DAILY;COUNT=2', `${day}T09:00:00`, { timeZone: 'UTC' });
      await skipTo(`${day}T08:00:00Z`);
      await stack.reminders.snooze(actor(), reminderIdOf(handle), new Date(`${day}T12:00:00Z`));
      await skipTo(`${day}T10:00:00Z`); // an hour past the instant: beyond the 15-minute catch-up window
      await users().putPreferences(actor(), UserId('sol'), {
        timeZone: 'UTC',
        contacts: { email: { address: 'sol@example.com', verified: true } },
        quietHours: { default: { start: '23:00', end: '06:00' } },
      });
      const result = await handle.result();
      await recordHistory('snooze-woken-late', handle);
      expect(kinds(result)).toEqual(['delivered', 'delivered']);
      expect(lateMs(result.decisions[0]!.decidedAt, `${day}T12:00:00Z`)).toBeLessThan(60_000);
      expect(mailsTo('sol')).toHaveLength(2);
    });
  });

  it('lets a snooze that spans later occurrences stand for them: they are skipped as snoozed, never missed', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('luna', 'FREQ=DAILY;COUNT=4', `${day}T09:00:00`, { timeZone: 'UTC' });
      await skipTo(`${day}T08:00:00Z`);
      // The first 09:00 until 10:00 two days later: the second and third 09:00 fall inside the snooze.
      await stack.reminders.snooze(actor(), reminderIdOf(handle), new Date(`${plusDays(day, 2)}T10:00:00Z`));
      const result = await handle.result();
      await recordHistory('snooze-multi-day', handle);
      expect(kinds(result)).toEqual(['delivered', 'skipped:snoozed', 'delivered']);
      expect(lateMs(result.decisions[0]!.decidedAt, `${plusDays(day, 2)}T10:00:00Z`)).toBeLessThan(60_000);
      expect(result.decisions[1]).toMatchObject({ occurrence: { scheduledFor: `${plusDays(day, 2)}T09:00:00Z` }, count: 2 });
      expect(result.decisions[2]).toMatchObject({ occurrence: { scheduledFor: `${plusDays(day, 3)}T09:00:00Z` } });
      expect(mailsTo('luna')).toHaveLength(2);
    });
  });

  it('defers a snoozed occurrence whose snooze ends inside quiet hours to their end, then sends it once', async () => {
    await stack.run(async () => {
      const day = await aFewDaysAhead();
      const handle = await createReminder('orla', 'FREQ=DAILY;COUNT=1', `${day}T20:00:00`, nightOwl);
      await skipTo(`${day}T19:00:00Z`);
      await stack.reminders.snooze(actor(), reminderIdOf(handle), new Date(`${day}T23:00:00Z`));
      const result = await handle.result();
      await recordHistory('snooze-into-quiet-hours', handle);
      expect(kinds(result)).toEqual(['deferred', 'delivered']);
      expect(result.decisions[0]).toMatchObject({ kind: 'deferred', until: `${plusDays(day, 1)}T07:00:00.000Z` });
      expect(lateMs(result.decisions[1]!.decidedAt, `${plusDays(day, 1)}T07:00:00Z`)).toBeLessThan(60_000);
      expect(mailsTo('orla')).toHaveLength(1);
    });
  });
});

const reminderIdOf = (handle: Handle) => handle.workflowId.split('/').at(-1) as never;
const lateMs = (decidedAt: string, instant: string) => {
  const late = Date.parse(decidedAt) - Date.parse(instant);
  expect(late).toBeGreaterThanOrEqual(0);
  return late;
};
const users = () => createUserService({ workflows: stack.env.client.workflow, persistence: createUserPersistence(stack.database.db) });
