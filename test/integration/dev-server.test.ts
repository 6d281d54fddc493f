/** The run's dev server is the real Temporal server with Chime's search attributes registered. */
import { describe, expect, inject, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { devServerArgs } from '../../src/temporal/dev-server.js';

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
  });
});
