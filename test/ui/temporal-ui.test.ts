/**
 * The Temporal Web UI, checked in a real browser (Debian's Chromium driven by playwright-core):
 * what an operator sees of a reminder. The embedded stack is assembled as `npm start` assembles it
 * (src/entry/runtime.ts) on loopback and free ports — a dev server with its UI, PGlite in a
 * temporary directory, one worker, the HTTP API, email to the file sink. A daily reminder is
 * created through the API, due a few seconds ahead; once its first decision is recorded, the
 * browser opens the workflow list filtered by `ChimeUserId`, then the workflow, and the search
 * attributes, the summary and the current details ("last decision: …") must be on the page — and
 * no email address anywhere. Full-page screenshots go to test-results/ui/ (git-ignored).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { ensureAdminKey } from '../../src/auth/bootstrap.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createSenders, DEFAULT_TENANT, openStorage, startApi, startWorker, type Senders } from '../../src/entry/runtime.js';
import type { OpenedDatabase } from '../../src/storage/database.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../support/ports.js';
import { REPO_ROOT, waitUntil } from '../support/processes.js';

const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'ui');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const USER = 'ada';
const EMAIL = 'ada@example.com';
/** Anything that looks like an email address (not a build id such as `@temporalio/worker@1.24.0`). */
const EMAIL_PATTERN = /[\w.+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}\b/;

