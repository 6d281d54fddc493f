/**
 * A weekly digest, Mondays 09:00 in each recipient's local time, to 10,000 users over 32 zones —
 * half-hour and 45-minute offsets, New York the day after its spring-forward, both sides of the date
 * line — and a user who flies from Tokyo to New York between the two buckets. On the time-skipping
 * server with a real SMTP server: every recipient gets exactly one email at their local 09:00,
 * checked by the Chronos-style checker against instants computed here, independently of Chime's
 * recurrence engine; one workflow, and its history stays under the stated bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Temporal } from 'temporal-polyfill';
import { sql } from 'kysely';
import { ScheduleId, UserId } from '../../src/domain/ids.js';
import { createSchedulePersistence } from '../../src/schedules/persistence.js';
import { createScheduleService } from '../../src/schedules/service.js';
import type { scheduleWorkflow } from '../../workflows/schedule.js';
import { checkDeliveries, type ActualDelivery } from '../support/chronos.js';
import { recordHistory } from '../support/histories.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping.js';
import { AUDIENCE_ZONES } from '../support/zones.js';

const ZONES = AUDIENCE_ZONES;
const USERS = 10_000;
/** Users with no zone of their own get the digest at 09:00 in the rule's zone (UTC). */
const WITHOUT_ZONE = 100;
const MONDAY = '2027-03-15'; // New York sprang forward the day before
const PAGE_SIZE = 200;

