/**
 * What the delivery tests run against: a real database holding a tenant and one user with both
 * contact points, a real SMTP server, and a local fake of Twilio's API for the real `twilio` SDK.
 */
import type { Channel } from '../../src/domain/delivery.js';
import type { ReminderId, TenantId, UserId } from '../../src/domain/ids.js';
import type { MessageContent } from '../../src/domain/templates/index.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { startFakeTwilio, type FakeTwilio } from './fake-twilio.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

export interface DeliveryPeers {
  db: TestDatabase;
  stores: Stores;
  twilio: FakeTwilio;
  smtp: TestSmtpServer;
  /** A daily reminder of the user, stored (the ledger and the decision log reference it). */
  insertReminder(id: ReminderId, channels: Channel[], content: MessageContent): Promise<void>;
  close(): Promise<void>;
}

export async function startDeliveryPeers(user: { tenantId: TenantId; userId: UserId; email: string; number: string }): Promise<DeliveryPeers> {
  const db = await openTestDatabase();
  const stores = createStores(db.db);
  const twilio = await startFakeTwilio();
  const smtp = await startSmtpServer();
  await stores.tenants.ensure({ id: user.tenantId, name: 'Acme' });
  await stores.users.create({
    tenantId: user.tenantId,
    id: user.userId,
    preferences: { timeZone: 'UTC', contacts: { email: { address: user.email, verified: true }, sms: { number: user.number, verified: true } } },
  });
  return {
    db,
    stores,
    twilio,
    smtp,
    async insertReminder(id, channels, content) {
      await stores.reminders.insert({
        tenantId: user.tenantId,
        userId: user.userId,
        id,
        recurrence: { dtstart: '2030-01-01T09:00:00', tzid: 'UTC', rrule: 'FREQ=DAILY' },
        zoneMode: 'pinned',
        content,
        channels,
        category: 'reminders',
      });
    },
    async close() {
      await smtp.close();
      await twilio.close();
      await db.close();
    },
  };
}
