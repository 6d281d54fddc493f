/**
 * Upgrading a running reminder: a reminder started by the release before the state machine
 * (its workflow code taken from git) keeps going when the new worker takes over — the new code
 * replays its history through the frozen v1 loop, which hands over by continuing as new at its
 * next turn — and every occurrence is delivered exactly once across the upgrade.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createStoragePersistence } from '../../src/reminders/persistence.js';
import { createReminderService } from '../../src/reminders/service.js';
import { bundleWorkflows, createChimeWorker } from '../../src/temporal/worker.js';
import { STATE_MACHINE_PATCH, type ReminderState } from '../../workflows/reminder.js';
import { V1_HANDS_OVER } from '../../workflows/reminder-v1.js';
import { eventually, recordHistory } from '../support/histories.js';
import { startTestStack, utcWallTime, type TestStack } from '../support/stack.js';

/** The last release before the state machine. */
const PREVIOUS_RELEASE = '1620b22';
const root = fileURLToPath(new URL('../../', import.meta.url));
const checkout = path.join(root, '.scratch', `release-${PREVIOUS_RELEASE}-${process.pid}`);

let stack: TestStack;
let previous: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  stack = await startTestStack();
  mkdirSync(checkout, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${PREVIOUS_RELEASE} workflows src/domain | tar -x -C "${checkout}"`], { cwd: root });
  previous = await bundleWorkflows(path.join(checkout, 'workflows', 'index.ts'));
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(checkout, { recursive: true, force: true });
});

const markers = async (workflowId: string, runId: string) =>
  ((await stack.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [])
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .map((m) => JSON.parse(Buffer.from(m!.details!['patch-data']!.payloads![0]!.data!).toString()).id as string);

describe('upgrading a running reminder', () => {
  it('hands a reminder started by the previous release over to the state machine, delivering each occurrence once', { timeout: 120_000 }, async () => {
    const taskQueue = `${stack.taskQueue}-upgrade`;
    const service = createReminderService({ workflows: stack.client.workflow, taskQueue, persistence: createStoragePersistence(stack.database.db) });
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const workerOn = (workflowBundle: WorkflowBundleWithSourceMap | { codePath: string }) =>
      createChimeWorker({ connection, namespace: 'default', taskQueue, workflowBundle, activities: stack.activities() });

    const first = Date.parse(`${utcWallTime(2_000)}Z`);
    const reminder = await service.create({ tenantId: stack.tenantId }, {
      userId: 'uma',
      email: 'uma@example.com',
      title: 'Upgrade window',
      body: '',
      recurrence: { dtstart: new Date(first).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=6;COUNT=3' },
    });
    const mails = () => stack.smtp.received.filter((m) => m.to.includes('uma@example.com'));
    const old = await workerOn(previous);
    await old.runUntil(eventually(async () => (mails().length === 1 ? true : undefined)));

    const upgraded = await workerOn({ codePath: inject('workflowBundlePath') });
    const handle = stack.client.workflow.getHandle(reminder.workflowId);
    const { runId: firstRun } = await handle.describe();
    const result = (await upgraded.runUntil(handle.result())) as ReminderState;
    await connection.close();

    expect(result.status).toBe('completed');
    expect(result.decisions.map((d) => [d.kind, d.occurrence.scheduledFor])).toEqual(
      [0, 6_000, 12_000].map((ms) => ['delivered', new Date(first + ms).toISOString().replace('.000Z', 'Z')]),
    );
    expect(mails()).toHaveLength(3);
    expect(new Set(mails().map((m) => m.headers['message-id'])).size).toBe(3);
    const { runId: lastRun } = await handle.describe();
    expect(lastRun).not.toBe(firstRun);
    expect(await markers(reminder.workflowId, firstRun)).toEqual([V1_HANDS_OVER]);
    expect(await markers(reminder.workflowId, lastRun)).toContain(STATE_MACHINE_PATCH);
    await recordHistory('v1-hands-over', stack.client.workflow.getHandle(reminder.workflowId, firstRun));
  });
});
