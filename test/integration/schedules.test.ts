/**
 * Audience schedules through the API on the real dev server: the resource (admin writes, clear
 * errors, preview per zone), and a fan-out to a tag-filtered audience across zones with half-hour
 * and 45-minute offsets — each recipient served once per occurrence through the delivery ledger,
 * the run's counters in step, and nothing for users outside the audience.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { createChimeClient } from '../../src/client/index.js';
import { createSchedulePersistence } from '../../src/schedules/persistence.js';
import { createScheduleService } from '../../src/schedules/service.js';
import { createChimeWorker } from '../../src/temporal/worker.js';
import { eventually, recordHistory } from '../support/histories.js';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const zones = ['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York'];
const every15s = { dtstart: '2026-01-01T00:00:00', tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=15' };

async function seedUsers(prefix: string, count: number, tags: string[]) {
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${String(i).padStart(3, '0')}`;
    await stack.api.users.putPreferences(id, { timeZone: zones[i % zones.length]!, contacts: { email: { address: `${id}@example.com`, verified: true } } });
    if (tags.length > 0) await stack.api.users.setTags(id, tags);
  }
}

describe('audience schedules', () => {
  it('refuses writes from a user key, and names the field of an invalid definition', async () => {
    const userKey = await stack.createKey({ userId: 'nosy' });
    const asUser = createChimeClient({ baseUrl: stack.url, apiKey: userKey, maxRetries: 0 });
    const body = { name: 'Digest', recurrence: every15s, audience: { filter: {} }, content: { title: 'Digest', body: '' } };
    await expect(asUser.schedules.create(body)).rejects.toMatchObject({ status: 403 });
    await expect(stack.api.schedules.create({ ...body, audience: { filter: { tags: { all: ['Not A Tag'] } } } })).rejects.toMatchObject({
      status: 400,
      errors: expect.arrayContaining([expect.objectContaining({ field: 'body.audience.filter.tags.all.0', reason: expect.stringMatching(/pattern/) })]),
    });
    await expect(stack.api.schedules.create({ ...body, recurrence: { ...every15s, rrule: 'FREQ=WEEKLY;BYDAY=XX' } })).rejects.toMatchObject({
      status: 400,
      type: 'urn:chime:problem:invalid-recurrence',
    });
  });

  it('fans an occurrence out to a tag-filtered audience in every zone, once per recipient, and reports the run', { timeout: 120_000 }, async () => {
    await seedUsers('beta', 24, ['beta']);
    await seedUsers('other', 6, []);
    const schedule = await stack.api.schedules.create({
      name: 'Beta news',
      recurrence: every15s,
      audience: { filter: { tags: { all: ['beta'] } } },
      content: { title: 'Beta news', body: 'What changed this week.' },
    });
    expect(schedule).toMatchObject({ status: 'active', zoneMode: 'recipient-local', category: 'digest', state: 'stored' });

    const preview = await stack.api.schedules.preview(schedule.id, 2);
    expect(preview.zones).toEqual(zones.map((zone) => ({ zone, recipients: 6 })).sort((a, b) => a.zone.localeCompare(b.zone)));
    // Second boundaries are the same instant in every zone: one bucket holds all four.
    expect(preview.buckets[0]?.members.map((m) => m.zone).sort()).toEqual([...zones].sort());

    // One bucket, four occurrences: at one instant it is a different local time in each zone (its
    // RECURRENCE-ID), so each zone's run is its own.
    const bucket = await eventually(async () => {
      const runs = (await stack.api.schedules.runs(schedule.id)).data;
      const first = runs.at(-1)?.firstFiresAt;
      const atFirst = runs.filter((r) => r.firstFiresAt === first && r.completed);
      return atFirst.length === 4 ? atFirst : undefined;
    }, 60_000);
    await stack.api.schedules.pause(schedule.id);
    for (const run of bucket) expect(run).toMatchObject({ zones: 1, targeted: 6, sent: 6, deferred: 0, failed: 0, skipped: {} });
    expect(new Set(bucket.map((r) => r.recurrenceId)).size).toBe(4);

    const mails = stack.smtp.received.filter((m) => m.to.some((to) => to.startsWith('beta')) || m.to.some((to) => to.startsWith('other')));
    expect(mails.filter((m) => m.to.some((to) => to.startsWith('other')))).toEqual([]);
    const keys = mails.map((m) => m.headers['x-chime-idempotency-key']);
    expect(new Set(keys).size).toBe(keys.length); // no key twice
    expect(mails.length % 24).toBe(0); // whole occurrences only, each to all 24
    const read = await stack.api.schedules.get(schedule.id);
    expect(read).toMatchObject({ status: 'paused', state: 'live' });
  });
});

describe('an audience schedule paused, edited and resumed mid-fan-out', () => {
  it('stops between pages when paused, uses the edit for the pages after it, and serves everyone once when resumed', { timeout: 120_000 }, async () => {
    const taskQueue = `${stack.taskQueue}-midway`;
    let arrive!: () => void;
    let open!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    let pages = 0;
    const real = stack.activities();
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await createChimeWorker({
      connection,
      namespace: 'default',
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: {
        ...real,
        async deliverSchedulePage(request) {
          if (++pages === 1) {
            // The first page reads the schedule, then waits here while the test pauses and edits it.
            const result = real.deliverSchedulePage(request);
            arrive();
            await opened;
            return result;
          }
          return real.deliverSchedulePage(request);
        },
      },
    });
    const running = worker.run();
    try {
      const service = createScheduleService({
        workflows: stack.client.workflow,
        taskQueue,
        persistence: createSchedulePersistence(stack.database.db),
        fanout: { pageSize: 5, maxPagesInFlight: 1 },
      });
      for (let i = 0; i < 20; i++) {
        const id = `mid${String(i).padStart(2, '0')}`;
        await stack.api.users.putPreferences(id, { timeZone: 'UTC', contacts: { email: { address: `${id}@example.com`, verified: true } } });
        await stack.api.users.setTags(id, ['midway']);
      }
      const actor = { tenantId: stack.tenantId };
      const firesAt = Math.ceil((Date.now() + 3_000) / 1_000) * 1_000;
      const schedule = await service.create(actor, {
        name: 'Midway',
        recurrence: { dtstart: new Date(firesAt).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
        audience: { filter: { tags: { all: ['midway'] } } },
        content: { title: 'Before the edit', body: '' },
      });
      await reached;
      expect((await service.pause(actor, schedule.id)).status).toBe('paused');
      await service.edit(actor, schedule.id, { content: { title: 'After the edit', body: '' } });
      open();
      const mails = () => stack.smtp.received.filter((m) => m.to.some((to) => to.startsWith('mid')));
      // The page in flight finishes; no page starts while paused.
      const paused = await eventually(async () => {
        const view = await service.get(actor, schedule.id);
        return view.fanout?.pagesDone === 1 ? view : undefined;
      });
      expect(paused).toMatchObject({ status: 'paused', fanout: { pagesDone: 1, recipientsProcessed: 5 } });
      expect(mails()).toHaveLength(5);
      expect(pages).toBe(1);

      await service.resume(actor, schedule.id);
      await eventually(async () => (mails().length === 20 ? true : undefined), 30_000);
      // A page records its decisions and counts after the SMTP server has the mails: wait for the run to complete.
      const runs = await eventually(async () => {
        const latest = await service.runs(actor, schedule.id, 5);
        return latest[0]?.completed ? latest : undefined;
      });
      expect(runs).toEqual([expect.objectContaining({ targeted: 20, sent: 20, completed: true })]);
      expect(new Set(mails().map((m) => m.to.join())).size).toBe(20);
      const subjects = mails().map((m) => m.headers.subject);
      expect(subjects.filter((s) => s === 'Before the edit')).toHaveLength(5);
      expect(subjects.filter((s) => s === 'After the edit')).toHaveLength(15);
      await recordHistory('schedule-paused-mid-fanout', stack.client.workflow.getHandle(schedule.workflowId));
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});
