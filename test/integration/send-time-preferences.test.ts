/**
 * Preferences changed after a reminder was scheduled are honoured when the occurrence is due:
 * on the real dev server, through the public API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reminder } from '../../src/client/index.js';
import { reminderStateQuery, type reminderWorkflow } from '../../workflows/reminder.js';
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

async function putPreferences(userId: string, preferences: object) {
  const response = await stack.app.inject({
    method: 'PUT',
    url: `/v1/users/${userId}/preferences`,
    headers: { authorization: `Bearer ${stack.adminKey}` },
    payload: preferences,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response;
}

describe('send-time preferences', () => {
  it('skips an occurrence whose category the user opted out of after it was scheduled', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'ivy',
      email: 'ivy@example.com',
      title: 'Weekly digest',
      body: '',
      category: 'digest',
      recurrence: { dtstart: utcWallTime(4_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    await putPreferences('ivy', {
      timeZone: 'Europe/Paris',
      contacts: { email: { address: 'ivy@example.com', verified: true } },
      optOuts: { digest: 'all' },
    });
    const result = await handleOf(reminder).result();
    expect(result.decisions).toEqual([
      expect.objectContaining({
        kind: 'skipped',
        channels: [expect.objectContaining({ channel: 'email', outcome: 'skipped', reason: 'opted_out_category' })],
      }),
    ]);
    expect(stack.smtp.received.filter((m) => m.to.includes('ivy@example.com'))).toEqual([]);
  });

  it('defers an occurrence to the end of quiet hours set after it was scheduled, and records why', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'jon',
      email: 'jon@example.com',
      title: 'Take a break',
      body: '',
      recurrence: { dtstart: utcWallTime(3_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    const hhmm = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().slice(11, 16);
    const end = hhmm(10 * 60_000);
    await putPreferences('jon', {
      timeZone: 'UTC',
      contacts: { email: { address: 'jon@example.com', verified: true } },
      quietHours: { default: { start: hhmm(-5 * 60_000), end } },
    });
    const state = await eventually(async () => {
      const s = await handleOf(reminder).query(reminderStateQuery);
      return s.decisions.some((d) => d.kind === 'deferred') ? s : undefined;
    });
    const deferred = state.decisions.find((d) => d.kind === 'deferred');
    expect(deferred).toMatchObject({ kind: 'deferred', explanation: expect.stringMatching(/quiet hours/i) });
    expect(deferred?.kind === 'deferred' && deferred.until.slice(11, 16), JSON.stringify({ end, decisions: state.decisions })).toBe(end);
    expect(state.next?.dueAt.slice(11, 16)).toBe(end);
    expect(stack.smtp.received.filter((m) => m.to.includes('jon@example.com'))).toEqual([]);
    await stack.api.reminders.cancel(reminder.id);
  });

  it("re-plans a follow-user reminder in the user's new zone as soon as the preferences change", async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'kay',
      email: 'kay@example.com',
      title: 'Morning run',
      body: '',
      zoneMode: 'follow-user',
      recurrence: { dtstart: '2026-01-05T07:00:00', tzid: 'Asia/Tokyo', rrule: 'FREQ=DAILY' },
    });
    expect((await plannedState(() => handleOf(reminder).query(reminderStateQuery))).next.local).toMatch(/T07:00:00\+09:00$/);
    await putPreferences('kay', { timeZone: 'America/New_York', contacts: { email: { address: 'kay@example.com', verified: true } } });
    const state = await eventually(async () => {
      const s = await handleOf(reminder).query(reminderStateQuery);
      return s.userTimeZone === 'America/New_York' ? s : undefined;
    });
    expect(state.next?.local).toMatch(/T07:00:00-0[45]:00$/);
  });

  it('previews a rule with the policy applied and a reason for every change', async () => {
    await putPreferences('nora', {
      timeZone: 'Europe/Paris',
      contacts: { email: { address: 'nora@example.com', verified: true }, sms: { number: '+33612345678', verified: true } },
      optOuts: { digest: ['sms'] },
      quietHours: { default: { start: '22:00', end: '07:00' } },
    });
    const preview = await stack.api.preview({
      userId: 'nora',
      category: 'digest',
      channels: ['email', 'sms'],
      recurrence: { dtstart: '2030-01-07T06:30:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;COUNT=2' },
      after: '2030-01-01T00:00:00Z',
    });
    expect(preview.timeZone).toBe('Europe/Paris');
    expect(preview.occurrences).toHaveLength(2);
    const [first] = preview.occurrences;
    expect(first?.outcome).toBe('deferred');
    expect(first?.channels).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'email', action: 'defer', explanation: expect.stringMatching(/07:00/) }),
        expect.objectContaining({ channel: 'sms', action: 'skip', reason: 'opted_out_category', explanation: expect.stringMatching(/digest/) }),
      ]),
    );
    expect(first?.afterDeferral).toMatchObject({ at: '2030-01-07T06:00:00.000Z', outcome: 'sent' });
  });

  it("keeps a pinned reminder in its own zone when the user's zone changes", async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'pia',
      email: 'pia@example.com',
      title: 'Market opens',
      body: '',
      recurrence: { dtstart: '2026-01-05T09:30:00', tzid: 'America/New_York', rrule: 'FREQ=DAILY' },
    });
    const before = (await plannedState(() => handleOf(reminder).query(reminderStateQuery))).next.utc;
    await putPreferences('pia', { timeZone: 'Asia/Tokyo', contacts: { email: { address: 'pia@example.com', verified: true } } });
    // An Update is handled after the signal the PUT sent: its answer shows the state after the move.
    const after = await stack.api.reminders.edit(reminder.id, { content: { title: 'Market opens', body: 'The bell rings.' } });
    expect(after.timeZone).toBe('America/New_York');
    expect(after.next?.utc).toBe(before);
    expect(after.next?.local).toMatch(/T09:30:00-0[45]:00$/);
  });

  it('refuses a preference write from a stale version with 409, losing nothing', async () => {
    const first = await putPreferences('lea', { timeZone: 'UTC' });
    const version = first.json<{ version: number }>().version;
    await putPreferences('lea', { timeZone: 'Europe/Rome' });
    const stale = await stack.app.inject({
      method: 'PUT',
      url: '/v1/users/lea/preferences',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'if-match': `"${version}"` },
      payload: { timeZone: 'Asia/Tokyo' },
    });
    expect(stale.statusCode).toBe(409);
    const user = await stack.app.inject({ method: 'GET', url: '/v1/users/lea', headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(user.json()).toMatchObject({ preferences: { timeZone: 'Europe/Rome' } });
  });

  it('names the field of an invalid preference', async () => {
    const response = await stack.app.inject({
      method: 'PUT',
      url: '/v1/users/max/preferences',
      headers: { authorization: `Bearer ${stack.adminKey}` },
      payload: { timeZone: 'Mars/Olympus' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ errors: { field: string }[] }>().errors[0]?.field).toMatch(/timeZone/);
  });
});

describe('contact points out of what Chime keeps', () => {
  it('redacts the address a provider quotes in its refusal from the ledger, the decision, the API and the history', { timeout: 60_000 }, async () => {
    const address = 'quoted.person+x@example.com';
    stack.smtp.scriptFaultsFor(address, { kind: 'reject-rcpt', code: 550, message: `550 5.1.1 <${address}>: Recipient address rejected: User unknown` });
    const reminder = await stack.api.reminders.create({
      userId: 'quoted',
      email: address,
      title: 'Bounce',
      body: '',
      recurrence: { dtstart: utcWallTime(2_000), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    });
    await handleOf(reminder).result();
    const deliveries = await stack.api.reminders.deliveries(reminder.id);
    const decisions = await stack.api.reminders.decisions(reminder.id);
    const history = JSON.stringify(await handleOf(reminder).fetchHistory());
    expect(JSON.stringify(deliveries)).toContain('[email]');
    for (const [where, text] of [['deliveries', JSON.stringify(deliveries)], ['decisions', JSON.stringify(decisions)], ['history', history]] as const) {
      expect(text, where).not.toContain(address);
      expect(text, where).not.toContain('quoted.person');
    }
    expect(decisions.data).toEqual([
      expect.objectContaining({ kind: 'delivered', channels: [expect.objectContaining({ outcome: 'failed', errorType: 'recipient_invalid', message: expect.stringMatching(/550 5\.1\.1 <\[email\]>/) })] }),
    ]);
  });
});
