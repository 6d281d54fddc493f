/**
 * The schedule preview page (`GET /preview`) in a real browser: Debian's Chromium driven by
 * playwright-core, against the API as `npm start` runs it (src/entry/runtime.ts: a Temporal dev
 * server, PGlite in a temporary directory, the HTTP API on a free port; no worker is needed to
 * preview). A user in New York with quiet hours 22:00–07:00 previews a rule across the March DST
 * change — deferred at 06:30, sent at 07:30 once the clocks go forward — and a 06:30 rule across the
 * November change; invalid rules show the API's reason next to the field; an audience schedule
 * shows its zones' buckets on a UTC timeline. Throughout: no console errors, no request to any other
 * origin, the key only in sessionStorage, the page usable by keyboard and labelled (axe-core finds
 * no serious violation), and readable 390 px wide. Screenshots go to test-results/preview/ (git-ignored).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { ensureAdminKey } from '../../src/auth/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_TENANT, openStorage, startApi } from '../../src/entry/runtime.js';
import type { OpenedDatabase } from '../../src/storage/database.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../support/ports.js';
import { REPO_ROOT } from '../support/processes.js';

const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'preview');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EMAIL = 'ada@example.com';
const PHONE = '+12125550100';
/** 11:30 UTC daily: 06:30 in New York until Sunday 8 March 2026, 07:30 after. */
const ACROSS_MARCH = 'DTSTART;TZID=UTC:20260305T113000\nRRULE:FREQ=DAILY;COUNT=6';

let dataDir: string;
let server: DevServer;
let storage: OpenedDatabase;
let api: Awaited<ReturnType<typeof startApi>>;
let adminKey: string;
let browser: Browser;
let axeSource: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-preview-ui-'));
  // The API binds whatever port is free when it starts (api.url), never one picked earlier and taken meanwhile.
  const temporalPort = await freePort();
  const config = loadConfig({ CHIME_DATA_DIR: dataDir, TEMPORAL_PORT: String(temporalPort), CHIME_API_PORT: '0', CHIME_LOG_LEVEL: 'silent' });
  server = await startDevServer({ cliPath: resolveTool('cli'), port: config.temporal.devServerPort });
  storage = await openStorage(config);
  const keyFile = path.join(dataDir, 'admin-api-key');
  await ensureAdminKey(storage.db, DEFAULT_TENANT, keyFile);
  adminKey = (await readFile(keyFile, 'utf8')).trim();
  api = await startApi(config, storage);

  // Ada in New York: quiet 22:00–07:00, email and SMS verified, SMS opted out of reminders.
  await apiRequest('PUT', '/v1/users/ada/preferences', {
    timeZone: 'America/New_York',
    contacts: { email: { address: EMAIL, verified: true }, sms: { number: PHONE, verified: true } },
    quietHours: { default: { start: '22:00', end: '07:00' } },
    optOuts: { reminders: ['sms'] },
  });
  // An audience in three zones for a weekly digest at 09:00 local.
  const zones = { 'Asia/Tokyo': 1, 'Europe/Paris': 2, 'America/New_York': 3 };
  for (const [zone, n] of Object.entries(zones)) {
    for (let i = 0; i < n; i++) {
      const user = `${zone.split('/')[1]!.toLowerCase()}-${i}`;
      await apiRequest('PUT', `/v1/users/${user}/preferences`, { timeZone: zone });
      await apiRequest('PUT', `/v1/users/${user}/tags`, { tags: ['digest'] });
    }
  }
  await apiRequest('POST', '/v1/schedules', {
    id: 'weekly-digest',
    name: 'Weekly digest',
    recurrence: { dtstart: '2030-01-07T09:00:00', tzid: 'UTC', rrule: 'FREQ=WEEKLY;BYDAY=MO' },
    zoneMode: 'recipient-local',
    audience: { filter: { tags: { all: ['digest'] } } },
    content: { title: 'Your week', body: 'Everything that happened' },
  });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await mkdir(SCREENSHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await storage?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 120_000);

