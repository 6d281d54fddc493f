/**
 * Workflow histories recorded from the tests, replayed by test/integration/replay.test.ts so that a
 * change to workflow code that running reminders could not replay fails CI.
 *
 * The folder is append-only: a history, once committed, is never re-recorded or edited — a change
 * that alters commands goes behind `patched()` and must still replay it. Record the histories a new
 * scenario adds (existing files are left as they are):
 *   CHIME_RECORD_HISTORIES=1 npx vitest run --project integration --project timeskipping
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { ONE_STEP_SEND_PATCH } from '../../workflows/reminder.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * The workflow code generation new recordings belong to: the name of the newest patch. When a change
 * goes behind a new `patched()`, set this to its name, so every scenario is recorded again under the
 * new code, beside the older generations' files (histories from before any patch have no suffix).
 */
export const HISTORY_GENERATION = ONE_STEP_SEND_PATCH;

/** Saves the history of the handle's run (proto3 JSON, what `historyFromJSON` reads) unless one by that name exists. */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.CHIME_RECORD_HISTORIES !== '1') return;
  const file = path.join(HISTORIES_DIR, `${name}.${HISTORY_GENERATION}.json`);
  if (await exists(file)) return; // append-only: never re-record
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(file, historyToJSON(await handle.fetchHistory()));
}

/** Polls `probe` until it returns a value (visibility is eventually consistent). */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The workflow's state once it has planned its next occurrence (a query right after start may precede the first plan). */
export async function plannedState<S extends { next?: unknown }>(query: () => Promise<S>): Promise<S & { next: NonNullable<S['next']> }> {
  return eventually(async () => {
    const state = await query();
    return state.next === undefined ? undefined : (state as S & { next: NonNullable<S['next']> });
  });
}
