/**
 * The user's zone and preferences as a client of the API sees them, on the real dev server: a
 * follow-user reminder uses the user's zone from its first plan (create, read, preview and the
 * workflow agree); a snooze cannot move an occurrence earlier; a partial preference update never
 * loses a contact point; only changes a reminder acts on wake it; a stale signal cannot move a zone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferencesChangedSignal, reminderStateQuery, type reminderWorkflow } from '../../workflows/reminder.js';
import { createChimeClient, type Reminder } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { TenantId } from '../../src/domain/ids.js';
import { createApi } from '../../src/entry/runtime.js';
import { eventually, plannedState } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const handleOf = (r: Reminder) => stack.client.workflow.getHandle<typeof reminderWorkflow>(r.workflowId);
const signalsIn = async (r: Reminder) =>
  ((await handleOf(r).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;

describe("the user's zone", () => {
  it('plans a follow-user reminder in the user’s zone from the start: create, read, preview and the workflow agree', async () => {
    await stack.api.users.putPreferences('hana', { timeZone: 'Asia/Tokyo' });
    const created = await stack.api.reminders.create({
      userId: 'hana',
      email: 'hana@example.com',
      title: 'Tea',
      body: '',
      zoneMode: 'follow-user',
      recurrence: { dtstart: '2026-01-05T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
    });
    // 09:00 in Tokyo is 00:00Z, not the rule's 09:00 Paris (08:00Z).
    expect(created.timeZone).toBe('Asia/Tokyo');
    expect(created.upcoming[0]?.utc).toMatch(/T00:00:00Z$/);
    const read = await stack.api.reminders.get(created.id);
    expect(read.upcoming[0]).toEqual(created.upcoming[0]);
    const preview = await stack.api.reminders.preview(created.id, 1);
    expect(preview.occurrences[0]?.utc).toBe(created.upcoming[0]?.utc);
    const state = await plannedState(() => handleOf(created).query(reminderStateQuery));
    expect(state.next.utc).toBe(created.upcoming[0]?.utc);
    expect(state.userTimeZone).toBe('Asia/Tokyo');
  });

  it('ignores a zone carried by a stale signal: the workflow reads the zone the database holds', async () => {
    await stack.api.users.putPreferences('omar', { timeZone: 'America/New_York' });
    const reminder = await stack.api.reminders.create({
      userId: 'omar',
      email: 'omar@example.com',
      title: 'Call home',
      body: '',
      zoneMode: 'follow-user',
      recurrence: { dtstart: '2026-01-05T18:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' },
    });
    await plannedState(() => handleOf(reminder).query(reminderStateQuery));
    // A signal from before a move, delivered late, naming the old zone.
    await handleOf(reminder).signal(preferencesChangedSignal, { timeZone: 'Asia/Tokyo' });
    const edited = await stack.api.reminders.edit(reminder.id, { content: { title: 'Call home', body: 'Sunday.' } });
    expect(edited.next?.local).toMatch(/T18:00:00-0[45]:00$/);
    expect((await handleOf(reminder).query(reminderStateQuery)).userTimeZone).toBe('America/New_York');
  });
});

describe('snooze', () => {
  it('refuses an `until` before the occurrence it postpones with a 400 naming the field', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'ruth',
      email: 'ruth@example.com',
      title: 'Renew the passport',
      body: '',
      recurrence: { dtstart: utcWallTime(5 * 7 * 86_400_000), tzid: 'UTC', rrule: 'FREQ=WEEKLY' },
    });
    await plannedState(() => handleOf(reminder).query(reminderStateQuery));
    const tomorrow = new Date(Date.now() + 86_400_000);
    await expect(stack.api.reminders.snooze(reminder.id, tomorrow)).rejects.toMatchObject({
      status: 400,
      errors: [{ field: 'body.until', reason: expect.stringMatching(/after the occurrence it postpones/) }],
    });
    expect((await handleOf(reminder).query(reminderStateQuery)).snoozedUntil).toBeUndefined();
  });
});

describe('preferences', () => {
  it('keeps the email a reminder was created with when a PUT does not mention contacts, and delivers to it', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'ada',
      email: 'ada@example.com',
      title: 'Stand-up',
      body: 'In 10 minutes.',
      recurrence: { dtstart: utcWallTime(2_500), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    const user = await stack.api.users.putPreferences('ada', { timeZone: 'Europe/Paris' });
    expect(user.preferences.contacts.email).toEqual({ address: 'ada@example.com', verified: true });
    const result = await handleOf(reminder).result();
    expect(result.decisions).toEqual([expect.objectContaining({ kind: 'delivered', channels: [expect.objectContaining({ outcome: 'sent' })] })]);
    expect(stack.smtp.received.filter((m) => m.to.includes('ada@example.com'))).toHaveLength(1);
  });

  it('still replaces contacts a PUT does give', async () => {
    await stack.api.users.putPreferences('bea', { timeZone: 'UTC', contacts: { email: { address: 'bea@example.com', verified: true } } });
    const user = await stack.api.users.putPreferences('bea', { timeZone: 'UTC', contacts: {} });
    expect(user.preferences.contacts).toEqual({});
  });

  it('merges a PATCH (RFC 7396) into the stored preferences: given members replace, null removes, the rest stays', async () => {
    const put = await stack.api.users.putPreferences('cyd', {
      timeZone: 'Europe/Berlin',
      locale: 'de-DE',
      contacts: { email: { address: 'cyd@example.com', verified: true } },
      quietHours: { default: { start: '22:00', end: '07:00' } },
      optOuts: { digest: 'all' },
    });
    const patched = await stack.api.users.patchPreferences(
      'cyd',
      { quietHours: null, optOuts: { marketing: ['sms'] }, contacts: { sms: { number: '+4915112345678', verified: true } } },
      { ifMatch: put.version },
    );
    expect(patched.version).toBe(put.version + 1);
    expect(patched.preferences).toMatchObject({
      timeZone: 'Europe/Berlin',
      locale: 'de-DE',
      quietHours: null,
      optOuts: { digest: 'all', marketing: ['sms'] },
      contacts: { email: { address: 'cyd@example.com', verified: true }, sms: { number: '+4915112345678', verified: true } },
    });
  });

  it('refuses a PATCH from a stale version with 409 and an invalid merged result with 400 naming the field', async () => {
    const put = await stack.api.users.putPreferences('dov', { timeZone: 'UTC' });
    await stack.api.users.patchPreferences('dov', { locale: 'fr' });
    await expect(stack.api.users.patchPreferences('dov', { locale: 'it' }, { ifMatch: put.version })).rejects.toMatchObject({ status: 409 });
    await expect(stack.api.users.patchPreferences('dov', { timeZone: 'Mars/Olympus' })).rejects.toMatchObject({
      status: 400,
      errors: [{ field: 'body.timeZone', reason: expect.any(String) }],
    });
    expect((await stack.api.users.get('dov')).preferences).toMatchObject({ timeZone: 'UTC', locale: 'fr' });
  });

  it('accepts the merge-patch media type as sent by any HTTP client', async () => {
    const response = await stack.app.inject({
      method: 'PATCH',
      url: '/v1/users/eli/preferences',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ timeZone: 'Asia/Seoul' }),
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers.etag).toBe(`"${response.json<{ version: number }>().version}"`);
  });

  it('wakes the user’s reminders only for a change they act on (zone, quiet hours, channels, opt-outs)', async () => {
    await stack.api.users.putPreferences('fay', { timeZone: 'UTC' });
    const reminder = await stack.api.reminders.create({
      userId: 'fay',
      email: 'fay@example.com',
      title: 'Plants',
      body: '',
      recurrence: { dtstart: '2026-01-05T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' },
    });
    await stack.api.users.patchPreferences('fay', { locale: 'fr-FR' });
    await stack.api.users.patchPreferences('fay', { contacts: { sms: { number: '+33612345678', verified: true } } });
    expect(await signalsIn(reminder)).toBe(0);
    await stack.api.users.patchPreferences('fay', { quietHours: { default: { start: '23:00', end: '06:00' } } });
    await eventually(async () => ((await signalsIn(reminder)) === 1 ? true : undefined));
  });
});

describe('who may vouch for a contact point', () => {
  it('lets a user key set its own contact points unverified only; an admin key verifies; a verified one the user keeps as is stays', async () => {
    const user = createChimeClient({ baseUrl: stack.url, apiKey: await stack.createKey({ userId: 'vouch' }), maxRetries: 0 });
    await expect(user.users.putPreferences('vouch', { timeZone: 'UTC', contacts: { sms: { number: '+33612345678', verified: true } } })).rejects.toMatchObject({
      status: 403,
      errors: [{ field: 'body.contacts.sms.verified', reason: expect.stringMatching(/only an admin key/) }],
    });
    await user.users.putPreferences('vouch', { timeZone: 'UTC', contacts: { sms: { number: '+33612345678', verified: false } } });
    await expect(user.users.patchPreferences('vouch', { contacts: { sms: { verified: true } } })).rejects.toMatchObject({ status: 403 });
    await stack.api.users.patchPreferences('vouch', { contacts: { sms: { verified: true } } });
    // Kept as it is (same number, still verified): allowed; moved to another number: refused as verified.
    await user.users.patchPreferences('vouch', { quietHours: { default: { start: '22:00', end: '07:00' } } });
    await expect(user.users.patchPreferences('vouch', { contacts: { sms: { number: '+33699999999' } } })).rejects.toMatchObject({ status: 403 });
    // A reminder a user key creates brings its email unverified: nothing is sent to it until the tenant verifies it.
    await user.reminders.create({ userId: 'vouch', email: 'vouch@example.com', title: 'x', body: '', recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' } });
    expect((await stack.api.users.get('vouch')).preferences.contacts.email).toEqual({ address: 'vouch@example.com', verified: false });
  });

  it('limits the new SMS destinations a tenant sets in a day; numbers it set before do not count', async () => {
    const app = await createApi({
      config: loadConfig({ CHIME_TASK_QUEUE: stack.taskQueue, CHIME_LOG_LEVEL: 'silent', CHIME_SMS_NEW_DESTINATIONS_PER_DAY: '2' }),
      workflows: stack.client.workflow,
      storage: stack.database,
      checkReady: async () => {},
    });
    try {
      const tenant = TenantId('pumped');
      const key = await stack.createKey({ tenantId: tenant });
      const put = (user: string, number: string) =>
        app.inject({ method: 'PUT', url: `/v1/users/${user}/preferences`, headers: { authorization: `Bearer ${key}` }, payload: { timeZone: 'UTC', contacts: { sms: { number, verified: true } } } });
      expect((await put('p1', '+15005550001')).statusCode).toBe(200);
      expect((await put('p2', '+15005550002')).statusCode).toBe(200);
      const third = await put('p3', '+15005550003');
      expect(third.statusCode).toBe(429);
      expect(third.json()).toMatchObject({ type: 'urn:chime:problem:rate-limited', errors: [{ field: 'body.contacts.sms.number' }] });
      expect((await put('p3', '+15005550001')).statusCode).toBe(200); // a number the tenant set before
      const stored = await stack.database.db.selectFrom('sms_destinations').selectAll().where('tenant_id', '=', tenant).execute();
      expect(stored).toHaveLength(2);
      expect(JSON.stringify(stored)).not.toContain('5005550'); // hashes only
    } finally {
      await app.close();
    }
  });
});
