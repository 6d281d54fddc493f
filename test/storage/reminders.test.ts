import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReminderId } from '../../src/domain/ids.js';
import { StorageErrorType } from '../../src/storage/errors.js';
import type { Stores } from '../../src/storage/index.js';
import type { ReminderRecord } from '../../src/storage/reminders.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, bob, reminderFor, seed, tenant } from './fixtures.js';

describe(`reminders (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
  });
  afterAll(async () => t?.close());

  it('stores the recurrence definition, content and policy as given', async () => {
    const created = await stores.reminders.insert(
      reminderFor(alice, 'r-full', {
        recurrence: {
          dtstart: '2026-01-30T17:00:00',
          tzid: 'America/New_York',
          rrule: 'FREQ=MONTHLY;BYDAY=-1FR',
          rdate: ['2026-02-14T10:00:00'],
          exdate: ['2026-03-27T17:00:00'],
        },
        zoneMode: 'pinned',
        channels: ['email', 'sms'],
        category: 'digest',
        policy: { quietHours: 'skip', expiresAfter: '3 hours' },
      }),
    );
    const read = await stores.reminders.get(tenant, ReminderId('r-full'));
    expect(read).toEqual(created);
    expect(read).toMatchObject({
      recurrence: { rrule: 'FREQ=MONTHLY;BYDAY=-1FR', rdate: ['2026-02-14T10:00:00'], exdate: ['2026-03-27T17:00:00'] },
      zoneMode: 'pinned',
      channels: ['email', 'sms'],
      policy: { quietHours: 'skip', expiresAfter: '3 hours' },
      status: 'active',
      version: 1,
    });
  });

  it('reads what a send needs in one statement: status and channels, the user as stored, the category policy if the tenant has one', async () => {
    await stores.reminders.insert(reminderFor(alice, 'r-send', { channels: ['email', 'sms'], category: 'digest' }));
    await stores.categoryPolicies.put({ tenantId: tenant, category: 'digest', policy: { quietHours: 'skip' } });
    await stores.reminders.update(tenant, ReminderId('r-send'), { status: 'cancelled' });
    const alicePreferences = (await stores.users.get(tenant, alice))?.preferences;
    expect(await stores.reminders.sendContext(tenant, ReminderId('r-send'), 'digest')).toEqual({
      status: 'cancelled',
      channels: ['email', 'sms'],
      recipient: { preferences: alicePreferences, tags: [], attributes: {} },
      categoryPolicy: { quietHours: 'skip' },
    });
    // The reminder's user and the category asked for, whatever the stored category: the workflow's definition decides.
    expect(await stores.reminders.sendContext(tenant, ReminderId('r-send'), 'no-such-category')).not.toHaveProperty('categoryPolicy');
    expect(await stores.reminders.sendContext(tenant, ReminderId('nope'), 'digest')).toBeUndefined();
  });

  it('keeps an iCalendar definition verbatim', async () => {
    const ical = 'DTSTART;TZID=Europe/Paris:20260301T090000\nRRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20260601T000000Z';
    await stores.reminders.insert(reminderFor(alice, 'r-ical', { recurrence: { ical } }));
    expect((await stores.reminders.get(tenant, ReminderId('r-ical')))?.recurrence).toEqual({ ical });
  });

  it('update bumps the version and refuses a stale expected version with version_conflict', async () => {
    const paused = await stores.reminders.update(tenant, ReminderId('r1'), { status: 'paused' }, { expectedVersion: 1 });
    expect(paused).toMatchObject({ status: 'paused', version: 2 });
    await expect(stores.reminders.update(tenant, ReminderId('r1'), { status: 'active' }, { expectedVersion: 1 })).rejects.toMatchObject({
      type: StorageErrorType.VersionConflict,
    });
    await expect(stores.reminders.update(tenant, ReminderId('nope'), { status: 'active' })).rejects.toMatchObject({ type: StorageErrorType.NotFound });
  });

  it('walking all pages while reminders are being inserted neither skips nor repeats one', async () => {
    for (let i = 0; i < 25; i++) await stores.reminders.insert(reminderFor(bob, `walk-${String(i).padStart(2, '0')}`));
    const before = new Set((await t.db.selectFrom('reminders').select('id').where('user_id', '=', bob).execute()).map((r) => r.id));

    const seen: ReminderRecord[] = [];
    let cursor: string | undefined;
    let inserted = 0;
    do {
      const page = await stores.reminders.list(tenant, { userId: bob, limit: 4, cursor });
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      // Concurrent writers: new reminders arrive between every page.
      await Promise.all([0, 1].map(() => stores.reminders.insert(reminderFor(bob, `late-${inserted++}`))));
    } while (cursor);

    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // no repeats
    for (const id of before) expect(ids).toContain(id); // no skips
    // Newest first.
    const keys = seen.map((r) => [r.createdAt.getTime(), r.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1]!, keys[i]!];
      expect(a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])).toBe(true);
    }
  });

  it('filters by status and stops with a null cursor on the last page', async () => {
    const page = await stores.reminders.list(tenant, { status: 'paused', limit: 10 });
    expect(page.items.map((r) => r.id)).toEqual(['r1']);
    expect(page.nextCursor).toBeNull();
  });
});
