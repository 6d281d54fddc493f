/** Seed data shared by the storage tests. */
import type { Kysely } from 'kysely';
import { ReminderId, TenantId, UserId } from '../../src/domain/ids.js';
import { createStores } from '../../src/storage/index.js';
import type { NewReminder } from '../../src/storage/reminders.js';
import type { Database } from '../../src/storage/schema.js';

export const tenant = TenantId('acme');
export const otherTenant = TenantId('globex');
export const alice = UserId('alice');
export const bob = UserId('bob');

export function reminderFor(userId: UserId, id: string, overrides: Partial<NewReminder> = {}): NewReminder {
  return {
    tenantId: tenant,
    userId,
    id: ReminderId(id),
    recurrence: { dtstart: '2026-03-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
    zoneMode: 'follow-user',
    content: { title: 'Stand-up', body: 'Daily stand-up in 5 minutes' },
    channels: ['email'],
    category: 'reminders',
    ...overrides,
  };
}

/** Two tenants, users alice and bob in `acme`, and a reminder `r1` for alice. */
export async function seed(db: Kysely<Database>) {
  const stores = createStores(db);
  await stores.tenants.create({ id: tenant, name: 'Acme' });
  await stores.tenants.create({ id: otherTenant, name: 'Globex' });
  await stores.users.create({
    tenantId: tenant,
    id: alice,
    preferences: { timeZone: 'Europe/Paris', contacts: { email: { address: 'alice@example.test', verified: true } } },
  });
  await stores.users.create({ tenantId: tenant, id: bob });
  const reminder = await stores.reminders.insert(reminderFor(alice, 'r1'));
  return { stores, reminder };
}
