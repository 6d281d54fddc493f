/**
 * Workflow histories recorded from the integration tests, replayed by test/integration/replay.test.ts
 * so that a non-deterministic change to workflow code fails CI.
 *
 * Record (overwrites test/fixtures/histories/): CHIME_RECORD_HISTORIES=1 npx vitest run --project integration
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { resolveTool } from '../../scripts/temporal-tools.mjs';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

/** Saves the handle's history as the Temporal CLI prints it (proto3 JSON, what `historyFromJSON` reads). */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.CHIME_RECORD_HISTORIES !== '1') return;
  const json = execFileSync(
    resolveTool('cli'),
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', inject('temporalAddress'), '--output', 'json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(path.join(HISTORIES_DIR, `${name}.json`), json);
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