async function apiRequest(method: 'GET' | 'POST' | 'PUT', pathname: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(pathname, api.url), {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 400) throw new Error(`${method} ${pathname}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

interface Watched {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, each with where it came from. */
  errors: { text: string; url: string }[];
  requests: string[];
}

/** A page on `/preview` whose console, exceptions and requests are recorded. */
async function openPreview(viewport: { width: number; height: number }): Promise<Watched> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const watched: Watched = { page, context, errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push({ text: message.text(), url: message.location().url });
  });
  page.on('pageerror', (error) => watched.errors.push({ text: error.message, url: 'pageerror' }));
  page.on('request', (request) => watched.requests.push(request.url()));
  await page.goto(`${api.url}/preview`);
  await page.getByRole('textbox', { name: 'API key' }).fill(adminKey);
  return watched;
}

/** Everything the page loaded or called came from the API's origin; the console stayed clean but for `expected` refusals. */
function expectClean(watched: Watched, expectedRefusals = 0): void {
  const origin = new URL(api.url).origin;
  expect(watched.requests.length).toBeGreaterThan(0);
  expect(watched.requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
  // Chromium reports each 4xx answer as a console error: only the deliberate invalid rules may show.
  const refusals = watched.errors.filter((e) => /status of 400/.test(e.text) && e.url.startsWith(origin));
  expect(watched.errors.filter((e) => !refusals.includes(e))).toEqual([]);
  expect(refusals).toHaveLength(expectedRefusals);
}

async function previewRule(page: Page, fields: { ical?: string; userId?: string; sms?: boolean; after: string; count: string }): Promise<void> {
  if (fields.ical !== undefined) {
    await page.getByLabel('iCalendar lines', { exact: true }).check();
    await page.getByLabel(/^iCalendar lines \(/).fill(fields.ical);
  }
  await page.getByLabel(/^User id/).fill(fields.userId ?? '');
  await page.getByLabel('SMS', { exact: true }).setChecked(fields.sms ?? false);
  await page.getByLabel('Occurrences', { exact: true }).fill(fields.count);
  await page.getByLabel(/^After/).fill(fields.after);
  await page.getByRole('button', { name: 'Preview the rule' }).click();
  await page.getByRole('status').filter({ hasText: /previewed|refused/ }).first().waitFor();
}

const occurrences = (page: Page, outcome?: string) => page.locator(`#timeline li.occurrence${outcome ? `[data-outcome="${outcome}"]` : ''}`);

describe('the schedule preview page', () => {
  it('shows a rule across the spring-forward change: deferred at 06:30 by quiet hours, sent at 07:30 after, with the clock change and the quiet hours marked', async () => {
    const watched = await openPreview({ width: 1280, height: 900 });
    const { page } = watched;
    try {
      await previewRule(page, { ical: ACROSS_MARCH, userId: 'ada', sms: true, after: '2026-03-04', count: '6' });
      await expect.poll(() => occurrences(page).count()).toBe(6);

      // Before the change: 06:30 EST, in quiet hours, deferred to 07:00 — the API's reason beside it.
      const deferred = occurrences(page, 'deferred');
      expect(await deferred.count()).toBe(3);
      for (const item of await deferred.all()) {
        const text = await item.innerText();
        expect(text).toMatch(/^06:30/);
        expect(text).toContain('Deferred to 07:00');
        expect(text).toContain('email deferred to 07:00 America/New_York');
        expect(text).toContain('SMS skipped: opted out of category reminders');
        expect(await item.getAttribute('aria-label')).toMatch(/06:30 UTC-05:00 \(11:30 UTC\): Deferred to 07:00/);
      }
      // After it: the same 11:30 UTC is 07:30 EDT, outside quiet hours, sent.
      const sent = occurrences(page, 'sent');
      expect(await sent.count()).toBe(3);
      for (const item of await sent.all()) {
        expect(await item.innerText()).toMatch(/^07:30/);
        expect(await item.getAttribute('aria-label')).toMatch(/07:30 UTC-04:00 \(11:30 UTC\): Sent/);
      }
      // The clock change, on its day, in words; and the quiet hours as bands and as text.
      const changeDay = page.locator('#timeline li.day[data-date="2026-03-08"]');
      await expect.poll(() => changeDay.locator('[data-kind="dst"]').innerText()).toContain('Clocks go forward (DST starts): 02:00 → 03:00, UTC-05:00 → UTC-04:00');
      expect(await changeDay.locator('h3').innerText()).toContain('UTC-05:00 → UTC-04:00');
      expect(await changeDay.locator('.dst-line').count()).toBe(1);
      expect(await page.locator('#timeline .band.quiet').count()).toBeGreaterThanOrEqual(6);
      expect(await page.locator('#timeline [data-kind="quiet-end"]').first().innerText()).toBe('07:00 Quiet hours end');
      expect(await page.locator('#timeline [data-kind="quiet-start"]').first().innerText()).toBe('22:00 Quiet hours begin');

      // The user's preferences that decide — never a contact point.
      const user = await page.locator('#user-summary').innerText();
      expect(user).toContain('America/New_York');
      expect(user).toContain('22:00–07:00');
      expect(user).toContain('reminders: sms');
      const body = await page.locator('body').innerText();
      expect(body).not.toContain(EMAIL);
      expect(body).not.toContain(PHONE);

      // The key stays in this tab: sessionStorage, never localStorage or a cookie.
      expect(await page.evaluate("({ session: sessionStorage.getItem('chime.preview.apiKey'), local: localStorage.length, cookie: document.cookie })")).toEqual({
        session: adminKey,
        local: 0,
        cookie: '',
      });
      expect(await watched.context.cookies()).toEqual([]);

      await page.screenshot({ path: path.join(SCREENSHOTS, 'desktop-march.png'), fullPage: true });
      await page.locator('#results').screenshot({ path: path.join(SCREENSHOTS, 'desktop-timeline.png') });
      expectClean(watched);
    } finally {
      await watched.context.close();
    }
  });

  it('builds a 06:30 rule from the form and shows it across the fall-back change: same wall time, UTC an hour later', async () => {
    const watched = await openPreview({ width: 1280, height: 900 });
    const { page } = watched;
    try {
      await page.getByLabel('Frequency, days, time and zone').check();
      await page.getByLabel('Frequency', { exact: true }).selectOption('DAILY');
      await page.getByLabel('First day').fill('2026-10-30');
      await page.getByLabel('Time', { exact: true }).fill('06:30');
      await page.getByLabel('Time zone (IANA)').fill('America/New_York');
      await previewRule(page, { userId: 'ada', after: '2026-10-29', count: '4' });
      await expect.poll(() => occurrences(page).count()).toBe(4);

      const utc = await occurrences(page).evaluateAll((items) => items.map((item) => new Date(item.getAttribute('data-utc')!).toISOString()));
      expect(utc).toEqual(['2026-10-30T10:30:00.000Z', '2026-10-31T10:30:00.000Z', '2026-11-01T11:30:00.000Z', '2026-11-02T11:30:00.000Z']);
      for (const item of await occurrences(page).all()) {
        expect(await item.getAttribute('data-outcome')).toBe('deferred');
        expect(await item.innerText()).toMatch(/^06:30[\s\S]*Deferred to 07:00/);
      }
      const change = page.locator('#timeline li.day[data-date="2026-11-01"] [data-kind="dst"]');
      expect(await change.innerText()).toContain('Clocks go back (DST ends): 02:00 → 01:00, UTC-04:00 → UTC-05:00');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'desktop-november.png'), fullPage: true });
      expectClean(watched);
    } finally {
      await watched.context.close();
    }
  });

  it("shows an invalid rule's error from the API next to its field, never a blank page", async () => {
    const watched = await openPreview({ width: 1280, height: 900 });
    const { page } = watched;
    try {
      const invalid = 'DTSTART;TZID=America/New_York:20260305T063000\nRRULE:FREQ=DAILY;BYDAY=XX';
      const problem = (await apiRequest('POST', '/v1/previews', { ical: invalid })) as { errors: { field: string; reason: string }[] };
      expect(problem.errors[0]?.field).toBe('body.ical');

      await previewRule(page, { ical: invalid, after: '2026-03-04', count: '3' });
      const icalError = page.locator('#ical-error');
      await icalError.waitFor();
      expect(await icalError.innerText()).toBe(problem.errors[0]!.reason);
      expect(await page.locator('#ical').getAttribute('aria-invalid')).toBe('true');
      expect(await page.evaluate('document.activeElement?.id')).toBe('ical');
      // The error is tied to the field for screen readers.
      expect((await page.locator('#ical').getAttribute('aria-describedby'))!.split(' ')).toContain('ical-error');

      // Built with the form, an unknown zone: the API's reason next to the zone.
      await page.getByLabel('Frequency, days, time and zone').check();
      await page.getByLabel('First day').fill('2026-03-05');
      await page.getByLabel('Time zone (IANA)').fill('Mars/Olympus');
      await page.getByRole('button', { name: 'Preview the rule' }).click();
      const zoneError = page.locator('#zone-error');
      await zoneError.waitFor();
      expect(await zoneError.innerText()).toContain('unknown time zone "Mars/Olympus"');
      expect(await page.locator('#ical-error').isHidden()).toBe(true);

      await page.screenshot({ path: path.join(SCREENSHOTS, 'desktop-invalid.png'), fullPage: true });
      expectClean(watched, 2);
    } finally {
      await watched.context.close();
    }
  });

  it("shows an audience schedule's buckets on a UTC timeline with each zone's recipients", async () => {
    const watched = await openPreview({ width: 1280, height: 900 });
    const { page } = watched;
    try {
      await page.getByLabel('Schedule id').fill('weekly-digest');
      await page.getByLabel('Buckets', { exact: true }).fill('3');
      await page.getByRole('button', { name: 'Preview the schedule' }).click();
      const buckets = page.locator('#schedule-results li.bucket');
      await expect.poll(() => buckets.count()).toBe(3);
      // Monday 7 January 2030 09:00 local: Tokyo at 00:00 UTC, Paris at 08:00, New York at 14:00.
      expect(await buckets.evaluateAll((items) => items.map((i) => i.getAttribute('data-fires-at')))).toEqual([
        '2030-01-07T00:00:00.000Z',
        '2030-01-07T08:00:00.000Z',
        '2030-01-07T14:00:00.000Z',
      ]);
      expect(await buckets.nth(0).innerText()).toMatch(/^00:00 UTC\s+1 recipient\s+Asia\/Tokyo: 09:00 local/);
      expect(await buckets.nth(1).innerText()).toMatch(/^08:00 UTC\s+2 recipients\s+Europe\/Paris: 09:00 local/);
      expect(await buckets.nth(2).innerText()).toMatch(/^14:00 UTC\s+3 recipients\s+America\/New_York: 09:00 local/);
      expect(await page.locator('#schedule-results table.zones caption').innerText()).toBe('Audience now: 6 recipients in 3 zones');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'desktop-schedule.png'), fullPage: true });

      // An unknown schedule: the API's answer next to the id.
      await page.getByLabel('Schedule id').fill('no-such-schedule');
      await page.getByRole('button', { name: 'Preview the schedule' }).click();
      await page.locator('#schedule-id-error').waitFor();
      expect(await page.locator('#schedule-id-error').innerText()).toContain('No such schedule');
      const origin = new URL(api.url).origin;
      // The 404 is the one refusal here (Chromium logs it as a console error).
      const refusals = watched.errors.filter((e) => /status of 404/.test(e.text) && e.url.startsWith(origin));
      expect(refusals).toHaveLength(1);
      watched.errors = watched.errors.filter((e) => !refusals.includes(e));
      expectClean(watched);
    } finally {
      await watched.context.close();
    }
  });

  it('is labelled, reachable by keyboard, free of axe-core violations, and readable 390 px wide', async () => {
    const watched = await openPreview({ width: 390, height: 844 });
    const { page } = watched;
    try {
      await previewRule(page, { ical: ACROSS_MARCH, userId: 'ada', sms: true, after: '2026-03-04', count: '6' });
      await expect.poll(() => occurrences(page).count()).toBe(6);

      // Every control has a label.
      // (Browser-side code is given as strings: this project's TypeScript has no DOM types.)
      const unlabelled = await page.evaluate<string[]>(`[...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => (el.labels?.length ?? 0) === 0 && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map((el) => el.id || el.name)`);
      expect(unlabelled).toEqual([]);

      // From the skip link, Tab reaches the key, the rule, the user, both submit buttons and the schedule id, in that order.
      await page.locator('.skip-link').focus();
      const reached: string[] = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        reached.push(await page.evaluate<string>("document.activeElement?.id || document.activeElement?.textContent?.trim() || ''"));
      }
      const order = ['api-key', 'ical', 'user-id', 'Preview the rule', 'schedule-id', 'Preview the schedule'].map((id) => reached.indexOf(id));
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);

      // axe-core, served to nobody: evaluated by the test in the page (the CSP lets nothing else in).
      await page.evaluate(`${axeSource}\n;void 0`);
      const violations = await page.evaluate<{ id: string; impact: string; targets: string[] }[]>(`(async () => {
        const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
      })()`);
      await writeFile(path.join(SCREENSHOTS, 'axe-violations.json'), `${JSON.stringify(violations, null, 2)}\n`);
      expect(violations).toEqual([]); // none at all, of any impact

      // Phone width: nothing wider than the screen.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'phone-390.png'), fullPage: true });
      await page.locator('#results').screenshot({ path: path.join(SCREENSHOTS, 'phone-390-timeline.png') });
      expectClean(watched);
    } finally {
      await watched.context.close();
    }
  });
});
