/**
 * Global setup of the `timeskipping` project: resolves the time-skipping test server binary
 * (offline, see scripts/temporal-tools.mjs) and bundles the workflows once. Each test file starts its
 * own time-skipping server, since skipped time is global to a server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { bundleWorkflows } from '../../src/temporal/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testServerPath: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const testServerPath = resolveTool('testServer');
  const bundle = await bundleWorkflows();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chime-bundle-'));
  const workflowBundlePath = path.join(dir, 'workflows.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('testServerPath', testServerPath);
  project.provide('workflowBundlePath', workflowBundlePath);
  return () => rm(dir, { recursive: true, force: true });
}
