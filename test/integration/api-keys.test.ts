/**
 * API keys managed through the API while the service runs, and tenant and user isolation proven
 * from outside with keys made that way: over HTTP with the typed client, and with `chime keys`
 * spawned as an operator runs it — through the API, also when the running service holds the
 * embedded database.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChimeClient, type ChimeClient } from '../../src/client/index.js';
import { TenantId } from '../../src/domain/ids.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const BIN = fileURLToPath(new URL('../../bin/chime.js', import.meta.url));

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const as = (apiKey: string): ChimeClient => createChimeClient({ baseUrl: stack.url, apiKey, maxRetries: 0 });
const rule = { dtstart: '2030-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' };

describe('API keys through the API', () => {
  it('creates admin and user keys (the token once, a hash stored), lists them without secrets, and revokes at once', async () => {
    const admin = stack.api;
    const ann = await admin.apiKeys.create({ scope: 'user', userId: 'iso-ann', label: "Ann's app" });
    expect(ann).toMatchObject({ scope: 'user', userId: 'iso-ann', label: "Ann's app", token: expect.stringMatching(/^chime_user_[a-z0-9]{16}_/) });
    const second = await admin.apiKeys.create({ scope: 'admin', label: 'ops' });
    const listed = (await admin.apiKeys.list()).data;
    expect(listed.map((k) => k.id)).toEqual(expect.arrayContaining([ann.id, second.id]));
    expect(JSON.stringify(listed)).not.toContain(ann.token.slice(-43)); // the secret: 43 base64url characters, which may hold '_'

    expect((await as(ann.token).reminders.page()).data).toEqual([]);
    await admin.apiKeys.revoke(ann.id);
    await expect(as(ann.token).reminders.page()).rejects.toMatchObject({ status: 401 });
    expect((await admin.apiKeys.list()).data.find((k) => k.id === ann.id)).toMatchObject({ revokedAt: expect.any(String) });
  });

  it('refuses what a key must not do: a user key managing keys, a key revoking itself, a user key without its user', async () => {
    const ben = await stack.api.apiKeys.create({ scope: 'user', userId: 'iso-ben' });
    await expect(as(ben.token).apiKeys.create({ scope: 'admin' })).rejects.toMatchObject({ status: 403 });
    await expect(as(ben.token).apiKeys.list()).rejects.toMatchObject({ status: 403 });
    const ops = await stack.api.apiKeys.create({ scope: 'admin' });
    await expect(as(ops.token).apiKeys.revoke(ops.id)).rejects.toMatchObject({ status: 409 });
    await expect(stack.api.apiKeys.create({ scope: 'user' })).rejects.toMatchObject({ status: 400, errors: [{ field: 'body.userId' }] });
    await expect(stack.api.apiKeys.create({ scope: 'admin', userId: 'x' })).rejects.toMatchObject({ status: 400, errors: [{ field: 'body.userId' }] });
  });

  it('isolates tenants and users, proven with keys created through the API', async () => {
    // A second tenant's first key is made by the operator (database); everything after goes through the API.
    const globex = as(await stack.createKey({ tenantId: TenantId('globex') }));
    const [carol, dave, eve] = await Promise.all([
      stack.api.apiKeys.create({ scope: 'user', userId: 'iso-carol' }),
      stack.api.apiKeys.create({ scope: 'user', userId: 'iso-dave' }),
      globex.apiKeys.create({ scope: 'user', userId: 'iso-carol' }), // same user id, other tenant
    ]);
    const mine = await as(carol.token).reminders.create({ userId: 'iso-carol', email: 'carol@example.com', title: 'Carol', body: '', recurrence: rule });
    // Another user of the tenant: the reminder does not exist for them.
    await expect(as(dave.token).reminders.get(mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(as(dave.token).reminders.create({ userId: 'iso-carol', email: 'x@example.com', title: 'x', body: '', recurrence: rule })).rejects.toMatchObject({ status: 403 });
    expect((await as(dave.token).reminders.page()).data).toEqual([]);
    // Another tenant, even with the same user id: nothing of acme exists.
    await expect(as(eve.token).reminders.get(mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(globex.reminders.get(mine.id)).rejects.toMatchObject({ status: 404 });
    expect((await globex.apiKeys.list()).data.map((k) => k.id)).not.toContain(carol.id);
    await expect(globex.apiKeys.revoke(carol.id)).rejects.toMatchObject({ status: 404 });
    expect((await as(carol.token).reminders.get(mine.id)).id).toBe(mine.id);
  });
});

describe('chime keys while the service runs', () => {
  // Spawned without blocking: the API it calls is served by this very process.
  const chime = (args: string[], env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'keys', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
    });

  it('creates, lists and revokes through the API when asked to (CHIME_API_URL / CHIME_API_KEY)', async () => {
    const env = { CHIME_API_URL: stack.url, CHIME_API_KEY: stack.adminKey };
    const created = await chime(['create', '--user', 'cli-user', '--label', 'from the CLI'], env);
    expect(created.status, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect((await as(token).reminders.page()).data).toEqual([]);
    const keyId = token.split('_')[2] ?? '';
    expect((await chime(['list'], env)).stdout).toMatch(new RegExp(`${keyId}\\s+user\\s+cli-user\\s+active\\s+from the CLI`));
    expect((await chime(['revoke', '--key', keyId], env)).status).toBe(0);
    await expect(as(token).reminders.page()).rejects.toMatchObject({ status: 401 });
  });

  it('goes through the running service when it holds the embedded database', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chime-keys-'));
    try {
      // The embedded stack's files: its database lock held by a live process (this one), its admin key.
      await writeFile(path.join(dataDir, 'pglite.lock'), String(process.pid));
      await writeFile(path.join(dataDir, 'admin-api-key'), `${stack.adminKey}\n`);
      const { hostname, port } = new URL(stack.url);
      const env = { CHIME_DATA_DIR: dataDir, CHIME_API_HOST: hostname, CHIME_API_PORT: port, CHIME_API_URL: '', CHIME_API_KEY: '', DATABASE_URL: '' };
      const created = await chime(['create', '--tenant', 'acme'], env);
      expect(created.status, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/in use by the running service; going through its API/);
      expect((await as(created.stdout.trim()).apiKeys.list()).data.length).toBeGreaterThan(0); // an admin key of acme
      // Without --tenant, straight to the running service: the calling key's tenant.
      const plain = await chime(['create', '--user', 'no-tenant-flag'], env);
      expect(plain.status, plain.stderr).toBe(0);
      expect((await as(plain.stdout.trim()).reminders.page()).data).toEqual([]);
      // Through the API, a key makes keys of its own tenant only: another tenant is refused, not silently swapped.
      const other = await chime(['create', '--tenant', 'initech'], env);
      expect(other.status).toBe(2);
      expect(other.stderr).toMatch(/this admin key belongs to tenant acme; keys of tenant initech/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
