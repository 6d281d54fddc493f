/**
 * The reminder core in the interleavings, on the real dev server: a cancel, pause, channel removal,
 * rule edit or snooze that lands while the send-time decision or a delivery is in flight; a
 * provider that keeps refusing; preferences that cannot be read. Each race is made deterministic by
 * a latch the test holds inside the activity or the provider call, and releases once the message
 * has been accepted.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { createSmtpEmailSender } from '../../src/channels/email.js';
import { createTwilioSmsSender } from '../../src/channels/sms-twilio.js';
import type { MessageSender } from '../../src/domain/delivery.js';
import { ReminderId, UserId } from '../../src/domain/ids.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService, type CreateReminderInput, type ReminderService } from '../../src/reminders/service.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { reminderStateQuery, type ReminderState, type reminderWorkflow } from '../../workflows/reminder.js';
import type { WorkerActivities } from '../../src/entry/runtime.js';
import { eventually, recordHistory } from '../support/histories.js';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

/** A gate a test holds closed: `reached` resolves when the code under test arrives at it. */
function latch() {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return {
    reached,
    release: () => open(),
    async pass() {
      arrive();
      await opened;
    },
  };
}
type Latch = ReturnType<typeof latch>;

let stack: TestStack;
let twilio: FakeTwilio;
let stores: Stores;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const taskQueue = () => `${stack.taskQueue}-latched`;
/** Latches by user id: inside the deciding activity before it decides, or inside the email provider call (first message only). */
const decideGates = new Map<string, Latch>();
const emailGates = new Map<string, Latch>();
let service: ReminderService;
let shortWindow: ReminderService;