let dataDir: string;
let config: Config;
let server: DevServer;
let storage: OpenedDatabase;
let senders: Senders;
let worker: Awaited<ReturnType<typeof startWorker>>;
let api: Awaited<ReturnType<typeof startApi>>;
let adminKey: string;
let connection: Connection;
let browser: Browser;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-ui-'));
  // The dev server needs its ports named; the API binds whatever port is free when it starts (api.url):
  // a port picked now and bound only after the dev server and the worker are up was taken meanwhile once.
  const [temporalPort, uiPort] = [await freePort(), await freePort()];
  config = loadConfig({
    CHIME_DATA_DIR: dataDir,
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    CHIME_API_PORT: '0',
    CHIME_LOG_LEVEL: 'silent',
  });
  server = await startDevServer({ cliPath: resolveTool('cli'), port: config.temporal.devServerPort, uiPort: config.temporal.uiPort });
  storage = await openStorage(config);
  const keyFile = path.join(dataDir, 'admin-api-key');
  await ensureAdminKey(storage.db, DEFAULT_TENANT, keyFile);
  adminKey = (await readFile(keyFile, 'utf8')).trim();
  senders = createSenders(config); // no SMTP_URL: email goes to .eml files in the data directory
  worker = await startWorker(config, storage, senders);
  api = await startApi(config, storage);
  connection = await Connection.connect({ address: server.address });
  // The UI's web server comes up after the frontend answers.
  await waitUntil('the Temporal UI to serve', async () => (await fetch(server.uiUrl!)).ok, { timeoutMs: 60_000 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await rm(SCREENSHOTS, { recursive: true, force: true }); // this file's alone: no stale failure.png
  await mkdir(SCREENSHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await worker?.close().catch(() => undefined);
  await senders?.close().catch(() => undefined);
  await storage?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 120_000);

async function apiRequest<T>(method: 'GET' | 'POST', pathname: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(pathname, api.url), {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json', 'idempotency-key': randomUUID() } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Created {
  id: string;
  description: string;
  workflowId: string;
}
interface Decision {
  kind: string;
  occurrence: { scheduledFor: string };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The page's visible text and that of its frames (the UI renders user metadata in iframes). */
async function visibleText(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText().catch(() => '')));
  return texts.join('\n');
}

async function expectNoEmailAddress(page: Page): Promise<void> {
  const text = await visibleText(page);
  expect(text).not.toContain(EMAIL);
  expect(text).not.toMatch(EMAIL_PATTERN);
}

describe('the Temporal UI shows a reminder to an operator', () => {
  it('finds it by ChimeUserId and shows its search attributes, summary and last decision', async () => {
    // A daily reminder whose first occurrence is a few seconds ahead: after it is decided the
    // workflow sleeps until tomorrow, so it is still running and answers the UI's metadata query.
    const dtstart = `${new Date(Date.now() + 8_000).toISOString().slice(0, 19)}Z`;
    const title = 'Stand-up';
    const created = await apiRequest<Created>('POST', '/v1/reminders', {
      userId: USER,
      email: EMAIL,
      title,
      body: 'In 10 minutes.',
      channels: ['email'],
      recurrence: { dtstart, tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
    });
    const summary = `${title} — ${created.description}`;

    const decision = await waitUntil(
      'the first decision to be recorded',
      async () => (await apiRequest<{ data: Decision[] }>('GET', `/v1/reminders/${created.id}/decisions`)).data.find((d) => d.kind === 'delivered'),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const outbox = await readdir(path.join(dataDir, 'outbox', 'email'));
    expect(outbox.filter((f) => f.endsWith('.eml'))).toHaveLength(1);

    // The list page does not refresh by itself: wait until visibility has the workflow with its
    // status after the decision, which is what the UI's query reads.
    const query = `ChimeUserId="${USER}"`;
    const client = new Client({ connection });
    await waitUntil(
      'visibility to list the reminder',
      async () => {
        for await (const w of client.workflow.list({ query: `${query} AND ChimeStatus="active"` })) if (w.workflowId === created.workflowId) return true;
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();

      // The workflow list, filtered as an operator would: the filter shows as a chip, the reminder as a row.
      await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      await page.getByText(`ChimeUserId = "${USER}"`).first().waitFor();
      const row = page.getByRole('link', { name: created.workflowId, exact: true });
      await row.waitFor();
      await screenshot(page, '01-workflow-list');
      await expectNoEmailAddress(page);

      // The workflow page, from the row.
      await row.click();
      await page.waitForURL((url) => url.pathname.startsWith(`/namespaces/default/workflows/${encodeURIComponent(created.workflowId)}/`));
      await page.getByRole('heading', { name: created.workflowId }).waitFor();
      await page.getByText(/^running$/i).first().waitFor(); // the status badge (upper case by CSS)
      await screenshot(page, '02-workflow');
      await expectNoEmailAddress(page);

      // User Metadata: the summary given at start, and the current details the workflow sets on
      // each decision (read live from the worker). The UI renders both as markdown in iframes.
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await page.frameLocator('#user-metadata-summary').getByText(summary, { exact: true }).waitFor();
      await page
        .frameLocator('#user-metadata-current-details')
        .getByText(`last decision: delivered for ${decision.occurrence.scheduledFor}`, { exact: true })
        .waitFor();
      await screenshot(page, '03-user-metadata');
      await expectNoEmailAddress(page);

      // Search Attributes: a read-only JSON view, one attribute per line.
      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      const attributes = page.getByRole('textbox', { name: 'Search Attributes' });
      for (const [name, value] of [
        ['ChimeTenantId', 'default'],
        ['ChimeUserId', USER],
        ['ChimeReminderId', created.id],
        ['ChimeStatus', 'active'],
      ] as const) {
        await attributes.getByText(`"${name}": "${value}"`).waitFor();
      }
      await attributes.getByText('"ChimeNextOccurrence": ').waitFor();
      await screenshot(page, '04-search-attributes');
      await expectNoEmailAddress(page);
    } catch (error) {
      // What the page showed, for the failure: a screenshot and its text next to the others.
      for (const page of context.pages()) {
        await screenshot(page, 'failure').catch(() => undefined);
        await writeFile(path.join(SCREENSHOTS, 'failure.txt'), `${page.url()}\n\n${await visibleText(page)}`).catch(() => undefined);
      }
      throw error;
    } finally {
      await context.close();
    }
  });
});
