/** The typed client the CLI's API-backed commands use: `--api`/`--key`, else CHIME_API_URL/CHIME_API_KEY, else the local API and data/admin-api-key. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createChimeClient, type ChimeClient } from '../../client/index.js';
import { loadConfig } from '../../config.js';

export class CliUsageError extends Error {}

export async function cliClient(values: { api?: string | undefined; key?: string | undefined }): Promise<ChimeClient> {
  const config = loadConfig();
  const baseUrl = values.api ?? config.cli.apiUrl ?? `http://${config.api.host}:${config.api.port}`;
  const apiKey = values.key ?? config.cli.apiKey ?? (await readFile(path.join(config.dataDir, 'admin-api-key'), 'utf8').catch(() => '')).trim();
  if (!apiKey) throw new CliUsageError('no API key: pass --key, set CHIME_API_KEY, or run the embedded stack once (data/admin-api-key)');
  return createChimeClient({ baseUrl, apiKey });
}
