import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReminderId } from '../../src/domain/ids.js';
import type { Stores } from '../../src/storage/index.js';
import { runRetention, scheduleRetention } from '../../src/storage/retention.js';
import { openTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { alice, seed, tenant } from './fixtures.js';

describe(`retention (${testDatabaseKind()})`, () => {
  let t: TestDatabase;
  let stores: Stores;
  const DAY = 24 * 60 * 60_000;
  const t0 = new Date('2026-01-01T00:00:00Z');
  const day = (n: number) => new Date(t0.getTime() + n * DAY);
  const count = async (table: 'deliveries' | 'occurrence_decisions' | 'http_idempotency') =>
    (await t.db.selectFrom(table).selectAll().execute()).length;

  beforeAll(async () => {
    t = await openTestDatabase();
    ({ stores } = await seed(t.db));
    // Ledger: a settled delivery from day 0, a settled one from day 20, one claimed on day 0 and never settled.
    const claim = (recurrenceId: string, now: Date) =>
      stores.ledger.claim(
        {
          idempotencyKey: `dk_${recurrenceId}`,
          tenantId: tenant,
          userId: alice,
          source: { reminderId: ReminderId('r1') },
          recurrenceId,
          occurrenceAt: now,
          channel: 'email',
        },
        { now },
      );
    await claim('old', day(0));
    await stores.ledger.settle('dk_old', { status: 'sent', provider: 'smtp', providerMessageId: 'm-old' }, { now: day(0) });
    await claim('recent', day(20));
    await stores.ledger.settle('dk_recent', { status: 'sent', provider: 'smtp', providerMessageId: 'm-recent' }, { now: day(20) });
    await claim('stuck', day(0));
    for (const [recurrenceId, decidedAt] of [['old', day(0)], ['recent', day(20)]] as const) {
      await stores.decisions.record({
        tenantId: tenant,
        userId: alice,
        source: { reminderId: ReminderId('r1') },
        recurrenceId,
        occurrenceAt: decidedAt,
        decidedAt,
        kind: 'sent',
      });
    }
    // HTTP idempotency: one expired (24 h window from day 0), one live.
    await stores.httpIdempotency.begin({ tenantId: tenant, scope: 'k', key: 'expired', fingerprint: 'f', expiresAt: day(1), now: day(0) });
    await stores.httpIdempotency.begin({ tenantId: tenant, scope: 'k', key: 'live', fingerprint: 'f', expiresAt: day(31), now: day(30) });
  });
  afterAll(async () => t?.close());

  it('by default purges expired HTTP idempotency records and keeps every ledger row and decision', async () => {
    const report = await runRetention(t.db, {}, day(30));
    expect(report).toEqual({ ranAt: day(30), httpIdempotencyPurged: 1, deliveriesPurged: 0, decisionsPurged: 0 });
    expect(await count('deliveries')).toBe(3);
    expect(await count('occurrence_decisions')).toBe(2);
    expect((await t.db.selectFrom('http_idempotency').select('key').execute()).map((r) => r.key)).toEqual(['live']);
  });

  it('with a ledger retention of N days deletes only settled deliveries older than that, never an unsettled one, and reports the count', async () => {
    const report = await runRetention(t.db, { deliveryRetentionDays: 14, decisionRetentionDays: 14 }, day(30));
    expect(report).toMatchObject({ deliveriesPurged: 1, decisionsPurged: 1 });
    const left = (await t.db.selectFrom('deliveries').select('idempotency_key').orderBy('idempotency_key').execute()).map((r) => r.idempotency_key);
    expect(left).toEqual(['dk_recent', 'dk_stuck']);
    expect((await t.db.selectFrom('occurrence_decisions').select('recurrence_id').execute()).map((r) => r.recurrence_id)).toEqual(['recent']);
  });

  it('refuses a retention that is not a whole number of days', async () => {
    await expect(runRetention(t.db, { deliveryRetentionDays: -1 })).rejects.toBeInstanceOf(RangeError);
    expect(() => scheduleRetention(t.db, { decisionRetentionDays: 1.5 })).toThrow(RangeError);
  });

  it('the scheduled job reports each run and stops cleanly', async () => {
    const reports: unknown[] = [];
    const job = scheduleRetention(t.db, { initialDelayMs: 0, intervalMs: 10, onReport: (r) => reports.push(r) });
    await expect.poll(() => reports.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await job.stop();
    expect(await count('deliveries')).toBe(2);
  });
});