beforeAll(async () => {
  stack = await startTestStack();
  twilio = await startFakeTwilio();
  stores = createStores(stack.database.db);
  const email = createSmtpEmailSender({ url: stack.smtp.url, from: 'Chime <chime@test.localhost>' });
  const latchedEmail: MessageSender = {
    channel: 'email',
    async send(message) {
      const gate = emailGates.get(message.to.split('@')[0]!);
      if (gate) {
        emailGates.delete(message.to.split('@')[0]!);
        await gate.pass();
      }
      return email.send(message);
    },
  };
  const sms = createTwilioSmsSender({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+15005550001', baseUrl: twilio.url });
  const real = stack.activities({ email: latchedEmail, sms });
  const activities: WorkerActivities = {
    ...real,
    async decideOccurrence(request) {
      await decideGates.get(request.userId)?.pass();
      return real.decideOccurrence(request);
    },
    // The first handling of an occurrence decides and sends in one activity: held before it decides.
    async sendOccurrence(request) {
      await decideGates.get(request.userId)?.pass();
      return real.sendOccurrence(request);
    },
  };
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createChimeWorker({
    connection,
    namespace: 'default',
    taskQueue: taskQueue(),
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  running = worker.run();
  const persistence = createStoragePersistence(stack.database.db);
  service = createReminderService({ workflows: stack.client.workflow, taskQueue: taskQueue(), persistence });
  shortWindow = createReminderService({ workflows: stack.client.workflow, taskQueue: taskQueue(), persistence, catchUpWindowMs: 4_000 });
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await twilio?.close();
  await stack?.close();
});

const actor = () => ({ tenantId: stack.tenantId });
const handleOf = (workflowId: string) => stack.client.workflow.getHandle<typeof reminderWorkflow>(workflowId);
const mailsTo = (userId: string) => stack.smtp.received.filter((m) => m.to.includes(`${userId}@example.com`));
const kinds = (s: ReminderState) => s.decisions.map((d) => (d.kind === 'skipped' ? `skipped:${d.reason}` : d.kind));

async function create(
  userId: string,
  extra: Partial<CreateReminderInput> = {},
  via: ReminderService = service,
): Promise<{ id: ReminderId; handle: WorkflowHandle<typeof reminderWorkflow> }> {
  const reminder = await via.create(actor(), {
    userId,
    email: `${userId}@example.com`,
    title: 'Standing desk',
    body: 'Stand up for a while.',
    recurrence: { dtstart: utcWallTime(1_500), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    ...extra,
  });
  return { id: ReminderId(reminder.id), handle: handleOf(reminder.workflowId) };
}

async function addSms(userId: string, number: string) {
  await stores.users.modifyPreferences(stack.tenantId, UserId(userId), (p) => ({
    ...p,
    contacts: { ...p.contacts, sms: { number, verified: true } },
  }));
}

describe('messages that land while the reminder is deciding or delivering', () => {
  it('sends nothing after a cancel accepted while the send-time decision was being made', async () => {
    const gate = latch();
    decideGates.set('carla', gate);
    const { id, handle } = await create('carla');
    await gate.reached;
    expect((await service.cancel(actor(), id)).status).toBe('cancelled');
    gate.release();
    const result = await handle.result();
    expect(kinds(result)).toEqual(['skipped:cancelled']);
    await recordHistory('cancel-during-decide', handle);
    expect(mailsTo('carla')).toEqual([]);
  });

  it('does not start the SMS after a pause accepted while the email was at the provider', async () => {
    const gate = latch();
    emailGates.set('paulo', gate);
    await stores.tenants.ensure({ id: stack.tenantId, name: 'acme' });
    const { id, handle } = await create('paulo', { channels: ['email', 'sms'] });
    await addSms('paulo', '+15005550101');
    await gate.reached; // the email's provider call is in flight
    expect((await service.pause(actor(), id)).status).toBe('paused');
    gate.release(); // the call already at the provider lands: that is the documented exception, recorded as sent
    const state = await eventually(async () => {
      const s = await handle.query(reminderStateQuery);
      return s.decisions.length > 0 ? s : undefined;
    });
    expect(kinds(state)).toEqual(['delivered']);
    await recordHistory('pause-during-send', handle);
    const decision = state.decisions[0]!;
    expect(decision.kind === 'delivered' && decision.channels).toEqual([
      expect.objectContaining({ channel: 'email', outcome: 'sent' }),
      expect.objectContaining({ channel: 'sms', outcome: 'skipped', reason: 'paused' }),
    ]);
    expect(mailsTo('paulo')).toHaveLength(1);
    expect(twilio.accepted.filter((m) => m.to === '+15005550101')).toEqual([]);
  });

  it('does not send on a channel removed while the send-time decision was being made', async () => {
    const gate = latch();
    decideGates.set('remy', gate);
    const { id, handle } = await create('remy', { channels: ['email', 'sms'] });
    await addSms('remy', '+15005550102');
    await gate.reached;
    await service.edit(actor(), id, { channels: ['email'] });
    gate.release();
    const result = await handle.result();
    expect(result.decisions).toEqual([
      expect.objectContaining({
        kind: 'delivered',
        channels: [
          expect.objectContaining({ channel: 'email', outcome: 'sent' }),
          expect.objectContaining({ channel: 'sms', outcome: 'skipped', reason: 'channel_removed' }),
        ],
      }),
    ]);
    expect(mailsTo('remy')).toHaveLength(1);
    await recordHistory('channel-removed-during-decide', handle);
    expect(twilio.accepted.filter((m) => m.to === '+15005550102')).toEqual([]);
  });

  it('applies a rule edit accepted during a delivery from that moment on: the loop never moves the fence back', async () => {
    const gate = latch();
    emailGates.set('edda', gate);
    const first = Date.parse(`${utcWallTime(1_500)}Z`);
    const { id, handle } = await create('edda', {
      recurrence: { dtstart: new Date(first).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    await gate.reached;
    // The new rule's first instant, one second after the one being delivered, is in the past by the time of the edit.
    while (Date.now() < first + 2_100) await new Promise((resolve) => setTimeout(resolve, 50));
    const newRule = { dtstart: new Date(first + 1_000).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=DAILY' };
    await service.edit(actor(), id, { recurrence: newRule });
    gate.release();
    const tomorrow = new Date(first + 1_000 + 86_400_000).toISOString().replace('.000Z', 'Z');
    const state = await eventually(async () => {
      const s = await handle.query(reminderStateQuery);
      return s.next?.utc === tomorrow ? s : undefined;
    });
    expect(state.decisions.map((d) => [d.kind, d.occurrence.scheduledFor])).toEqual([
      ['delivered', new Date(first).toISOString().replace('.000Z', 'Z')],
    ]);
    expect(mailsTo('edda')).toHaveLength(1);
    await recordHistory('rule-edit-during-send', handle);
    await service.cancel(actor(), id);
  });

  it('keeps a snooze accepted during a delivery: it postpones the occurrence after the one being sent', async () => {
    const gate = latch();
    emailGates.set('sana', gate);
    const first = Date.parse(`${utcWallTime(1_500)}Z`);
    const { id, handle } = await create('sana', {
      recurrence: { dtstart: new Date(first).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=8;COUNT=2' },
    });
    await gate.reached;
    const until = new Date(first + 12_000);
    expect((await service.snooze(actor(), id, until)).status).toBe('active');
    gate.release();
    const result = await handle.result();
    expect(kinds(result)).toEqual(['delivered', 'delivered']);
    const second = result.decisions[1]!;
    expect(second.occurrence.scheduledFor).toBe(new Date(first + 8_000).toISOString().replace('.000Z', 'Z'));
    expect(Date.parse(second.decidedAt)).toBeGreaterThanOrEqual(until.getTime());
    const mails = mailsTo('sana');
    expect(mails).toHaveLength(2);
    expect(mails[1]!.receivedAt).toBeGreaterThanOrEqual(until.getTime());
    await recordHistory('snooze-during-send', handle);
  });
});

describe('failures that must not stop the series', () => {
  it('stops retrying a delivery the provider keeps refusing at its bound, decides it again and records it failed: never sent late', async () => {
    // More refusals than attempts fit in the delivery's bound (10 s at least): it must stop before they run out.
    const refusals = 10;
    stack.smtp.scriptFaultsFor('tess@example.com', ...Array.from({ length: refusals }, () => ({ kind: 'reject-rcpt' as const, code: 421 })));
    const { handle } = await create('tess', {}, shortWindow);
    const result = await handle.result();
    expect(result.decisions).toEqual([
      expect.objectContaining({
        kind: 'delivered',
        channels: [expect.objectContaining({ channel: 'email', outcome: 'failed', errorType: 'delivery_timeout' })],
      }),
    ]);
    // The workflow has ended and its delivery timed out: nothing retries any more.
    expect(mailsTo('tess')).toEqual([]);
    expect(stack.smtp.attempts.filter((a) => a.to === 'tess@example.com').length).toBeLessThan(refusals);
    await recordHistory('delivery-timeout', handle);
  });

  it('records an occurrence failed when the stored preferences cannot be read, and goes on with the series', async () => {
    const first = Date.parse(`${utcWallTime(1_500)}Z`);
    const { handle } = await create('ines', {
      recurrence: { dtstart: new Date(first).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=4;COUNT=2' },
    });
    const user = (await stores.users.get(stack.tenantId, UserId('ines')))!;
    // Written behind the API's back (an old row, a bad migration): not a zone any reader accepts.
    await stores.users.updatePreferences(stack.tenantId, UserId('ines'), {
      expectedVersion: user.version,
      preferences: { ...user.preferences, timeZone: 'Mars/Olympus' },
    });
    await eventually(async () => ((await handle.query(reminderStateQuery)).decisions.length > 0 ? true : undefined));
    await stack.api.users.putPreferences('ines', { timeZone: 'UTC' }); // contacts are kept
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.decisions).toEqual([
      expect.objectContaining({ kind: 'delivered', channels: [expect.objectContaining({ outcome: 'failed', errorType: 'preferences_invalid' })] }),
      expect.objectContaining({ kind: 'delivered', channels: [expect.objectContaining({ outcome: 'sent' })] }),
    ]);
    expect(mailsTo('ines')).toHaveLength(1);
    await recordHistory('preferences-invalid', handle);
  });

  it('parks a follow-user reminder whose user zone cannot be read as blocked, visible in the API and the database, until the preferences are fixed', async () => {
    await stores.tenants.ensure({ id: stack.tenantId, name: 'acme' });
    await stores.users.ensure(stack.tenantId, UserId('bo'));
    const user = (await stores.users.get(stack.tenantId, UserId('bo')))!;
    await stores.users.updatePreferences(stack.tenantId, UserId('bo'), { expectedVersion: user.version, preferences: { timeZone: 'Mars/Olympus' } });
    const { id, handle } = await create('bo', {
      zoneMode: 'follow-user',
      recurrence: { dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
    });
    const blocked = await eventually(async () => {
      const view = await service.get(actor(), id);
      return view.status === 'blocked' ? view : undefined;
    });
    expect(blocked.statusReason).toMatch(/timeZone/);
    await eventually(async () => ((await stores.reminders.get(stack.tenantId, id))?.status === 'blocked' ? true : undefined));

    await stack.api.users.putPreferences('bo', { timeZone: 'Asia/Tokyo' });
    const active = await eventually(async () => {
      const s = await handle.query(reminderStateQuery);
      return s.status === 'active' && s.next ? s : undefined;
    });
    expect(active.next?.local).toMatch(/T09:00:00\+09:00$/);
    await recordHistory('blocked-then-unblocked', handle);
    await eventually(async () => ((await stores.reminders.get(stack.tenantId, id))?.status === 'active' ? true : undefined));
    await service.cancel(actor(), id);
  });
});