let stack: TimeSkippingStack;
beforeAll(async () => {
  stack = await startTimeSkippingStack('timeskipping-fanout');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const userId = (i: number) => `r${String(i).padStart(5, '0')}`;
const zoneOf = (i: number) => (i < WITHOUT_ZONE ? undefined : ZONES[i % ZONES.length]!);
const nineAm = (zone: string) => Temporal.PlainDateTime.from(`${MONDAY}T09:00:00`).toZonedDateTime(zone).epochMilliseconds;

describe('an audience schedule across every zone (time-skipping)', () => {
  it('delivers the Monday digest once to each of 10,000 recipients at 09:00 their time', { timeout: 600_000 }, async () => {
    const tenantId = stack.tenantId;
    await stack.stores.tenants.ensure({ id: tenantId, name: 'acme' });
    for (let start = 0; start < USERS; start += 1_000) {
      await stack.database.db
        .insertInto('users')
        .values(
          Array.from({ length: Math.min(1_000, USERS - start) }, (_, k) => {
            const i = start + k;
            const zone = zoneOf(i);
            return {
              tenant_id: tenantId,
              id: UserId(userId(i)),
              preferences: JSON.stringify({ ...(zone ? { timeZone: zone } : {}), contacts: { email: { address: `${userId(i)}@example.com`, verified: true } } }),
              tags: ['digest'],
              updated_at: new Date(),
            };
          }),
        )
        .execute();
    }
    const mover = userId(ZONES.indexOf('Asia/Tokyo') + ZONES.length * 10); // a Tokyo user
    expect(zoneOf(Number(mover.slice(1)))).toBe('Asia/Tokyo');

    // The schedule is created the Friday before (skipped time is global: nothing else runs yet).
    await stack.env.sleep(Date.parse(`2027-03-12T12:00:00Z`) - (await stack.env.currentTimeMs()));
    const schedules = createScheduleService({ workflows: stack.env.client.workflow, taskQueue: stack.taskQueue, persistence: createSchedulePersistence(stack.database.db) });
    const actor = { tenantId };
    const schedule = await schedules.create(actor, {
      name: 'Weekly digest',
      recurrence: { dtstart: `${MONDAY}T09:00:00`, tzid: 'UTC', rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=1' },
      audience: { filter: { tags: { all: ['digest'] } } },
      content: { title: 'Your week', body: 'Everything that happened.' },
    });
    const preview = await schedules.preview(actor, schedule.id, 40);
    expect(preview.zones).toHaveLength(ZONES.length); // UTC holds the zone-less users too
    expect(preview.buckets.flatMap((b) => b.members).reduce((n, m) => n + m.recipients, 0)).toBe(USERS);

    const handle = stack.env.client.workflow.getHandle<typeof scheduleWorkflow>(schedule.workflowId);
    await stack.run(async () => {
      // Tokyo's 09:00 (00:00Z) has gone out; New York's (13:00Z) has not: the mover lands in New York.
      const ms = Date.parse(`${MONDAY}T05:00:00Z`) - (await stack.env.currentTimeMs());
      await stack.env.sleep(ms);
      await stack.database.db
        .updateTable('users')
        .set({ preferences: sql`jsonb_set(preferences, '{timeZone}', '"America/New_York"')` })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', UserId(mover))
        .execute();
      await handle.result();
    });

    // The provider's view: one message per recipient, none twice.
    const keys = stack.smtp.received.map((m) => m.headers['x-chime-idempotency-key']);
    expect(new Set(keys).size).toBe(USERS);
    expect(keys).toHaveLength(USERS);
    expect(new Set(stack.smtp.received.map((m) => m.to.join(','))).size).toBe(USERS);

    // Chronos: each recipient's expected instant — 09:00 on that Monday in their zone, computed here —
    // against the recorded decisions (each user is a "channel" of its own).
    const decisions = await stack.database.db
      .selectFrom('occurrence_decisions')
      .select(['user_id', 'kind', 'occurrence_at', 'decided_at'])
      .where('tenant_id', '=', tenantId)
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .execute();
    expect(decisions.every((d) => d.kind === 'sent')).toBe(true);
    const actual: ActualDelivery[] = decisions.map((d) => ({ channel: d.user_id, occurrenceAt: d.occurrence_at.getTime(), sentAt: d.decided_at.getTime() }));
    const byExpected = new Map<number, string[]>();
    for (let i = 0; i < USERS; i++) {
      const at = nineAm(zoneOf(i) ?? 'UTC');
      byExpected.set(at, [...(byExpected.get(at) ?? []), userId(i)]);
    }
    for (const [at, users] of byExpected) {
      const report = checkDeliveries([at], users, actual.filter((a) => users.includes(a.channel)), 60_000);
      expect(report, `recipients due at ${new Date(at).toISOString()}`).toEqual({ missing: [], extra: [], late: [] });
    }
    expect(new Date(nineAm('America/New_York')).toISOString()).toBe(`${MONDAY}T13:00:00.000Z`); // EDT, not EST

    // One workflow for the whole audience, and a history bounded by its buckets and pages.
    const runs = await schedules.runs(actor, schedule.id, 100);
    expect(runs.reduce((n, r) => n + r.targeted, 0)).toBe(USERS);
    const buckets = new Set(byExpected.keys()).size;
    const pages = ZONES.length + Math.ceil(USERS / PAGE_SIZE);
    const events = (await handle.fetchHistory()).events?.length ?? 0;
    const bound = 20 * buckets + 6 * pages; // README: ≤ 20 per bucket + 6 per page
    console.log(`fan-out: ${USERS} recipients, ${ZONES.length} zones, ${buckets} buckets, ${events} history events (bound ${bound})`);
    expect(events).toBeLessThanOrEqual(bound);
  });

  it('defers recipients whose quiet hours cover 09:00 to their end, then serves them once, and counts it in the run', { timeout: 120_000 }, async () => {
    const tenantId = stack.tenantId;
    const ids = Array.from({ length: 12 }, (_, i) => `q${String(i).padStart(2, '0')}`);
    await stack.stores.tenants.ensure({ id: tenantId, name: 'acme' });
    for (const [i, id] of ids.entries()) {
      await stack.stores.users.ensure(tenantId, UserId(id));
      await stack.stores.users.modifyPreferences(tenantId, UserId(id), () => ({
        timeZone: 'Europe/Paris',
        contacts: { email: { address: `${id}@example.com`, verified: true } },
        // A third sleep in on Tuesdays until 10:00.
        ...(i % 3 === 0 ? { quietHours: { default: null, weekdays: { mon: { start: '22:00', end: '10:00' } } } } : {}),
      }));
      await stack.stores.users.setTags(tenantId, UserId(id), ['late-risers']);
    }
    const schedules = createScheduleService({ workflows: stack.env.client.workflow, taskQueue: stack.taskQueue, persistence: createSchedulePersistence(stack.database.db) });
    const actor = { tenantId };
    const day = new Date((await stack.env.currentTimeMs()) + 7 * 86_400_000).toISOString().slice(0, 10);
    const schedule = await schedules.create(actor, {
      name: 'Tuesday tips',
      recurrence: { dtstart: `${day}T09:00:00`, tzid: 'UTC', rrule: 'FREQ=WEEKLY;BYDAY=TU;COUNT=1' },
      audience: { filter: { tags: { all: ['late-risers'] } } },
      content: { title: 'Tips', body: '' },
    });
    const handle = stack.env.client.workflow.getHandle<typeof scheduleWorkflow>(schedule.workflowId);
    await stack.run(() => handle.result());
    await recordHistory('schedule-fanout-with-deferrals', handle);

    const [run] = await schedules.runs(actor, schedule.id, 5);
    expect(run).toMatchObject({ targeted: 12, sent: 12, deferred: 4, failed: 0, completed: true });
    const decisions = await stack.database.db
      .selectFrom('occurrence_decisions')
      .select(['user_id', 'kind', 'sequence', 'decided_at', 'deferred_until'])
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .orderBy('user_id')
      .orderBy('sequence')
      .execute();
    const deferred = decisions.filter((d) => d.kind === 'deferred');
    expect(deferred).toHaveLength(4);
    for (const d of deferred) {
      const sent = decisions.find((s) => s.user_id === d.user_id && s.sequence === 1);
      expect(sent?.kind).toBe('sent');
      expect(sent!.decided_at.getTime()).toBeGreaterThanOrEqual(d.deferred_until!.getTime());
      expect(sent!.decided_at.getTime() - d.deferred_until!.getTime()).toBeLessThan(60_000);
    }
    const mails = stack.smtp.received.filter((m) => m.to.some((to) => to.startsWith('q')));
    expect(new Set(mails.map((m) => m.to.join()))).toEqual(new Set(ids.map((id) => `${id}@example.com`)));
    expect(mails).toHaveLength(12);
  });

  it('spreads a bucket over its smoothing window: page n starts n intervals after the bucket fires', { timeout: 120_000 }, async () => {
    const tenantId = stack.tenantId;
    await stack.stores.tenants.ensure({ id: tenantId, name: 'acme' });
    for (let i = 0; i < 6; i++) {
      const id = UserId(`smooth${i}`);
      await stack.stores.users.ensure(tenantId, id);
      await stack.stores.users.modifyPreferences(tenantId, id, () => ({ timeZone: 'UTC', contacts: { email: { address: `${id}@example.com`, verified: true } } }));
      await stack.stores.users.setTags(tenantId, id, ['smooth']);
    }
    const schedules = createScheduleService({
      workflows: stack.env.client.workflow,
      taskQueue: stack.taskQueue,
      persistence: createSchedulePersistence(stack.database.db),
      fanout: { pageSize: 2, maxPagesInFlight: 1 },
    });
    const day = new Date((await stack.env.currentTimeMs()) + 2 * 86_400_000).toISOString().slice(0, 10);
    const schedule = await schedules.create({ tenantId }, {
      name: 'Smooth',
      recurrence: { dtstart: `${day}T12:00:00`, tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
      audience: { filter: { tags: { all: ['smooth'] } } },
      content: { title: 'Smooth', body: '' },
      smoothingMs: 60_000,
    });
    await stack.run(() => stack.env.client.workflow.getHandle<typeof scheduleWorkflow>(schedule.workflowId).result());
    const decided = await stack.database.db
      .selectFrom('occurrence_decisions')
      .select(['user_id', 'decided_at'])
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .orderBy('user_id')
      .execute();
    // Three pages of two, 60 s / 3 = 20 s apart.
    const offsets = decided.map((d) => Math.round((d.decided_at.getTime() - Date.parse(`${day}T12:00:00Z`)) / 1_000));
    expect(offsets).toEqual([0, 0, 20, 20, 40, 40]);
  });

  it('continues as new through a long series of buckets, neither losing nor repeating one', { timeout: 300_000 }, async () => {
    const tenantId = stack.tenantId;
    await stack.stores.tenants.ensure({ id: tenantId, name: 'acme' });
    const id = UserId('minutely');
    await stack.stores.users.ensure(tenantId, id);
    await stack.stores.users.modifyPreferences(tenantId, id, () => ({ timeZone: 'Asia/Kathmandu', contacts: { email: { address: 'minutely@example.com', verified: true } } }));
    await stack.stores.users.setTags(tenantId, id, ['minutely']);
    const schedules = createScheduleService({ workflows: stack.env.client.workflow, taskQueue: stack.taskQueue, persistence: createSchedulePersistence(stack.database.db) });
    const day = new Date((await stack.env.currentTimeMs()) + 2 * 86_400_000).toISOString().slice(0, 10);
    const schedule = await schedules.create({ tenantId }, {
      name: 'Every minute',
      recurrence: { dtstart: `${day}T08:00:00`, tzid: 'UTC', rrule: 'FREQ=MINUTELY;COUNT=160' },
      audience: { filter: { tags: { all: ['minutely'] } } },
      content: { title: 'Tick', body: '' },
    });
    const handle = stack.env.client.workflow.getHandle<typeof scheduleWorkflow>(schedule.workflowId);
    const { runId: firstRun } = await handle.describe();
    await stack.run(() => handle.result());
    const { runId: lastRun } = await handle.describe();
    expect(lastRun).not.toBe(firstRun);
    const mails = stack.smtp.received.filter((m) => m.to.includes('minutely@example.com'));
    expect(mails).toHaveLength(160);
    expect(new Set(mails.map((m) => m.headers['x-chime-idempotency-key'])).size).toBe(160);
  });
});
