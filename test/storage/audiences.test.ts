import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TenantId, UserId } from '../../src/domain/ids.js';
import type { Audience } from '../../src/domain/schedules/index.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';

const tenant = TenantId('aud');
const other = TenantId('aud-other');

describe(`audiences (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  const query = (audience: Audience, category = 'digest') => ({ tenantId: tenant, audience, category });
  const ids = async (audience: Audience, category?: string) => {
    const all: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await stores.audiences.page(query(audience, category), 'all', { ...(after ? { afterUserId: after } : {}), limit: 3 });
      all.push(...page.map((u) => u.id));
      if (page.length < 3) return all;
      after = page.at(-1)!.id;
    }
  };

  beforeAll(async () => {
    t = await openTestDatabase();
    stores = createStores(t.db);
    await stores.tenants.create({ id: tenant, name: 'Aud' });
    await stores.tenants.create({ id: other, name: 'Other' });
    const users: Array<[string, Record<string, unknown>, string[]]> = [
      ['u1', { timeZone: 'Europe/Paris', locale: 'fr-FR' }, ['plan:pro', 'beta']],
      ['u2', { timeZone: 'Europe/Paris', locale: 'fr-CA', optOuts: { digest: 'all' } }, ['plan:pro']],
      ['u3', { timeZone: 'Asia/Tokyo', locale: 'ja' }, ['beta']],
      ['u4', { timeZone: 'Asia/Tokyo', optOuts: { digest: ['sms'] } }, []],
      ['u5', {}, ['plan:free']],
      ['u6', { timeZone: 'America/New_York', locale: 'en-US' }, ['plan:pro', 'churned']],
    ];
    for (const [id, preferences, tags] of users) {
      await stores.users.create({ tenantId: tenant, id: UserId(id), preferences });
      await stores.users.setTags(tenant, UserId(id), tags);
    }
    await stores.users.create({ tenantId: other, id: UserId('u1'), preferences: { timeZone: 'UTC' } });
  });
  afterAll(async () => t?.close());

  it('filters on tags (all, any, none), locale (a language matches its regions), zone and category opt-in, within the tenant', async () => {
    expect(await ids({ filter: {} })).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    expect(await ids({ filter: { tags: { all: ['plan:pro'] } } })).toEqual(['u1', 'u2', 'u6']);
    expect(await ids({ filter: { tags: { all: ['plan:pro', 'beta'] } } })).toEqual(['u1']);
    expect(await ids({ filter: { tags: { any: ['beta', 'plan:free'] } } })).toEqual(['u1', 'u3', 'u5']);
    expect(await ids({ filter: { tags: { all: ['plan:pro'], none: ['churned'] } } })).toEqual(['u1', 'u2']);
    expect(await ids({ filter: { locales: ['fr'] } })).toEqual(['u1', 'u2']);
    expect(await ids({ filter: { locales: ['fr-CA', 'en'] } })).toEqual(['u2', 'u4', 'u5', 'u6']); // no locale means en
    expect(await ids({ filter: { timeZones: ['Asia/Tokyo'] } })).toEqual(['u3', 'u4']);
    expect(await ids({ filter: { optedIn: true } })).toEqual(['u1', 'u3', 'u4', 'u5', 'u6']); // u2 opted out of digest on every channel
    expect(await ids({ filter: { optedIn: true } }, 'reminders')).toHaveLength(6);
    expect(await ids({ users: ['u6', 'u3', 'nobody'] })).toEqual(['u3', 'u6']);
  });

  it('gives the distinct zones of an audience with their counts, and pages one zone at a time', async () => {
    const counts = await stores.audiences.countByZone(query({ filter: {} }));
    expect(Object.fromEntries([...counts].map(([zone, n]) => [zone ?? '(none)', n]))).toEqual({
      'Europe/Paris': 2,
      'Asia/Tokyo': 2,
      'America/New_York': 1,
      '(none)': 1,
    });
    expect(new Set(await stores.audiences.zones(query({ filter: { tags: { any: ['beta'] } } })))).toEqual(new Set(['Europe/Paris', 'Asia/Tokyo']));
    const tokyo = await stores.audiences.page(query({ filter: {} }), { zone: 'Asia/Tokyo' }, { limit: 10 });
    expect(tokyo.map((u) => u.id)).toEqual(['u3', 'u4']);
    const none = await stores.audiences.page(query({ filter: {} }), { zone: null }, { limit: 10 });
    expect(none.map((u) => u.id)).toEqual(['u5']);
  });

  it('pages through any audience visiting each member exactly once, whatever the page size', async () => {
    const all = await ids({ filter: {} });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 7 }), async (limit) => {
        const seen: string[] = [];
        for (let after: string | undefined; ; ) {
          const page = await stores.audiences.page(query({ filter: {} }), 'all', { ...(after ? { afterUserId: after } : {}), limit });
          seen.push(...page.map((u) => u.id));
          if (page.length < limit) break;
          after = page.at(-1)!.id;
        }
        expect(seen).toEqual(all);
      }),
      { numRuns: 7 },
    );
  });
});
