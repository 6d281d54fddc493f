/**
 * The preview's `timeline` (offset changes and quiet windows over the previewed days, computed on
 * the server so no client needs tz data) through the HTTP app, and the preview page the API serves
 * at `/preview`: public, strict CSP, out of the OpenAPI document.
 */
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewView } from '../../src/api/schemas/reminders.js';
import { startTestStack, type TestStack } from '../support/stack.js';

/** The response schema the OpenAPI document publishes, as a validator (ajv-formats is CommonJS: its function is the default's default). */
const addFormats = (formats as unknown as { default?: typeof formats }).default ?? formats;
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (ajv: Ajv) => void)(ajv);
const matchesPreviewSchema = ajv.compile(PreviewView);

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  // New York, quiet 22:00–07:00, email verified, SMS verified but opted out of reminders.
  await stack.api.users.putPreferences('nyc', {
    timeZone: 'America/New_York',
    contacts: { email: { address: 'nyc@example.com', verified: true }, sms: { number: '+12125550100', verified: true } },
    quietHours: { default: { start: '22:00', end: '07:00' } },
    optOuts: { reminders: ['sms'] },
  });
});
afterAll(async () => {
  await stack?.close();
});

const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${stack.adminKey}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

describe('the preview timeline', () => {
  it("gives the user's days, the spring-forward change and each night's quiet hours beside the decisions", async () => {
    // 11:30 UTC every day: 06:30 in New York (deferred by quiet hours) until the clocks go forward, then 07:30 (sent).
    const response = await inject('POST', '/v1/previews', {
      userId: 'nyc',
      ical: 'DTSTART;TZID=UTC:20260305T113000\nRRULE:FREQ=DAILY;COUNT=6',
      channels: ['email', 'sms'],
      after: '2026-03-04T00:00:00Z',
    });
    expect(response.statusCode).toBe(200);
    const preview = response.json();

    // As the published schema says, every new field included.
    expect(matchesPreviewSchema(preview), JSON.stringify(matchesPreviewSchema.errors)).toBe(true);
    // The existing fields, as before.
    expect(Object.keys(preview).sort()).toEqual(['description', 'occurrences', 'timeZone', 'timeline']);
    expect(preview.timeZone).toBe('America/New_York');
    expect(preview.occurrences.map((o: { outcome: string }) => o.outcome)).toEqual(['deferred', 'deferred', 'deferred', 'sent', 'sent', 'sent']);
    expect(preview.occurrences[0].explanation).toContain('email deferred to 07:00 America/New_York on 2026-03-05 by quiet hours 22:00–07:00');
    expect(preview.occurrences[0].explanation).toContain('SMS skipped: opted out of category reminders');

    const { timeline } = preview;
    expect(timeline).toMatchObject({
      from: '2026-03-05T05:00:00.000Z', // midnight EST on the first day
      to: '2026-03-11T04:00:00.000Z', // midnight EDT after the last
      timeZone: 'America/New_York',
      offsetAtFrom: '-05:00',
      dstTransitions: [{ at: '2026-03-08T07:00:00.000Z', offsetBefore: '-05:00', offsetAfter: '-04:00' }],
    });
    // One window a night (the first and last cut at the span), the one across the change 8 hours long.
    expect(timeline.quietWindows).toHaveLength(7);
    expect(timeline.quietWindows).toContainEqual({ start: '2026-03-08T03:00:00.000Z', end: '2026-03-08T11:00:00.000Z' });
    // Every deferral ends where a quiet window ends.
    for (const o of preview.occurrences.filter((o: { afterDeferral?: unknown }) => o.afterDeferral)) {
      expect(timeline.quietWindows.map((w: { end: string }) => Date.parse(w.end))).toContain(Date.parse(o.afterDeferral.at));
    }
  });

  it("uses the rule's zone and no quiet windows without a user", async () => {
    const response = await inject('POST', '/v1/previews', {
      recurrence: { dtstart: '2026-10-30T06:30:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY;COUNT=3' },
      after: '2026-10-01T00:00:00Z',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().timeline).toEqual({
      from: '2026-10-29T23:00:00.000Z',
      to: '2026-11-01T23:00:00.000Z',
      timeZone: 'Europe/Paris',
      offsetAtFrom: '+01:00',
      dstTransitions: [],
      quietWindows: [],
    });
  });

  it("is in a saved reminder's preview too", async () => {
    const created = await stack.api.reminders.create({
      userId: 'nyc',
      email: 'nyc@example.com',
      title: 'Stretch',
      body: '',
      ical: 'DTSTART;TZID=America/New_York:20301101T063000\nRRULE:FREQ=DAILY',
    });
    const response = await inject('GET', `/v1/reminders/${created.id}/preview?count=4`);
    expect(response.statusCode).toBe(200);
    expect(matchesPreviewSchema(response.json()), JSON.stringify(matchesPreviewSchema.errors)).toBe(true);
    const { timeline, occurrences } = response.json();
    expect(occurrences).toHaveLength(4);
    // 3 November 2030: the clocks go back in New York.
    expect(timeline).toMatchObject({ from: '2030-11-01T04:00:00.000Z', to: '2030-11-05T05:00:00.000Z', dstTransitions: [{ at: '2030-11-03T06:00:00.000Z', offsetBefore: '-04:00', offsetAfter: '-05:00' }] });
  });

  it('is declared in the OpenAPI document', async () => {
    const spec = JSON.stringify((await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    for (const field of ['"timeline"', '"offsetAtFrom"', '"dstTransitions"', '"offsetBefore"', '"offsetAfter"', '"quietWindows"']) expect(spec).toContain(field);
  });
});

describe('the preview page', () => {
  it('is served without a key, with a strict Content-Security-Policy, and is not in the OpenAPI document', async () => {
    const page = await stack.app.inject({ method: 'GET', url: '/preview' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((url) => !url.startsWith('#'));
    expect(assets.sort()).toEqual(['/preview/app.css', '/preview/app.js', '/preview/icon.svg']);
    expect(page.body).not.toMatch(/https?:\/\//);
    for (const [url, type] of [['/preview/app.js', /^text\/javascript/], ['/preview/app.css', /^text\/css/], ['/preview/icon.svg', /^image\/svg\+xml/]] as const) {
      const asset = await stack.app.inject({ method: 'GET', url });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toMatch(type);
      // Nothing from elsewhere: no absolute URL in any asset (the SVG namespace is a name, not a request).
      expect(asset.body.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
    }
    const spec = (await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/preview'))).toEqual([]);
  });
});
