/**
 * History stays bounded on every path: 1,000 preference changes (half of them while paused) and
 * 300 rule edits to one reminder make it continue as new again and again — every run stays under
 * the bound — and it still fires once, at its instant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENTS_PER_RUN, type reminderWorkflow } from '../../workflows/reminder.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

/** The stated bound: the run's threshold, plus the turn in progress when it is reached. */
const EVENTS_PER_RUN_BOUND = MAX_EVENTS_PER_RUN + 100;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('bounded history', () => {
  it('keeps every run under the bound through 1,000 preference changes and 300 edits, and still fires at the right instant', { timeout: 300_000 }, async () => {
    await stack.api.users.putPreferences('zed', { timeZone: 'Europe/Paris' });
    const reminder = await stack.api.reminders.create({
      userId: 'zed',
      email: 'zed@example.com',
      title: 'Stretch',
      body: '',
      zoneMode: 'follow-user',
      recurrence: { dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
    });
    const zones = ['Europe/Paris', 'America/Chicago'];
    // Each change moves the user's zone: every one wakes the follow-user reminder and makes it plan again.
    for (let i = 0; i < 1_000; i++) {
      if (i === 0) await stack.api.reminders.pause(reminder.id);
      if (i === 500) await stack.api.reminders.resume(reminder.id);
      await stack.api.users.putPreferences('zed', { timeZone: zones[i % 2]! });
    }
    for (let i = 0; i < 299; i++) {
      await stack.api.reminders.edit(reminder.id, { recurrence: { dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule: `FREQ=DAILY;BYMINUTE=${i % 60}` } });
    }
    // The last edit: once, a few seconds from now, in UTC (the user's zone is Chicago now: pin it).
    const dtstart = utcWallTime(4_000);
    await stack.api.reminders.edit(reminder.id, { zoneMode: 'pinned', recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' } });

    const handle = stack.client.workflow.getHandle<typeof reminderWorkflow>(reminder.workflowId);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const sent = result.decisions.filter((d) => d.kind === 'delivered');
    expect(sent).toHaveLength(1);
    const lateMs = Date.parse(sent[0]!.decidedAt) - Date.parse(`${dtstart}Z`);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(5_000);
    expect(stack.smtp.received.filter((m) => m.to.includes('zed@example.com'))).toHaveLength(1);

    const lengths: number[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${reminder.workflowId}"` })) lengths.push(run.historyLength);
    console.log(`bounded history: ${lengths.length} runs, events per run max ${Math.max(...lengths)} (bound ${EVENTS_PER_RUN_BOUND})`);
    expect(lengths.length).toBeGreaterThan(5);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(EVENTS_PER_RUN_BOUND);
  });
});
