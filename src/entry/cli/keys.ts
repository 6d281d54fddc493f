/**
 * `npx chime keys create [--tenant <id>] [--user <id>] [--label <text>]` prints a new API key's
 * token once (only its hash is stored); `keys list`; `keys revoke --key <key id>`.
 *
 * Through the API (`--api`/`--key`, CHIME_API_URL/CHIME_API_KEY) for the tenant of the admin key
 * used — which is how it works while the service runs, and the only way on the embedded database,
 * which one process holds; also when no `--tenant` is given. Straight to the database with
 * `--tenant`: the way to make a tenant's first key.
 */
import { parseArgs } from 'node:util';
import { generateApiKey } from '../../auth/api-keys.js';
import { loadConfig } from '../../config.js';
import { TenantId, UserId } from '../../domain/ids.js';
import { isStorageError, StorageErrorType } from '../../storage/errors.js';
import { createStores } from '../../storage/index.js';
import { openStorage } from '../runtime.js';
import { cliClient, CliUsageError } from './api-client.js';

const USAGE =
  'usage: chime keys create [--tenant <id>] [--user <id>] [--label <text>] | keys list [--tenant <id>] | keys revoke [--tenant <id>] --key <key id>\n' +
  '       [--api <url> --key-token <admin token>]: through the API (also CHIME_API_URL / CHIME_API_KEY)';

interface KeyArgs {
  action: 'create' | 'list' | 'revoke';
  tenant?: string | undefined;
  user?: string | undefined;
  label?: string | undefined;
  key?: string | undefined;
}

async function viaApi(args: KeyArgs, connection: { api?: string | undefined; key?: string | undefined }): Promise<number> {
  const api = await cliClient(connection);
  // Through the API a key acts in its own tenant: another tenant's keys are made with the database.
  const { tenantId } = await api.apiKeys.list();
  if (args.tenant !== undefined && args.tenant !== tenantId) {
    throw new CliUsageError(
      `this admin key belongs to tenant ${tenantId}; keys of tenant ${args.tenant} are made with its own admin key, or — its first one — ` +
        'straight in the database (stop the embedded stack first, or use PostgreSQL, where the CLI runs alongside the service)',
    );
  }
  if (args.action === 'create') {
    const created = await api.apiKeys.create(
      { scope: args.user ? 'user' : 'admin', ...(args.user ? { userId: args.user } : {}), ...(args.label ? { label: args.label } : {}) },
      { idempotencyKey: `cli-key-${Date.now()}-${Math.random().toString(36).slice(2)}` },
    );
    process.stdout.write(`${created.token}\n`);
    process.stderr.write(`key ${created.id} created through the API; the token above is shown once\n`);
    return 0;
  }
  if (args.action === 'list') {
    for (const k of (await api.apiKeys.list()).data) process.stdout.write(`${k.id}  ${k.scope.padEnd(5)} ${k.userId ?? '-'}  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}  ${k.label ?? ''}\n`);
    return 0;
  }
  if (!args.key) throw new CliUsageError(USAGE);
  await api.apiKeys.revoke(args.key);
  process.stdout.write(`revoked ${args.key}\n`);
  return 0;
}

async function viaDatabase(args: KeyArgs): Promise<number> {
  if (!args.tenant) throw new CliUsageError(USAGE);
  const tenantId = TenantId(args.tenant);
  const storage = await openStorage(loadConfig());
  try {
    const stores = createStores(storage.db);
    if (args.action === 'revoke') {
      const revoked = args.key ? await stores.apiKeys.revoke(tenantId, args.key) : false;
      process.stdout.write(revoked ? `revoked ${args.key}\n` : `no active key ${args.key ?? ''} in tenant ${tenantId}\n`);
      return revoked ? 0 : 1;
    }
    if (args.action === 'list') {
      for (const k of await stores.apiKeys.list(tenantId)) process.stdout.write(`${k.id}  ${k.scope.padEnd(5)} ${k.userId ?? '-'}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}  ${k.label ?? ''}\n`);
      return 0;
    }
    await stores.tenants.ensure({ id: tenantId, name: tenantId });
    const key = generateApiKey(args.user ? 'user' : 'admin');
    const label = args.label ? { label: args.label } : {};
    if (args.user) {
      const userId = UserId(args.user);
      await stores.users.ensure(tenantId, userId);
      await stores.apiKeys.create({ id: key.keyId, tenantId, scope: 'user', userId, secretHash: key.secretHash, ...label });
    } else {
      await stores.apiKeys.create({ id: key.keyId, tenantId, scope: 'admin', secretHash: key.secretHash, ...label });
    }
    process.stdout.write(`${key.token}\n`);
    process.stderr.write(`key ${key.keyId} created; the token above is shown once\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

export async function keysCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        tenant: { type: 'string' },
        user: { type: 'string' },
        label: { type: 'string' },
        key: { type: 'string' },
        api: { type: 'string' },
        'key-token': { type: 'string' },
      },
    });
    if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new CliUsageError(USAGE);
    const args: KeyArgs = { action, tenant: values.tenant, user: values.user, label: values.label, key: values.key };
    const connection = { api: values.api, key: values['key-token'] };
    const config = loadConfig();
    // Without a tenant, the keys are the calling admin key's tenant's: that is the API's business.
    if (connection.api !== undefined || config.cli.apiUrl !== undefined || args.tenant === undefined) return await viaApi(args, connection);
    try {
      return await viaDatabase(args);
    } catch (error) {
      // The running service holds the embedded database: ask it instead.
      if (!isStorageError(error, StorageErrorType.DatabaseLocked)) throw error;
      process.stderr.write('chime: the embedded database is in use by the running service; going through its API\n');
      return await viaApi(args, connection);
    }
  } catch (error) {
    if (error instanceof TypeError && /fetch failed/.test(error.message)) {
      process.stderr.write('chime: no Chime API answered (start the service, set CHIME_API_URL, or give --tenant to use the database)\n');
      return 1;
    }
    if (error instanceof CliUsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`chime: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
