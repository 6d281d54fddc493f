/**
 * Storage: what the statements of a due occurrence cost on the embedded database — the reminder's
 * send context read, the ledger's claim and settle, the decision stored — through Chime's PGlite
 * dialect (prepared statements) against the same statements through `PGlite.query` (parse, plan
 * and six calls into PGlite each time), on one database in the same run, interleaved round by
 * round so machine noise touches both alike. Wall time and this process's CPU per occurrence.
 * A benchmark, not a test: it prints, it never fails the build.
 *
 * Size: BENCH_STORAGE_OCCURRENCES per round (default 500), BENCH_ROUNDS rounds (default 5).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { ReminderId, TenantId, UserId } from '../src/domain/ids.js';
import { createStores, migrateToLatest, type Database } from '../src/storage/index.js';
import { PGliteDialect } from '../src/storage/pglite-dialect.js';
import { emit, fmt, machine, type Figure } from './lib/report.js';
import { quantile } from './lib/stack.js';

const PER_ROUND = Number(process.env.BENCH_STORAGE_OCCURRENCES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const tenantId = TenantId('bench');
const userId = UserId('u1');
const reminderId = ReminderId('r1');

const dir = await mkdtemp(path.join(os.tmpdir(), 'chime-bench-storage-'));
const client = await PGlite.create(path.join(dir, 'pglite'));
const noClose = { onDestroy: async () => {} };
const contenders = {
  prepared: new Kysely<Database>({ dialect: new PGliteDialect(client, noClose) }),
  'PGlite.query': new Kysely<Database>({ dialect: new PGliteDialect(client, { ...noClose, preparedStatements: false }) }),
};
await migrateToLatest(contenders.prepared as Kysely<unknown>);
const seed = createStores(contenders.prepared);
await seed.tenants.create({ id: tenantId, name: 'Bench' });
await seed.users.create({ tenantId, id: userId, preferences: { timeZone: 'Europe/Paris', contacts: { email: { address: 'u1@example.test', verified: true } } } });
await seed.reminders.insert({
  tenantId,
  userId,
  id: reminderId,
  recurrence: { dtstart: '2026-03-01T09:00:00', tzid: 'Europe/Paris', rrule: 'FREQ=DAILY' },
  zoneMode: 'follow-user',
  content: { title: 'Stand-up', body: 'In 5 minutes' },
  channels: ['email'],
  category: 'reminders',
});

let next = 0;
/** One due occurrence's statements, as `sendOccurrence` runs them. */
async function occurrence(stores: ReturnType<typeof createStores>) {
  const n = next++;
  const occurrenceAt = new Date(Date.UTC(2026, 2, 1, 8) + n * 86_400_000);
  const recurrenceId = occurrenceAt.toISOString();
  const key = `dk_bench_${n}`;
  await stores.reminders.sendContext(tenantId, reminderId, 'reminders');
  const claim = await stores.ledger.claim({ idempotencyKey: key, tenantId, userId, source: { reminderId }, recurrenceId, occurrenceAt, channel: 'email' });
  await stores.ledger.settle(key, { status: 'sent', provider: 'file-sink', providerMessageId: `<${key}@bench>` }, { attempt: claim.delivery.attempts });
  await stores.decisions.record({ tenantId, userId, source: { reminderId }, recurrenceId, occurrenceAt, decidedAt: new Date(), kind: 'sent', channels: [{ channel: 'email', outcome: 'sent' }] });
}

const samples: Record<string, { wallMs: number[]; cpuMs: number[] }> = { prepared: { wallMs: [], cpuMs: [] }, 'PGlite.query': { wallMs: [], cpuMs: [] } };
for (const db of Object.values(contenders)) for (let i = 0; i < 50; i++) await occurrence(createStores(db)); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, db] of Object.entries(contenders)) {
    const stores = createStores(db);
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < PER_ROUND; i++) await occurrence(stores);
    const { user, system } = process.cpuUsage(cpu);
    samples[name]!.wallMs.push((performance.now() - start) / PER_ROUND);
    samples[name]!.cpuMs.push((user + system) / 1000 / PER_ROUND);
  }
}
await Promise.all(Object.values(contenders).map((db) => db.destroy()));
await client.close();
await rm(dir, { recursive: true, force: true });

const median = (xs: number[]) => quantile(xs, 0.5);
const prepared = { wall: median(samples.prepared!.wallMs), cpu: median(samples.prepared!.cpuMs) };
const plain = { wall: median(samples['PGlite.query']!.wallMs), cpu: median(samples['PGlite.query']!.cpuMs) };
const m = machine();
console.log(`Storage — Node ${m.node}, ${m.cores} cores; PGlite, the four statements of a due occurrence (${ROUNDS} rounds of ${fmt(PER_ROUND)}, medians)`);
console.log(`  prepared statements: ${prepared.wall.toFixed(2)} ms wall, ${prepared.cpu.toFixed(2)} ms CPU per occurrence`);
console.log(`  PGlite.query:        ${plain.wall.toFixed(2)} ms wall, ${plain.cpu.toFixed(2)} ms CPU per occurrence`);
console.log(`  PGlite.query / prepared, wall: ${(plain.wall / prepared.wall).toFixed(2)}`);
const suite = 'storage';
const figures: Figure[] = [
  { suite, name: 'due occurrence statements, wall', value: prepared.wall, unit: 'ms', baseline: { label: 'PGlite.query', value: plain.wall }, ratio: { label: 'PGlite.query/prepared', value: plain.wall / prepared.wall } },
  { suite, name: 'due occurrence statements, CPU', value: prepared.cpu, unit: 'ms', baseline: { label: 'PGlite.query', value: plain.cpu }, ratio: { label: 'PGlite.query/prepared', value: plain.cpu / prepared.cpu } },
];
await emit(figures);
