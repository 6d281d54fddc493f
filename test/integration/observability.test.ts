/**
 * What an operator sees of a running Chime, judged from outside: `npm start`'s entry point runs as a
 * child process (dev server, PGlite, worker and API in one process), a reminder goes out by email
 * and SMS, and then
 * - every log line is one JSON object; the lines about the delivery carry the request, tenant,
 *   workflow, reminder, occurrence and idempotency key, and the Temporal SDK's own lines come
 *   through the same logger — and no line anywhere holds the email address, the phone number, the
 *   title or the body;
 * - the API's and the worker's `/metrics` count the deliveries, the decision, the lateness, the
 *   provider calls, the breaker state and the ledger claims; the SDK's Prometheus endpoint answers;
 * - SIGTERM stops it all and the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../support/ports.js';
import { REPO_ROOT, waitUntil } from '../support/processes.js';
import { utcWallTime } from '../support/stack.js';

const EMAIL = 'grace.hopper@example.com';
const PHONE = '+33612345678';
const TITLE = 'Cobol review 7f3a';
const BODY = 'Bring the nanosecond wire 9c1e';

interface LogLine {
  level: number;
  msg: string;
  service?: string;
  [field: string]: unknown;
}

let dataDir: string;
let child: ChildProcess;
let output = '';
let exited: Promise<number | null>;
// The dev server and the SDK's exporter need their ports named; the API and the worker's metrics bind
// whatever is free when they start (a port picked early can be taken meanwhile) and the up line says where.
const ports = { temporal: 0, ui: 0, sdkMetrics: 0 };
const urls = { api: '', workerMetrics: '' };

const lines = () => output.split('\n').filter((line) => line.trim() !== '');
const jsonLines = () => lines().flatMap((line): LogLine[] => (line.startsWith('{') ? [JSON.parse(line) as LogLine] : []));
const api = (pathname: string, init: RequestInit & { key: string }) =>
  fetch(`${urls.api}${pathname}`, {
    ...init,
    headers: { authorization: `Bearer ${init.key}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
const metricValue = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-observability-'));
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
  child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'entry', 'start.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CHIME_DATA_DIR: dataDir,
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      CHIME_API_PORT: '0',
      CHIME_WORKER_METRICS_ADDRESS: '127.0.0.1:0',
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${ports.sdkMetrics}`,
      CHIME_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await waitUntil('Chime is up', () => jsonLines().some((l) => l.msg.startsWith('Chime is up')), {
    timeoutMs: 120_000,
    describe: () => output.slice(-2_000),
  });
  const up = jsonLines().find((l) => l.msg.startsWith('Chime is up'))!;
  [urls.api, urls.workerMetrics] = [String(up.api), String(up.workerMetrics)];
}, 150_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('logs and metrics of a running Chime', () => {
  it('delivers, counts and logs a reminder with ids only, and exits 0 on SIGTERM', async () => {
    const key = (await readFile(path.join(dataDir, 'admin-api-key'), 'utf8')).trim();
    const prefs = await api('/v1/users/grace/preferences', {
      key,
      method: 'PUT',
      body: JSON.stringify({ timeZone: 'UTC', contacts: { email: { address: EMAIL, verified: true }, sms: { number: PHONE, verified: true } } }),
    });
    expect(prefs.status, await prefs.text()).toBe(200);
    const created = await api('/v1/reminders', {
      key,
      method: 'POST',
      headers: { 'idempotency-key': 'observability-1', 'x-request-id': 'req-observability-1' },
      body: JSON.stringify({ userId: 'grace', email: EMAIL, title: TITLE, body: BODY, channels: ['email', 'sms'], recurrence: { dtstart: utcWallTime(3_000), tzid: 'UTC' } }),
    });
    const reminder = (await created.json()) as { id: string; workflowId: string };
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('req-observability-1');

    const deliveries = await waitUntil(
      'both channels sent',
      async () => {
        const response = await api(`/v1/reminders/${reminder.id}/deliveries`, { key });
        const { data } = (await response.json()) as { data: { channel: string; status: string; idempotencyKey: string }[] };
        return data.filter((d) => d.status === 'sent').length === 2 ? data : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const keys = deliveries.map((d) => d.idempotencyKey);

    // The API's /metrics: this process runs the worker too, so one registry holds both.
    const apiMetrics = await waitUntil(
      'the decision counted',
      async () => {
        const text = await (await fetch(`${urls.api}/metrics`)).text();
        return metricValue(text, 'chime_decisions_total{kind="sent",reason=""}') === 1 ? text : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const channel of ['email', 'sms']) {
      expect(metricValue(apiMetrics, `chime_deliveries_total{channel="${channel}",outcome="sent"}`)).toBe(1);
      expect(metricValue(apiMetrics, `chime_deliveries_total{channel="${channel}",outcome="failed"}`)).toBe(0);
      expect(metricValue(apiMetrics, `chime_delivery_lateness_seconds_count{channel="${channel}",deferred="false"}`)).toBe(1);
      expect(metricValue(apiMetrics, `chime_provider_request_duration_seconds_count{channel="${channel}",outcome="accepted"}`)).toBe(1);
      expect(metricValue(apiMetrics, `chime_circuit_breaker_state{channel="${channel}",state="closed"}`)).toBe(1);
      expect(metricValue(apiMetrics, `chime_circuit_breaker_state{channel="${channel}",state="open"}`)).toBe(0);
    }
    expect(metricValue(apiMetrics, 'chime_ledger_claims_in_flight')).toBe(0);
    expect(metricValue(apiMetrics, 'chime_http_request_duration_seconds_count{method="POST",route="/v1/reminders",status_code="201"}')).toBe(1);
    expect(apiMetrics).toMatch(/^process_cpu_seconds_total /m);
    // Route templates, never ids, in labels.
    expect(apiMetrics).not.toContain(reminder.id);

    const workerMetrics = await (await fetch(urls.workerMetrics)).text();
    expect(metricValue(workerMetrics, 'chime_deliveries_total{channel="email",outcome="sent"}')).toBe(1);
    const sdkMetrics = await (await fetch(`http://127.0.0.1:${ports.sdkMetrics}/metrics`)).text();
    expect(sdkMetrics).toMatch(/^temporal_workflow_task_execution_latency_seconds_count\{/m);
    expect(sdkMetrics).toMatch(/^temporal_activity_execution_latency_seconds_count\{/m);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // Every line is one JSON object.
    const all = lines();
    const json = jsonLines();
    expect(all.filter((line) => !line.startsWith('{')), 'lines that are not JSON').toEqual([]);
    // Never a contact point or a message.
    for (const secret of [EMAIL, PHONE, TITLE, BODY]) expect(output).not.toContain(secret);

    const created201 = json.find((l) => l.msg === 'reminder created');
    expect(created201).toMatchObject({ reqId: 'req-observability-1', tenantId: 'default', reminderId: reminder.id, workflowId: reminder.workflowId });
    const completed = json.find((l) => l.msg === 'request completed' && l.reqId === 'req-observability-1');
    expect(completed).toMatchObject({ tenantId: 'default' });
    for (const idempotencyKey of keys) {
      expect(json.find((l) => l.msg === 'delivery settled' && l.idempotencyKey === idempotencyKey)).toMatchObject({
        outcome: 'sent',
        reminderId: reminder.id,
        workflowId: reminder.workflowId,
        tenantId: 'default',
        recurrenceId: expect.any(String),
      });
    }
    expect(json.find((l) => l.msg === 'decision recorded')).toMatchObject({ reminderId: reminder.id, workflowId: reminder.workflowId, kind: 'sent' });
    // The SDK's own lines (worker state, core) come through the same JSON logger.
    expect(json.some((l) => typeof l.sdkComponent === 'string')).toBe(true);
  }, 240_000);
});

describe('the JSON logger', () => {
  it('censors fields that could hold a contact point or a message, at the top and one level down', () => {
    const written: string[] = [];
    const logger = createLogger({
      level: 'info',
      service: 'test',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          written.push(chunk.toString());
          done();
        },
      }),
    });
    logger.info({ to: EMAIL, email: EMAIL, phone: PHONE, message: { body: BODY, subject: TITLE, text: BODY }, reminderId: 'rem_1' }, 'x');
    const line = written.join('');
    for (const secret of [EMAIL, PHONE, TITLE, BODY]) expect(line).not.toContain(secret);
    expect(JSON.parse(line)).toMatchObject({ reminderId: 'rem_1', service: 'test', to: '[redacted]' });
  });
});
