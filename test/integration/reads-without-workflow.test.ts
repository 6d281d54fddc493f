/**
 * Reads never depend on a worker or on Temporal's retention: a reminder whose workflow is gone, or
 * whose workflow no worker runs, is answered from the database and flagged `state: 'stored'`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ReminderId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import type { reminderWorkflow } from '../../workflows/reminder.js';
import { eventually } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('reads without the workflow', () => {
  it('answers a reminder whose workflow history is gone (past retention) from the database, with its decisions and deliveries', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'gus',
      email: 'gus@example.com',
      title: 'Bins out',
      body: '',
      recurrence: { dtstart: utcWallTime(1_500), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    await stack.client.workflow.getHandle<typeof reminderWorkflow>(reminder.workflowId).result();
    // Past the namespace's retention Temporal no longer knows the workflow: a namespace that never
    // had it is the same thing as far as a read is concerned.
    const namespace = `gone-${Date.now()}`;
    await stack.client.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const elsewhere = new Client({ connection: stack.client.connection, namespace });
    await eventually(() => elsewhere.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined));
    const service = createReminderService({ workflows: elsewhere.workflow, taskQueue: stack.taskQueue, persistence: createStoragePersistence(stack.database.db) });
    const actor = { tenantId: stack.tenantId };

    const read = await service.get(actor, ReminderId(reminder.id));
    expect(read).toMatchObject({ id: reminder.id, status: 'completed', state: 'stored', upcoming: [] });
    const decisions = await service.decisions(actor, ReminderId(reminder.id), 20);
    expect(decisions).toEqual([expect.objectContaining({ kind: 'delivered', channels: [expect.objectContaining({ outcome: 'sent' })] })]);
    const deliveries = await service.deliveries(actor, ReminderId(reminder.id), {});
    expect(deliveries.data).toEqual([expect.objectContaining({ channel: 'email', status: 'sent' })]);
  });

  it('answers from the database within the query timeout when no worker runs the workflow', async () => {
    const idle = createReminderService({
      workflows: stack.client.workflow,
      taskQueue: `${stack.taskQueue}-nobody-polls`,
      persistence: createStoragePersistence(stack.database.db),
    });
    const reminder = await idle.create({ tenantId: stack.tenantId }, {
      userId: 'ida',
      email: 'ida@example.com',
      title: 'Dentist',
      body: '',
      recurrence: { dtstart: '2030-01-07T10:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=MONTHLY' },
    });
    const read = await stack.api.reminders.get(reminder.id);
    expect(read).toMatchObject({ status: 'active', state: 'stored', upcoming: reminder.upcoming });
    expect(read.next).toBeUndefined();
    expect((await stack.api.reminders.decisions(reminder.id)).data).toEqual([]);
  });
});
