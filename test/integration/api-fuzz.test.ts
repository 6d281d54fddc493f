/**
 * A property-based pass over every endpoint of the OpenAPI document: whatever the body, params,
 * query or headers, the API never answers 5xx, and every 4xx is an RFC 9457 problem.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let operations: { method: string; path: string }[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const spec = (await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  );
});
afterAll(async () => {
  await stack?.close();
});

const segment = fc.oneof(
  fc.constantFrom('rem_missing', 'ada', '..', '%00', 'a'.repeat(300), '😀', ' '),
  fc.string({ maxLength: 40 }),
);
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const reminderLike = fc.record(
  {
    userId: fc.oneof(fc.string(), fc.constant('ada')),
    email: fc.oneof(fc.emailAddress(), fc.string()),
    title: fc.string(),
    body: fc.string(),
    channels: fc.array(fc.oneof(fc.constantFrom('email', 'sms'), fc.string()), { maxLength: 3 }),
    recurrence: fc.record(
      {
        dtstart: fc.oneof(fc.constant('2030-01-01T09:00:00'), fc.string()),
        tzid: fc.oneof(fc.constantFrom('Europe/Paris', 'Mars/Olympus', 'UTC'), fc.string()),
        rrule: fc.oneof(fc.constantFrom('FREQ=DAILY', 'FREQ=MONTHLY;BYMONTHDAY=31', 'FREQ=YEARLY;BYWEEKNO=60'), fc.string()),
      },
      { requiredKeys: [] },
    ),
    ical: fc.string(),
    until: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
  },
  { requiredKeys: [] },
);

describe('API fuzz', () => {
  it('never answers 5xx and answers every 4xx with application/problem+json', async () => {
    expect(operations.length).toBeGreaterThan(5);
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          segment,
          fc.oneof(reminderLike, jsonValue),
          fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'userId', 'x'), fc.string({ maxLength: 20 })),
          fc.boolean(),
          async (param, body, query, withKey) => {
            const url = operation.path.replace(/\{[^}]+\}/g, encodeURIComponent(param));
            const response = await stack.app.inject({
              method: operation.method as 'GET',
              url,
              query,
              headers: {
                authorization: `Bearer ${stack.adminKey}`,
                ...(withKey ? { 'idempotency-key': `fuzz-${Math.random()}` } : {}),
              },
              ...(operation.method === 'GET' ? {} : { payload: body as object }),
            });
            const what = `${operation.method} ${url} → ${response.statusCode} ${response.body.slice(0, 300)}`;
            expect(response.statusCode, what).toBeLessThan(500);
            if (response.statusCode >= 400) {
              expect(response.headers['content-type'], what).toMatch(/^application\/problem\+json/);
              const problem = response.json<{ type: string; title: string; status: number }>();
              expect(problem.status).toBe(response.statusCode);
              expect(problem.type).toMatch(/^urn:chime:problem:/);
            }
          },
        ),
        { numRuns: 40 },
      );
    }
  });
});
