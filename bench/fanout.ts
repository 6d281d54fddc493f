/**
 * `npm run bench:fanout`: how fast an audience schedule fans one occurrence out on the embedded
 * stack (Temporal dev server, PGlite, the file sink for email), at 1k, 10k and 100k recipients,
 * with the worker's peak memory — against a bare Temporal loop that runs one no-op activity per
 * recipient (100 in flight, continuing as new every 10,000: one run cannot hold 100,000) on the same
 * server in the same run. A benchmark, not a test.
 *
 * Sizes: BENCH_FANOUT_SIZES=1000,10000 (default 1000,10000,100000).
 */
import os from 'node:os';
import { ScheduleId, TenantId, UserId } from '../src/domain/ids.js';
import { createSchedulePersistence } from '../src/schedules/persistence.js';
import { createScheduleService } from '../src/schedules/service.js';
import { emit, type Figure } from './lib/report.js';
import { startBenchStack } from './lib/stack.js';

const SIZES = (process.env.BENCH_FANOUT_SIZES ?? '1000,10000,100000').split(',').map(Number);
const BARE_IN_FLIGHT = 100;

const stack = await startBenchStack({ api: false });
const { storage, client, taskQueue } = stack;
const schedules = createScheduleService({ workflows: client.workflow, taskQueue, persistence: createSchedulePersistence(storage.db) });
const tenantId = TenantId('bench');
await storage.db.insertInto('tenants').values({ id: tenantId, name: 'bench' }).onConflict((oc) => oc.doNothing()).execute();

/** Peak resident memory of this process (the worker runs in it) while `work` runs. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const result = await work();
    return { result, peakRssMb: Math.round(peak / 1_048_576) };
  } finally {
    clearInterval(timer);
  }
}

async function chimeFanout(size: number): Promise<number> {
  const tag = `bench-${size}`;
  for (let start = 0; start < size; start += 5_000) {
    await storage.db
      .insertInto('users')
      .values(
        Array.from({ length: Math.min(5_000, size - start) }, (_, k) => ({
          tenant_id: tenantId,
          id: UserId(`${tag}-${start + k}`),
          preferences: JSON.stringify({ timeZone: 'UTC', contacts: { email: { address: `${tag}-${start + k}@example.com`, verified: true } } }),
          tags: [tag],
          updated_at: new Date(),
        })),
      )
      .execute();
  }
  const firesAt = Math.ceil((Date.now() + 3_000) / 1_000) * 1_000;
  const schedule = await schedules.create({ tenantId }, {
    name: `Bench ${size}`,
    recurrence: { dtstart: new Date(firesAt).toISOString().slice(0, 19), tzid: 'UTC', rrule: 'FREQ=DAILY;COUNT=1' },
    audience: { filter: { tags: { all: [tag] } } },
    content: { title: 'Bench', body: 'A benchmark message.' },
  });
  for (;;) {
    const run = await storage.db
      .selectFrom('schedule_runs')
      .select(['completed_at', 'sent'])
      .where('tenant_id', '=', tenantId)
      .where('schedule_id', '=', ScheduleId(schedule.id))
      .executeTakeFirst();
    if (run?.completed_at && run.sent === size) return (run.completed_at.getTime() - firesAt) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function bareLoop(size: number): Promise<number> {
  const started = Date.now();
  await client.workflow.execute('bareLoopWorkflow', { taskQueue: stack.bareTaskQueue, workflowId: `bare-${size}-${started}`, args: [{ activities: size, inFlight: BARE_IN_FLIGHT }] });
  return (Date.now() - started) / 1000;
}

console.log(`Fan-out benchmark — Node ${process.version}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; embedded stack (dev server, PGlite, file sink)\n`);
console.log('recipients | Chime: seconds, recipients/s, peak RSS | bare loop (1 no-op activity per recipient, 100 in flight,');
console.log('           |                                        |  continuing as new every 10k): seconds, activities/s | ratio (Chime/bare)');
const results = [];
try {
  for (const size of SIZES) {
    const chime = await withPeakRss(() => chimeFanout(size));
    process.stdout.write(`${String(size).padStart(10)} | ${chime.result.toFixed(1).padStart(6)} s ${Math.round(size / chime.result).toString().padStart(6)}/s ${String(chime.peakRssMb).padStart(5)} MB | `);
    const bare = await bareLoop(size);
    const row = { recipients: size, chimeSeconds: chime.result, chimePerSecond: size / chime.result, peakRssMb: chime.peakRssMb, bareSeconds: bare, barePerSecond: size / bare };
    results.push(row);
    console.log(`${row.bareSeconds.toFixed(1).padStart(6)} s ${Math.round(row.barePerSecond).toString().padStart(6)}/s | ${(row.chimePerSecond / row.barePerSecond).toFixed(2)}x`);
  }
} finally {
  await stack.stop();
}

const figures: Figure[] = results.flatMap((row): Figure[] => [
  {
    suite: 'fanout',
    name: `N=${row.recipients} recipients per second`,
    value: row.chimePerSecond,
    unit: '/s',
    baseline: { label: 'bare activities/s', value: row.barePerSecond },
    ratio: { label: 'Chime/bare', value: row.chimePerSecond / row.barePerSecond },
  },
  { suite: 'fanout', name: `N=${row.recipients} peak RSS`, value: row.peakRssMb, unit: 'MB' },
]);
await emit(figures);
