/**
 * The big audience on the real dev server, in real time: 10,000 users over 32 zones (half-hour and
 * 45-minute offsets, both sides of the date line) and a schedule firing on a minute boundary in each
 * recipient's local time — a boundary is the same instant in every one of these zones, so one
 * bucket holds all 32, each at its own local time. Every recipient gets exactly one email, at that
 * instant, checked by the Chronos-style checker; one workflow with a bounded history. (That the
 * local time is right across DST and the date line is checked on the time-skipping server, where
 * the 26 hours of a Monday 09:00 wave can pass: test/timeskipping/audience-fanout.test.ts.)
 * PGlite only: CI runs this once (the PostgreSQL run covers the same code at a small scale).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleId, UserId } from '../../src/domain/ids.js';
import { createSchedulePersistence } from '../../src/schedules/persistence.js';
import { createScheduleService } from '../../src/schedules/service.js';
import { checkDeliveries } from '../support/chronos.js';
import { testDatabaseKind } from '../support/database.js';
import { eventually } from '../support/histories.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { AUDIENCE_ZONES } from '../support/zones.js';

const ZONES = AUDIENCE_ZONES;
const USERS = 10_000;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe.skipIf(testDatabaseKind() !== 'pglite')('an audience of 10,000 over 32 zones (dev server)', () => {
  it('delivers one occurrence to each recipient exactly once, at the instant it falls due', { timeout: 300_000 }, async () => {
    const tenantId = stack.tenantId;
    await stack.database.db.insertInto('tenants').values({ id: tenantId, name: 'acme' }).onConflict((oc) => oc.doNothing()).execute();
    for (let start = 0; start < USERS; start += 2_000) {
      await stack.database.db
        .insertInto('users')
        .values(
          Array.from({ length: 2_000 }, (_, k) => {
            const id = `big${String(start + k).padStart(5, '0')}`;
            return {
              tenant_id: tenantId,
              id: UserId(id),
              preferences: JSON.stringify({ timeZone: ZONES[(start + k) % ZONES.length], contacts: { email: { address: `${id}@example.com`, verified: true } } }),
              tags: ['big'],
              updated_at: new Date(),
            };
          }),
        )
        .execute();
    }
    const schedules = createScheduleService({ workflows: stack.client.workflow, taskQueue: stack.taskQueue, persistence: createSchedulePersistence(stack.database.db) });
    const firesAt = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000; // a minute boundary at least 20 s away
    const schedule = await schedules.create({ tenantId }, {
      name: 'Big minute',
      recurrence: { dtstart: '2026-01-01T00:00:00', tzid: 'UTC', rrule: 'FREQ=MINUTELY' },
      audience: { filter: { tags: { all: ['big'] } } },
      content: { title: 'Big', body: '' },
      // One bucket: the schedule's window holds this minute only.
      startsAt: new Date(firesAt - 30_000).toISOString(),
      endsAt: new Date(firesAt + 30_000).toISOString(),
    });
    const preview = await schedules.preview({ tenantId }, schedule.id, 1);
    expect(preview.buckets[0]?.firesAt).toBe(new Date(firesAt).toISOString());
    expect(preview.buckets[0]?.members).toHaveLength(ZONES.length);

    const received = () => stack.smtp.received.filter((m) => m.to[0]?.startsWith('big'));
    await eventually(async () => (received().length >= USERS ? true : undefined), 240_000);
    await stack.client.workflow.getHandle(schedule.workflowId).result(); // the window is over: the workflow ends

    const mails = received();
    expect(new Set(mails.map((m) => m.to[0])).size).toBe(USERS);
    expect(mails).toHaveLength(USERS);
    const decisions = await stack.database.db
      .selectFrom('occurrence_decisions')
      .select(['user_id', 'occurrence_at', 'decided_at'])
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .where('occurrence_at', '=', new Date(firesAt))
      .execute();
    const users = Array.from({ length: USERS }, (_, i) => `big${String(i).padStart(5, '0')}`);
    const report = checkDeliveries(
      [firesAt],
      users,
      decisions.map((d) => ({ channel: d.user_id, occurrenceAt: d.occurrence_at.getTime(), sentAt: d.decided_at.getTime() })),
      180_000, // the whole wave, page by page, on a loaded 2-core CI machine; never before it is due
    );
    const lastAfterMs = Math.max(...decisions.map((d) => d.decided_at.getTime())) - firesAt;
    expect({ missing: report.missing.length, extra: report.extra.length, late: report.late.length }).toEqual({ missing: 0, extra: 0, late: 0 });
    const runs = await schedules.runs({ tenantId }, schedule.id, 100);
    const atFirst = runs.filter((r) => r.firstFiresAt === new Date(firesAt).toISOString());
    expect(atFirst.reduce((n, r) => n + r.targeted, 0)).toBe(USERS);
    const events = (await stack.client.workflow.getHandle(schedule.workflowId).fetchHistory()).events?.length ?? 0;
    const bound = 20 * 1 + 6 * (ZONES.length + Math.ceil(USERS / 200)); // README: ≤ 20 per bucket + 6 per page
    console.log(`audience at scale (dev server): ${USERS} recipients, ${ZONES.length} zones, one bucket, last recipient decided ${(lastAfterMs / 1000).toFixed(1)} s after it fell due, ${events} history events (bound ${bound})`);
    expect(events).toBeLessThanOrEqual(bound);
  });
});
