/**
 * `npx chime keys create --tenant <id> [--user <id>] [--label <text>]`: creates an API key (admin,
 * or scoped to one user) and prints its token once; only its hash is stored.
 * `npx chime keys revoke --tenant <id> --key <key id>`.
 */
import { parseArgs } from 'node:util';
import { generateApiKey } from '../../auth/api-keys.js';
import { loadConfig } from '../../config.js';
import { TenantId, UserId } from '../../domain/ids.js';
import { openStorage } from '../runtime.js';
import { createStores } from '../../storage/index.js';

export async function keysCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { tenant: { type: 'string' }, user: { type: 'string' }, label: { type: 'string' }, key: { type: 'string' } },
  });
  if ((action !== 'create' && action !== 'revoke') || !values.tenant) {
    process.stderr.write('usage: chime keys create --tenant <id> [--user <id>] [--label <text>] | keys revoke --tenant <id> --key <key id>\n');
    return 2;
  }
  const tenantId = TenantId(values.tenant);
  const storage = await openStorage(loadConfig());
  try {
    const stores = createStores(storage.db);
    if (action === 'revoke') {
      const revoked = values.key ? await stores.apiKeys.revoke(tenantId, values.key) : false;
      process.stdout.write(revoked ? `revoked ${values.key}\n` : `no active key ${values.key ?? ''} in tenant ${tenantId}\n`);
      return revoked ? 0 : 1;
    }
    await stores.tenants.ensure({ id: tenantId, name: tenantId });
    const key = generateApiKey(values.user ? 'user' : 'admin');
    const label = values.label ? { label: values.label } : {};
    if (values.user) {
      const userId = UserId(values.user);
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
