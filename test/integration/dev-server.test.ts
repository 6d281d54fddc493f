/** The run's dev server is the real Temporal server with Chime's search attributes registered. */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { resolveTool } from '../../scripts/temporal-tools.mjs';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { devServerArgs, startDevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../support/ports.js';

/** SQLite's file format version bytes (offsets 18 and 19 of the header): 2 in WAL mode, 1 with a rollback journal. */
async function sqliteJournalVersions(file: string): Promise<[number, number]> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(20);
    await handle.read(header, 0, 20, 0);
    return [header[18]!, header[19]!];
  } finally {
    await handle.close();
  }
}

describe('Temporal dev server for the test run', () => {
  it('has every Chime search attribute registered with its type', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const key of SEARCH_ATTRIBUTES) {
        expect(customAttributes?.[key.name], key.name).toBeDefined();
      }
    } finally {
      await connection.close();
    }
  });

  it('starts headless and in memory unless given a UI port and a database file', () => {
    const args = devServerArgs({ cliPath: 'temporal', port: 7233 });
    expect(args).toContain('--headless');
    expect(args).not.toContain('--db-filename');
    const persistent = devServerArgs({ cliPath: 'temporal', port: 7233, uiPort: 8233, dbFile: '/data/t.sqlite' });
    expect(persistent).toEqual(expect.arrayContaining(['--ui-port', '8233', '--db-filename', '/data/t.sqlite']));
    expect(persistent).not.toContain('--headless');
    expect(persistent.join(' ')).toContain('--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=full');
    expect(args).not.toContain('--sqlite-pragma');
  });

  it('keeps its SQLite file in WAL mode, and its state across a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chime-devserver-'));
    const dbFile = path.join(dir, 'temporal.sqlite');
    const cliPath = resolveTool('cli');
    const port = await freePort();
    const workflowId = 'wal-survivor';
    try {
      /** Runs `use` against a server on the file, then stops the server whatever happened. */
      const withServer = async (use: (client: Client) => Promise<void>) => {
        const server = await startDevServer({ cliPath, port, dbFile, readyTimeoutMs: 60_000 });
        try {
          const connection = await Connection.connect({ address: server.address });
          try {
            await use(new Client({ connection }));
          } finally {
            await connection.close();
          }
        } finally {
          await server.stop();
        }
      };
      await withServer(async (client) => {
        await client.workflow.start('nobodyRunsThis', { taskQueue: 'no-worker', workflowId });
        expect(await sqliteJournalVersions(dbFile)).toEqual([2, 2]);
      });
      await withServer(async (client) => {
        const described = await client.workflow.getHandle(workflowId).describe();
        expect(described.status.name).toBe('RUNNING');
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000); // two servers on a file: each may take up to 60 s to serve and 10 s to stop
});
