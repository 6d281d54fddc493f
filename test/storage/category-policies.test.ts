import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantId } from '../../src/domain/ids.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import type { Stores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { seed, tenant } from './fixtures.js';

describe(`category policies (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('creates, then replaces the whole policy (PUT), telling the two apart, and reads it back as written', async () => {
    const first = await stores.categoryPolicies.put({ tenantId: tenant, category: 'digest', policy: { quietHours: 'skip', frequencyCaps: { sms: { max: 3, windowMs: 86_400_000 } } }, description: 'Daily digest' });
    expect(first).toMatchObject({ created: true, category: 'digest', description: 'Daily digest' });
    const second = await stores.categoryPolicies.put({ tenantId: tenant, category: 'digest', policy: { collapse: false } });
    expect(second).toMatchObject({ created: false, policy: { collapse: false }, description: null });
    expect(second.createdAt).toEqual(first.createdAt);
    expect(await stores.categoryPolicies.get(tenant, 'digest')).toMatchObject({ policy: { collapse: false } });
  });

  it('keeps tenants apart and deletes exactly once', async () => {
    await stores.categoryPolicies.put({ tenantId: tenant, category: 'alerts', policy: { quietHours: 'bypass' } });
    await stores.tenants.ensure({ id: TenantId('globex'), name: 'Globex' });
    expect(await stores.categoryPolicies.get(TenantId('globex'), 'alerts')).toBeUndefined();
    expect(await stores.categoryPolicies.delete(tenant, 'alerts')).toBe(true);
    expect(await stores.categoryPolicies.delete(tenant, 'alerts')).toBe(false);
    expect(await stores.categoryPolicies.get(tenant, 'alerts')).toBeUndefined();
  });

  it('refuses a category name the API would refuse, and a tenant that does not exist', async () => {
    await expect(stores.categoryPolicies.put({ tenantId: tenant, category: 'Bad Name', policy: {} })).rejects.toMatchObject({ type: StorageErrorType.CheckViolation });
    await expect(stores.categoryPolicies.put({ tenantId: TenantId('nobody'), category: 'digest', policy: {} })).rejects.toMatchObject({
      type: StorageErrorType.ForeignKeyViolation,
    });
  });

  it('pages through every category once, newest first', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `bulk-${i}`);
    for (const category of names) await stores.categoryPolicies.put({ tenantId: tenant, category, policy: {} });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stores.categoryPolicies.list(tenant, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((c) => c.category));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.filter((c) => c.startsWith('bulk-')).sort()).toEqual(names);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
