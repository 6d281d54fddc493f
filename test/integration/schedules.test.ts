/**
 * Audience schedules through the API on the real dev server: the resource (admin writes, clear
 * errors, preview per zone), and a fan-out to a tag-filtered audience across zones with half-hour
 * and 45-minute offsets — each recipient served once per occurrence through the delivery ledger,
 * the run's counters in step, and nothing for users outside the audience.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChimeClient } from '../../src/client/index.js';
import { eventually } from '../support/histories.js';
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
