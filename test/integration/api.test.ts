/**
 * The public API through its typed client against the real stack: authentication and scopes,
 * tenant isolation, Idempotency-Key semantics, cursor pagination, rate limits, errors and the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChimeApiError, createChimeClient, type ChimeClient, type CreateReminder } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { TenantId } from '../../src/domain/ids.js';
import { createApi } from '../../src/entry/runtime.js';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { createEncryptionCodec, parseEncryptionKeys } from '../../src/temporal/codec.js';
import { eventually } from '../support/histories.js';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
const clientFor = (apiKey: string): ChimeClient => createChimeClient({ baseUrl: stack.url, apiKey, maxRetries: 0 });

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const daily = (userId: string, title = 'Stretch'): CreateReminder => ({
  userId,
  email: `${userId}@example.com`,
  title,
  body: '',
  recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
});

async function rejection(promise: Promise<unknown>): Promise<ChimeApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChimeApiError);
  return error as ChimeApiError;
}

describe('authentication and scopes', () => {
  it('answers 401 problem+json without a key or with a forged one', async () => {
    const none = await stack.app.inject({ method: 'GET', url: '/v1/reminders' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    const forged = await rejection(clientFor(`${stack.adminKey.slice(0, -4)}AAAA`).reminders.page());
    expect(forged).toMatchObject({ status: 401, type: 'urn:chime:problem:unauthenticated' });
  });

  it("does not let one user read, list, change or cancel another user's reminders", async () => {
    const bens = await stack.api.reminders.create(daily('ben'));
    const ann = clientFor(await stack.createKey({ userId: 'ann' }));
    const own = await ann.reminders.create(daily('ann'));

    expect(await rejection(ann.reminders.get(bens.id))).toMatchObject({ status: 404 });
    expect(await rejection(ann.reminders.pause(bens.id))).toMatchObject({ status: 404 });
    expect(await rejection(ann.reminders.cancel(bens.id))).toMatchObject({ status: 404 });
    expect(await rejection(ann.reminders.edit(bens.id, { content: { title: 'mine now', body: '' } }))).toMatchObject({ status: 404 });
    expect(await rejection(ann.reminders.create(daily('ben')))).toMatchObject({ status: 403, type: 'urn:chime:problem:forbidden' });

    const listed = [];
    for await (const r of ann.reminders.list({ userId: 'ben' })) listed.push(r.id);
    expect(listed).toEqual([own.id]); // a user key lists its own user's reminders whatever it asks
    expect((await stack.api.reminders.get(bens.id)).status).toBe('active'); // untouched
  });

  it('shows a key of one tenant nothing of another tenant', async () => {
    const acme = await stack.api.reminders.create(daily('cleo'));
    const globex = clientFor(await stack.createKey({ tenantId: TenantId('globex') }));
    expect(await rejection(globex.reminders.get(acme.id))).toMatchObject({ status: 404 });
    expect(await rejection(globex.reminders.cancel(acme.id))).toMatchObject({ status: 404 });
    const listed = [];
    for await (const r of globex.reminders.list()) listed.push(r);
    expect(listed).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  const post = (key: string | undefined, payload: object) =>
    stack.app.inject({
      method: 'POST',
      url: '/v1/reminders',
      headers: { authorization: `Bearer ${stack.adminKey}`, ...(key ? { 'idempotency-key': key } : {}) },
      payload,
    });

  it('replays the stored response for the same key and request, marked as a replay', async () => {
    const first = await post('create-dora-1', daily('dora'));
    const again = await post('create-dora-1', daily('dora'));
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps one scope for the key and the reminder it made: after its record is gone, a different body is a 422, the same body the same reminder', async () => {
    const first = await post('create-dora-expired', daily('dora', 'Original'));
    expect(first.statusCode).toBe(201);
    // The HTTP record expires (24 h) or is released after a 5xx; the reminder it made stays.
    const forget = () => stack.database.db.deleteFrom('http_idempotency').where('key', '=', 'create-dora-expired').execute();
    await forget();
    const same = await post('create-dora-expired', daily('dora', 'Original'));
    expect(same.statusCode).toBe(201);
    expect(same.json()).toMatchObject({ id: first.json().id, title: 'Original' });
    await forget();
    const different = await post('create-dora-expired', daily('dora', 'Changed'));
    expect(different.statusCode).toBe(422);
    expect(different.json()).toMatchObject({ type: 'urn:chime:problem:idempotency-key-reused' });
    expect((await stack.api.reminders.get(first.json().id)).title).toBe('Original');
  });

  it('does not revive a cancelled reminder when its create is retried after the record is gone', async () => {
    const first = await post('create-dora-cancelled', daily('dora', 'Once'));
    const { id, workflowId } = first.json<{ id: string; workflowId: string }>();
    await stack.api.reminders.cancel(id);
    const handle = stack.client.workflow.getHandle(workflowId);
    await handle.result();
    const { runId } = await handle.describe();
    await stack.database.db.deleteFrom('http_idempotency').where('key', '=', 'create-dora-cancelled').execute();
    const again = await post('create-dora-cancelled', daily('dora', 'Once'));
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ id, status: 'cancelled' });
    const latest = await handle.describe();
    expect([latest.runId, latest.status.name]).toEqual([runId, 'COMPLETED']);
  });

  it('acts once when a create, a skip-next or a snooze is retried after a 5xx', { timeout: 60_000 }, async () => {
    // The database write after the workflow's Update fails once: the API answers 5xx, the client retries with the same key.
    const persistence = createStoragePersistence(stack.database.db);
    let failNext = 0;
    const flaky: typeof persistence = {
      ...persistence,
      async updateReminder(reminder) {
        if (failNext > 0) {
          failNext--;
          throw new Error('database write failed');
        }
        return persistence.updateReminder(reminder);
      },
      async insertReminder(reminder) {
        await persistence.insertReminder(reminder);
        if (failNext > 0) {
          failNext--;
          throw new Error('database write failed after the insert');
        }
      },
    };
    const service = createReminderService({ workflows: stack.client.workflow, taskQueue: stack.taskQueue, persistence: flaky });
    const actor = { tenantId: stack.tenantId };
    const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const input = { userId: 'retry-five', email: 'retry-five@example.com', title: 'Retry', body: '', recurrence: { dtstart: `${day}T09:00:00`, tzid: 'UTC', rrule: 'FREQ=DAILY' } };
    failNext = 1;
    await expect(service.create(actor, input, 'key-a:create-1')).rejects.toThrow(/after the insert/);
    const created = await service.create(actor, input, 'key-a:create-1');
    const mine = await stack.database.db.selectFrom('reminders').select('id').where('user_id', '=', 'retry-five' as never).execute();
    expect(mine.map((r) => r.id)).toEqual([created.id]);

    const updates = async (name: string) =>
      ((await stack.client.workflow.getHandle(created.workflowId).fetchHistory()).events ?? []).filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === name,
      ).length;
    failNext = 1;
    await expect(service.skipNext(actor, created.id as never, 'key-a:skip-1')).rejects.toThrow(/database write failed/);
    await service.skipNext(actor, created.id as never, 'key-a:skip-1');
    expect(await updates('skipNextOccurrence')).toBe(1);
    failNext = 1;
    const until = new Date(Date.parse(`${day}T09:00:00Z`) + 86_400_000 + 3_600_000); // the occurrence after the skipped one, an hour later
    await expect(service.snooze(actor, created.id as never, until, 'key-a:snooze-1')).rejects.toThrow(/database write failed/);
    await service.snooze(actor, created.id as never, until, 'key-a:snooze-1');
    expect(await updates('snoozeOccurrence')).toBe(1);
    // A new key is a new request: it acts again.
    await service.skipNext(actor, created.id as never, 'key-a:skip-2');
    expect(await updates('skipNextOccurrence')).toBe(2);
  });

  it('refuses the same key with a different request (422) and a POST without a key (400)', async () => {
    await post('create-dora-2', daily('dora'));
    const different = await post('create-dora-2', daily('dora', 'Another title'));
    expect(different.statusCode).toBe(422);
    expect(different.json()).toMatchObject({ type: 'urn:chime:problem:idempotency-key-reused' });
    const missing = await post(undefined, daily('dora'));
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ type: 'urn:chime:problem:idempotency-key-required' });
  });

  it('creates exactly one reminder and one workflow from many concurrent duplicates', async () => {
    const responses = await Promise.all(Array.from({ length: 16 }, () => post('create-eve-once', daily('eve'))));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json<{ id: string }>().id));
    expect(ids.size).toBe(1);
    for (const r of responses.filter((r) => r.statusCode === 409)) {
      expect(r.json()).toMatchObject({ type: 'urn:chime:problem:idempotency-key-in-flight' });
    }

    const listed = [];
    for await (const r of stack.api.reminders.list({ userId: 'eve' })) listed.push(r.id);
    expect(listed).toEqual([...ids]);
    const workflowIds = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.json<{ workflowId: string }>().workflowId));
    expect(workflowIds.size).toBe(1);
    const workflows = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of stack.client.workflow.list({ query: `ChimeUserId = "eve"` })) ids.push(w.workflowId);
      return ids.length > 0 ? ids : undefined; // visibility lags a moment behind the start
    });
    expect(workflows).toEqual([...workflowIds]);
  });
});

describe('cursor pagination', () => {
  it('walks every page while reminders are being inserted, neither skipping nor repeating', async () => {
    const user = 'fay';
    const before = [];
    for (let i = 0; i < 12; i++) before.push((await stack.api.reminders.create(daily(user, `r${i}`))).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    do {
      const page = await stack.api.reminders.page({ userId: user, limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...page.data.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
      await stack.api.reminders.create(daily(user, `late${inserted++}`)); // newer than every page so far
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(before));
    expect(seen.slice(0, 12).sort()).toEqual([...before].sort());
  });

  it('answers a forged cursor with a 400 naming the cursor', async () => {
    const error = await rejection(stack.api.reminders.page({ cursor: 'not-a-cursor' }));
    expect(error).toMatchObject({ status: 400 });
    expect(error.errors[0]?.field).toBe('query.cursor');
  });
});

describe('limits, errors and the spec', () => {
  it('answers 429 with Retry-After once a key exceeds its rate limit', async () => {
    const app = await createApi({
      config: loadConfig({ CHIME_TASK_QUEUE: stack.taskQueue, CHIME_LOG_LEVEL: 'silent', CHIME_RATE_LIMIT_PER_MINUTE: '3' }),
      workflows: stack.client.workflow,
      storage: stack.database,
      checkReady: async () => {},
    });
    try {
      const statuses = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await app.inject({ method: 'GET', url: '/v1/reminders', headers: { authorization: `Bearer ${stack.adminKey}` } });
        statuses.push(last.statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
      expect(last?.json()).toMatchObject({ type: 'urn:chime:problem:rate-limited', status: 429 });
    } finally {
      await app.close();
    }
  });

  it('refuses an address that keeps failing authentication before looking its key up, even a valid one; other addresses are served', async () => {
    const app = await createApi({
      config: loadConfig({ CHIME_TASK_QUEUE: stack.taskQueue, CHIME_LOG_LEVEL: 'silent', CHIME_AUTH_FAILURES_PER_MINUTE: '3' }),
      workflows: stack.client.workflow,
      storage: stack.database,
      checkReady: async () => {},
    });
    try {
      const from = (remoteAddress: string, key: string) => app.inject({ method: 'GET', url: '/v1/reminders', remoteAddress, headers: { authorization: `Bearer ${key}` } });
      const forged = `${stack.adminKey.slice(0, -4)}beef`;
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await from('203.0.113.7', forged)).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // Refused before the lookup: a valid key from that address is refused too, until the window ends.
      const blocked = await from('203.0.113.7', stack.adminKey);
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.json()).toMatchObject({ type: 'urn:chime:problem:rate-limited' });
      expect((await from('203.0.113.8', stack.adminKey)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('serves the codec endpoint when payloads are encrypted: admin keys decode, user keys and no key get 401', async () => {
    const keys = `k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`;
    const app = await createApi({
      config: loadConfig({ CHIME_TASK_QUEUE: stack.taskQueue, CHIME_LOG_LEVEL: 'silent', CHIME_PAYLOAD_KEYS: keys }),
      workflows: stack.client.workflow,
      storage: stack.database,
      checkReady: async () => {},
    });
    try {
      const [sealed] = await createEncryptionCodec(parseEncryptionKeys(keys)!).encode([defaultPayloadConverter.toPayload({ title: 'secret' })!]);
      const payload = { metadata: Object.fromEntries(Object.entries(sealed!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(sealed!.data!).toString('base64') };
      const decode = (authorization?: string) =>
        app.inject({ method: 'POST', url: '/codec/decode', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, payload: { payloads: [payload] } });
      expect((await decode()).statusCode).toBe(401);
      expect((await decode(`Bearer ${await stack.createKey({ userId: 'codec-user' })}`)).statusCode).toBe(401);
      expect((await decode()).statusCode, 'no key').toBe(401);
      const decoded = await decode(`Bearer ${stack.adminKey}`);
      expect(decoded.statusCode, decoded.body).toBe(200);
      const [plain] = (decoded.json() as { payloads: { data: string }[] }).payloads;
      expect(JSON.parse(Buffer.from(plain!.data, 'base64').toString('utf8'))).toEqual({ title: 'secret' });
      // The embedded stack's UI cannot send a key: with CHIME_CODEC_OPEN_ON_LOOPBACK, loopback callers decode without one, others still cannot.
      const local = await createApi({
        config: loadConfig({ CHIME_TASK_QUEUE: stack.taskQueue, CHIME_LOG_LEVEL: 'silent', CHIME_PAYLOAD_KEYS: keys, CHIME_CODEC_OPEN_ON_LOOPBACK: 'true' }),
        workflows: stack.client.workflow,
        storage: stack.database,
        checkReady: async () => {},
      });
      try {
        const from = (remoteAddress: string) => local.inject({ method: 'POST', url: '/codec/decode', remoteAddress, headers: { 'content-type': 'application/json' }, payload: { payloads: [payload] } });
        expect((await from('127.0.0.1')).statusCode).toBe(200);
        expect((await from('203.0.113.9')).statusCode).toBe(401);
      } finally {
        await local.close();
      }
    } finally {
      await app.close();
    }
  });

  it('takes an empty body with a JSON content type as no body where none is needed, and names the body where one is', async () => {
    const reminder = await stack.api.reminders.create({
      userId: 'empty-body',
      email: 'empty-body@example.com',
      title: 'x',
      body: '',
      recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' },
    });
    const headers = { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json', 'idempotency-key': `empty-${Date.now()}` };
    const paused = await stack.app.inject({ method: 'POST', url: `/v1/reminders/${reminder.id}/pause`, headers, payload: '' });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused' });
    const create = await stack.app.inject({ method: 'POST', url: '/v1/reminders', headers: { ...headers, 'idempotency-key': `empty-create-${Date.now()}` }, payload: '' });
    expect(create.statusCode).toBe(400);
    expect(create.json()).toMatchObject({ type: 'urn:chime:problem:invalid-request', errors: expect.arrayContaining([{ field: 'body', reason: 'must be object' }]) });
  });

  it('refuses an oversized body with a 413 problem', async () => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/v1/reminders',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'idempotency-key': 'big', 'content-type': 'application/json' },
      payload: JSON.stringify({ ...daily('gus'), body: 'x'.repeat(100_000) }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ type: 'urn:chime:problem:payload-too-large' });
  });

  it('names the field and the rule part of an invalid recurrence, as JSON fields or iCalendar lines', async () => {
    const asFields = await rejection(
      stack.api.reminders.create({ ...daily('hal'), recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30' } }),
    );
    expect(asFields).toMatchObject({ status: 400, type: 'urn:chime:problem:invalid-recurrence' });
    expect(asFields.errors).toEqual([{ field: 'body.recurrence.rrule', reason: expect.stringMatching(/^BYMONTHDAY: no month in BYMONTH=2/) }]);
    const zone = await rejection(stack.api.reminders.create({ ...daily('hal'), recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'Mars/Olympus' } }));
    expect(zone.errors).toEqual([{ field: 'body.recurrence.tzid', reason: 'unknown time zone "Mars/Olympus"' }]);
    const { recurrence: _, ...withoutRecurrence } = daily('hal');
    const asLines = await rejection(stack.api.reminders.create({ ...withoutRecurrence, ical: 'DTSTART;TZID=Europe/Paris:20300101T090000\nRRULE:FREQ=WEEKLY;BYDAY=1MO' }));
    expect(asLines.errors).toEqual([{ field: 'body.ical', reason: expect.stringMatching(/^BYDAY: ordinals .* only allowed with FREQ=MONTHLY or YEARLY/) }]);
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas, and a reference page', async () => {
    const spec = (await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    }>();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/reminders', '/v1/reminders/{reminderId}', '/v1/users/{userId}/preferences']),
    );
    expect(spec.paths['/v1/reminders']?.post?.requestBody).toBeDefined();
    const docs = await stack.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });
});
