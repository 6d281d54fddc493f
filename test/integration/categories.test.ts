/**
 * Category policies through the public API, and at send time on the real dev server: a policy the
 * tenant sets for a category after a reminder was scheduled decides that reminder's occurrence,
 * unless the reminder's own policy says otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChimeApiError, createChimeClient, type Reminder } from '../../src/client/index.js';
import { reminderStateQuery, type reminderWorkflow } from '../../workflows/reminder.js';
import { eventually } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

async function rejection(promise: Promise<unknown>): Promise<ChimeApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChimeApiError);
  return error as ChimeApiError;
}

/** Quiet hours around now, in UTC, as 'HH:mm'. */
const hhmm = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().slice(11, 16);

async function quietNow(userId: string) {
  const response = await stack.app.inject({
    method: 'PUT',
    url: `/v1/users/${userId}/preferences`,
    headers: { authorization: `Bearer ${stack.adminKey}` },
    payload: {
      timeZone: 'UTC',
      contacts: { email: { address: `${userId}@example.com`, verified: true } },
      quietHours: { default: { start: hhmm(-5 * 60_000), end: hhmm(30 * 60_000) } },
    },
  });
  expect(response.statusCode, response.body).toBe(200);
}

describe('category policies API', () => {
  it('creates (201), replaces (200), reads, lists and removes a category, showing the effective policy', async () => {
    const created = await stack.app.inject({
      method: 'PUT',
      url: '/v1/categories/marketing',
      headers: { authorization: `Bearer ${stack.adminKey}` },
      payload: { policy: { quietHours: 'skip', expireAfterMs: 3 * 3_600_000 }, description: 'Offers' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      category: 'marketing',
      description: 'Offers',
      policy: { quietHours: 'skip', expireAfterMs: 10_800_000 },
      effectivePolicy: { quietHours: 'skip', expireAfterMs: 10_800_000, collapse: true },
    });
    const replaced = await stack.api.categories.put('marketing', { policy: { collapse: false } });
    expect(replaced).toMatchObject({ policy: { collapse: false }, effectivePolicy: { quietHours: 'defer', collapse: false } });
    expect(replaced.description).toBeUndefined();
    expect(await stack.api.categories.get('marketing')).toEqual(replaced);

    await stack.api.categories.put('news', { policy: {} });
    const all: string[] = [];
    for await (const c of stack.api.categories.list({ limit: 1 })) all.push(c.category);
    expect(all).toEqual(expect.arrayContaining(['marketing', 'news']));
    expect(new Set(all).size).toBe(all.length);

    await stack.api.categories.remove('news');
    expect(await rejection(stack.api.categories.get('news'))).toMatchObject({ status: 404, type: 'urn:chime:problem:not-found' });
    expect(await rejection(stack.api.categories.remove('news'))).toMatchObject({ status: 404 });
  });

  it('lets a user-scoped key read categories but not change them', async () => {
    await stack.api.categories.put('billing', { policy: { quietHours: 'bypass' } });
    const user = createChimeClient({ baseUrl: stack.url, apiKey: await stack.createKey({ userId: 'uma' }), maxRetries: 0 });
    expect(await user.categories.get('billing')).toMatchObject({ policy: { quietHours: 'bypass' } });
    expect(await rejection(user.categories.put('billing', { policy: { quietHours: 'skip' } }))).toMatchObject({ status: 403 });
    expect(await rejection(user.categories.remove('billing'))).toMatchObject({ status: 403 });
    expect(await stack.api.categories.get('billing')).toMatchObject({ policy: { quietHours: 'bypass' } });
  });

  it('names the field of an invalid policy or category name, as problem+json', async () => {
    const badPolicy = await rejection(stack.api.categories.put('digest', { policy: { quietHours: 'later' } } as never));
    expect(badPolicy.status).toBe(400);
    expect(badPolicy.errors[0]?.field).toMatch(/policy\.quietHours|policy\/quietHours/);
    const badName = await rejection(stack.api.categories.put('Not A Name', { policy: {} }));
    expect(badName.status).toBe(400);
    expect(badName.errors[0]?.field).toMatch(/category/);
  });

  it('keeps tenants apart', async () => {
    await stack.api.categories.put('secret', { policy: { quietHours: 'skip' } });
    const other = createChimeClient({ baseUrl: stack.url, apiKey: await stack.createKey({ tenantId: 'globex' as never }), maxRetries: 0 });
    expect(await rejection(other.categories.get('secret'))).toMatchObject({ status: 404 });
  });
});

describe('category policies at send time', () => {
  const handleOf = (r: Reminder) => stack.client.workflow.getHandle<typeof reminderWorkflow>(r.workflowId);
  const remind = (userId: string, category: string, policy?: object) =>
    stack.api.reminders.create({
      userId,
      email: `${userId}@example.com`,
      title: 'Flash sale',
      body: '',
      category,
      ...(policy ? { policy } : {}),
      recurrence: { dtstart: utcWallTime(4_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });

  it('skips in quiet hours when the category says skip — set after the reminder was scheduled', async () => {
    const reminder = await remind('vera', 'flash');
    await quietNow('vera');
    await stack.api.categories.put('flash', { policy: { quietHours: 'skip' } });
    const result = await handleOf(reminder).result();
    expect(result.decisions).toEqual([
      expect.objectContaining({
        kind: 'skipped',
        channels: [expect.objectContaining({ channel: 'email', outcome: 'skipped', reason: 'quiet_hours' })],
      }),
    ]);
    expect(stack.smtp.received.filter((m) => m.to.includes('vera@example.com'))).toEqual([]);
  });

  it("lets the reminder's own policy win over its category's", async () => {
    await stack.api.categories.put('flash-override', { policy: { quietHours: 'skip' } });
    const reminder = await remind('walt', 'flash-override', { quietHours: 'defer' });
    await quietNow('walt');
    const state = await eventually(async () => {
      const s = await handleOf(reminder).query(reminderStateQuery);
      return s.decisions.length > 0 ? s : undefined;
    });
    expect(state.decisions[0]).toMatchObject({ kind: 'deferred', explanation: expect.stringMatching(/quiet hours/i) });
    await stack.api.reminders.cancel(reminder.id);
  });

  it('previews with the same layering as the workflow', async () => {
    await quietNow('xena');
    await stack.api.categories.put('flash-preview', { policy: { quietHours: 'skip' } });
    const rule = { dtstart: utcWallTime(60_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' };
    const preview = await stack.api.preview({ userId: 'xena', recurrence: rule, category: 'flash-preview', count: 1 });
    expect(preview.occurrences[0]).toMatchObject({ outcome: 'skipped' });
    const overridden = await stack.api.preview({ userId: 'xena', recurrence: rule, category: 'flash-preview', policy: { quietHours: 'defer' }, count: 1 });
    expect(overridden.occurrences[0]).toMatchObject({ outcome: 'deferred' });
  });
});
