/**
 * The walking skeleton, end to end on real components: POST /v1/reminders → a reminder workflow on
 * the real Temporal dev server → an email through nodemailer to a real SMTP server, carrying the
 * delivery idempotency key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER, messageIdFor } from '../../src/channels/email.js';
import { deliveryIdempotencyKey } from '../../src/domain/idempotency.js';
import { ChimeApiError } from '../../src/client/index.js';
import { reminderStateQuery, type reminderWorkflow } from '../../workflows/reminder.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('POST /v1/reminders', () => {
  it('starts a reminder workflow that emails each occurrence with its idempotency key', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'ada',
      email: 'ada@example.com',
      title: 'Drink water',
      body: 'A glass now.',
      recurrence: { dtstart: utcWallTime(3_000), tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=2;COUNT=2' },
    });
    expect(reminder.workflowId).toBe(`reminder/acme/ada/${reminder.id}`);
    expect(reminder.upcoming).toHaveLength(2);

    const mails = await stack.smtp.waitFor(2, 30_000);
    expect(mails.map((m) => m.to)).toEqual([['ada@example.com'], ['ada@example.com']]);
    const expectedKeys = reminder.upcoming.map((occurrence) =>
      deliveryIdempotencyKey({
        tenantId: stack.tenantId,
        userId: 'ada',
        occurrence: { reminderId: reminder.id, recurrenceId: occurrence.utc },
        channel: 'email',
      }),
    );
    expect(mails.map((m) => m.headers[IDEMPOTENCY_HEADER.toLowerCase()])).toEqual(expectedKeys);
    expect(mails.map((m) => m.headers['message-id'])).toEqual(expectedKeys.map(messageIdFor));
    expect(mails[0]?.headers.subject).toBe('Drink water');
    // Each mail arrives at, not before, its occurrence.
    for (const [i, mail] of mails.entries()) {
      expect(mail.receivedAt).toBeGreaterThanOrEqual(Date.parse(reminder.upcoming[i]!.utc));
    }

    const handle = stack.client.workflow.getHandle<typeof reminderWorkflow>(reminder.workflowId);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.decisions.map((d) => d.kind)).toEqual(['delivered', 'delivered']);
    // The delivery ledger: one settled row per occurrence, keyed like the mails, no contact point.
    const { data: deliveries } = await stack.api.reminders.deliveries(reminder.id);
    expect(deliveries.map((d) => d.idempotencyKey).sort()).toEqual([...expectedKeys].sort());
    expect(deliveries.every((d) => d.status === 'sent' && d.attempts === 1)).toBe(true);
    expect(JSON.stringify(deliveries)).not.toContain('ada@example.com');
    // Lists read the database: the ended workflow recorded its final status there.
    expect((await stack.api.reminders.page({ userId: 'ada' })).data.map((r) => r.status)).toEqual(['completed']);
    const state = await handle.query(reminderStateQuery);
    expect(state.decisions.flatMap((d) => (d.kind === 'delivered' ? d.channels.map((c) => c.outcome) : []))).toEqual([
      'sent',
      'sent',
    ]);
  });

  it('costs the server what a timer and one activity cost: one activity decides, sends and records the due occurrence', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'lea',
      email: 'lea@example.com',
      title: 'Once',
      body: 'Just once.',
      recurrence: { dtstart: utcWallTime(1_500), tzid: 'UTC' },
    });
    const handle = stack.client.workflow.getHandle<typeof reminderWorkflow>(reminder.workflowId);
    const result = await handle.result();
    expect(result.decisions.map((d) => d.kind)).toEqual(['delivered']);
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(scheduled).toEqual(['sendOccurrence']);
    // From the timer to the end: `sendOccurrence` (which also records the decision), one upsert and the completion; two workflow tasks.
    const fired = events.findIndex((e) => e.timerFiredEventAttributes);
    const afterTimer = events.slice(fired + 1);
    expect(afterTimer.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
    expect(afterTimer.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(0);
    expect(afterTimer.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(2);
    // The last occurrence completed the reminder in the database with its decision, in the same call.
    expect((await stack.api.reminders.page({ userId: 'lea' })).data.map((r) => r.status)).toEqual(['completed']);
    const { data: deliveries } = await stack.api.reminders.deliveries(reminder.id);
    expect(deliveries.map((d) => d.status)).toEqual(['sent']);
  });

  it('rejects an invalid rule with a problem naming the rule part', async () => {
    const error = await stack.api.reminders
      .create({
        userId: 'ada',
        email: 'ada@example.com',
        title: 'Broken',
        body: '',
        recurrence: { dtstart: '2026-01-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;BYHOUR=25' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChimeApiError);
    const problem = error as ChimeApiError;
    expect(problem.status).toBe(400);
    expect(problem.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(problem.type).toBe('urn:chime:problem:invalid-recurrence');
    expect(problem.errors[0]).toEqual({ field: 'body.recurrence.rrule', reason: expect.stringMatching(/^BYHOUR: "25" is out of range/) });
  });

  it('rejects unknown fields and a malformed email with the field named', async () => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/v1/reminders',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'idempotency-key': 'bad-fields' },
      payload: { userId: 'ada', email: 'not-an-email', title: 'x', body: '', colour: 'red', ical: 'RRULE:FREQ=DAILY' },
    });
    expect(response.statusCode).toBe(400);
    const fields = response.json<{ errors: { field: string }[] }>().errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.email', 'body.colour']));
  });
});
