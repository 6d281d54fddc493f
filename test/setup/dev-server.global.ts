/**
 * Global setup of the `integration` project: ONE real Temporal dev server for the whole run
 * (in memory, headless, Chime's search attributes registered) and ONE workflow bundle, written to
 * a file that every test file's worker loads. Test files isolate themselves by task queue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { bundleWorkflows } from '../../src/temporal/worker.js';
import { freePort } from '../support/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const cliPath = resolveTool('cli');
  const [server, bundle] = await Promise.all([
    freePort().then((port) => startDevServer({ cliPath, port })),
    bundleWorkflows(),
  ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chime-bundle-'));
  const workflowBundlePath = path.join(dir, 'workflows.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
