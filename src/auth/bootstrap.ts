/**
 * The embedded stack's first run: a default tenant and one admin API key, whose token is written
 * once to a file only the owner can read. Later runs reuse it. Production creates keys with
 * `npx chime keys create`.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { TenantId } from '../domain/ids.js';
import { createApiKeyStore } from '../storage/api-keys.js';
import type { Database } from '../storage/schema.js';
import { createTenantStore } from '../storage/tenants.js';
import { generateApiKey, parseToken } from './api-keys.js';

export async function ensureAdminKey(db: Kysely<Database>, tenantId: TenantId, tokenFile: string): Promise<{ created: boolean }> {
  const keys = createApiKeyStore(db);
  await createTenantStore(db).ensure({ id: tenantId, name: tenantId });
  const existing = await readFile(tokenFile, 'utf8').then(
    (text) => parseToken(text.trim()),
    () => undefined,
  );
  if (existing && (await keys.findActive(existing.keyId))) return { created: false };
  const key = generateApiKey('admin');
  await keys.create({ id: key.keyId, tenantId, scope: 'admin', secretHash: key.secretHash, label: 'embedded admin' });
  await writeFile(tokenFile, `${key.token}\n`, { mode: 0o600 });
  await chmod(tokenFile, 0o600);
  return { created: true };
}
