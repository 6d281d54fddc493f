/**
 * The cost of a sleeping reminder: daily reminders whose first occurrence is 30 days ahead, created
 * in steps up to each size (default 10k, then 100k), straight through the reminder service (the use
 * case behind `POST /v1/reminders`, without HTTP: this measures what a reminder costs once it
 * sleeps, not how fast the API takes it). After each step, once the worker has planned every new
 * reminder (its ChimeNextOccurrence search attribute is set) and the process has settled: the dev
 * server's database bytes, this process's RSS and heap (the worker runs in it — as do PGlite and
 * the bare worker), and the worker's sticky cache. Baseline: the same figures at 0 reminders, right
 * after the stack starts; bytes per reminder subtract it.
 *
 * What should hold: database bytes per reminder do not grow with N (growth ≈ 1: linear), and the
 * worker's memory does not grow with N — a sleeping reminder must not sit in the worker's cache past
 * its bound. Our own target (no issue sets one): RSS grows less than 2x from the smallest size to
 * the largest. A benchmark, not a test: it prints, it never fails the build.
 *
 * Sizes: BENCH_SLEEPING_SIZES=10000,100000 (the default).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { DEFAULT_SMS_MAX_SEGMENTS, loadConfig } from '../src/config.js';
import type { Actor } from '../src/domain/principal.js';
import { DEFAULT_TENANT } from '../src/entry/runtime.js';
import { createStoragePersistence } from '../src/reminders/persistence.js';
import { createReminderService, type CreateReminderInput } from '../src/reminders/service.js';
import { createComposer } from '../src/templates/compose.js';
import { createTemplatePersistence } from '../src/templates/persistence.js';
import { createTemplateService } from '../src/templates/service.js';
import { createStores } from '../src/storage/index.js';
import { CHIME_DATABASE, PLANNED, pool, startBenchStack, waitForCount, type BenchStack } from './lib/stack.js';
import { emit, fmt, machine, target, type Figure } from './lib/report.js';

const SIZES = (process.env.BENCH_SLEEPING_SIZES ?? '10000,100000')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const CREATE_CONCURRENCY = 64;
const PROGRESS_EVERY = 10_000;
const SETTLE_MS = 5_000;
/** Fail only when planning stops moving this long; count every few seconds (each count scans visibility). */
const STALL_MS = 5 * 60_000;
const COUNT_EVERY_MS = 5_000;
/** Our own target: RSS at the largest size ÷ RSS at the smallest < 2 (the sizes differ 10x by default). */
const RSS_GROWTH_MAX = 2;
const MB = 1_048_576;

/** A full collection of this thread's heap: `--expose-gc` when given, else the flag set now (V8 reads it for new contexts). */
function collector(): (() => void) | undefined {
  const exposed = globalThis.gc;
  if (exposed) return () => exposed();
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = collector();

/** The reminder service as the API builds it (src/entry/runtime.ts, createApi), over the stack's client and database. */
function reminderService(stack: BenchStack) {
  const config = loadConfig({ CHIME_DATA_DIR: stack.dataDir });
  const stores = createStores(stack.storage.db);
  const compose = createComposer({ templates: { templateOf: async (tenantId, id) => (await stores.templates.get(tenantId, id))?.content } });
  const templates = createTemplateService({ persistence: createTemplatePersistence(stack.storage.db), smsMaxSegments: DEFAULT_SMS_MAX_SEGMENTS });
  return createReminderService({
    workflows: stack.client.workflow,
    taskQueue: stack.taskQueue,
    persistence: createStoragePersistence(stack.storage.db),
    catchUpWindowMs: config.catchUpWindowMs,
    queryTimeoutMs: config.queryTimeoutMs,
    templates: templates.checkRef,
    compose,
  });
}

interface Sample {
  reminders: number;
  dbBytes: number;
  rss: number;
  heapUsed: number;
  cached: number;
}

async function sample(stack: BenchStack, reminders: number): Promise<Sample> {
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { reminders, dbBytes: await stack.serverDatabaseBytes(), rss, heapUsed, cached: stack.chimeWorker.getStatus().numCachedWorkflows };
}

/**
 * Until `total` reminder workflows are running and have planned (set their next occurrence): a big
 * step's backlog takes as long as the server needs (100k took 34 minutes here).
 */
const waitPlanned = (stack: BenchStack, total: number) =>
  waitForCount(stack.client, PLANNED, total, {
    everyMs: COUNT_EVERY_MS,
    stallMs: STALL_MS,
    progress: (count) => console.log(`    waiting for the worker: ${fmt(count)} of ${fmt(total)} planned`),
  });

const stack = await startBenchStack({ api: false });
const service = reminderService(stack);
const actor = { tenantId: DEFAULT_TENANT } as Actor;
const m = machine();
const maxCached = stack.chimeWorker.options.maxCachedWorkflows;
console.log(`Sleeping reminders — Node ${m.node}, ${m.cores} cores, ${m.memoryGiB} GiB; embedded stack (dev server + SQLite file, ${CHIME_DATABASE}), one worker`);
console.log(`Daily reminders first due in 30 days, created ${CREATE_CONCURRENCY} at a time through the reminder service; worker cache bound (maxCachedWorkflows) ${fmt(maxCached)}; ${gc ? 'GC' : 'no GC (none exposed)'} and ${SETTLE_MS / 1000} s settle before each measurement`);
const figures: Figure[] = [];
try {
  const empty = await sample(stack, 0);
  const samples: Sample[] = [];
  const dtstart = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 19);
  const tag = Date.now().toString(36);
  let total = 0;
  for (const size of SIZES) {
    if (size <= total) continue;
    const from = total;
    const started = performance.now();
    let done = 0;
    await pool(size - from, CREATE_CONCURRENCY, async (k) => {
      const i = from + k;
      const input: CreateReminderInput = { userId: `${tag}-u${i}`, email: `u${i}@example.com`, title: 'Later', body: 'In a month.', recurrence: { dtstart, tzid: 'UTC', rrule: 'FREQ=DAILY' } };
      await service.create(actor, input);
      done++;
      if (done % PROGRESS_EVERY === 0) {
        console.log(`    created ${fmt(from + done)} of ${fmt(size)} (${fmt(done / ((performance.now() - started) / 1000), 0)}/s)`);
      }
    });
    total = size;
    const createSeconds = (performance.now() - started) / 1000;
    console.log(`  ${fmt(size - from)} created in ${createSeconds.toFixed(1)} s (${fmt((size - from) / createSeconds, 0)}/s)`);
    const waitSeconds = await waitPlanned(stack, total);
    console.log(`  all ${fmt(total)} planned ${waitSeconds.toFixed(1)} s after the last create`);
    samples.push(await sample(stack, total));
  }

  const perReminder = (s: Sample) => (s.dbBytes - empty.dbBytes) / s.reminders;
  console.log('    reminders | server DB MB | bytes/reminder | worker RSS MB | heap used MB | cached workflows');
  for (const s of [empty, ...samples]) {
    console.log(
      `${fmt(s.reminders).padStart(13)} | ${(s.dbBytes / MB).toFixed(1).padStart(12)} | ${(s.reminders ? fmt(perReminder(s), 0) : '—').padStart(14)}` +
        ` | ${(s.rss / MB).toFixed(0).padStart(13)} | ${(s.heapUsed / MB).toFixed(0).padStart(12)} | ${fmt(s.cached)} of ${fmt(maxCached)}`,
    );
  }
  const suite = 'sleeping';
  for (const s of samples) {
    figures.push(
      { suite, name: `N=${s.reminders} server DB`, value: s.dbBytes / MB, unit: 'MB', baseline: { label: 'no reminders', value: empty.dbBytes / MB } },
      { suite, name: `N=${s.reminders} server DB per reminder`, value: perReminder(s), unit: 'bytes' },
      { suite, name: `N=${s.reminders} worker RSS`, value: s.rss / MB, unit: 'MB', baseline: { label: 'no reminders', value: empty.rss / MB } },
    );
  }
  const small = samples[0];
  const large = samples.at(-1);
  if (small && large && large !== small) {
    const sizeRatio = large.reminders / small.reminders;
    const dbGrowth = perReminder(large) / perReminder(small);
    const rssGrowth = large.rss / small.rss;
    const rssTarget = target('value', { max: RSS_GROWTH_MAX }, rssGrowth);
    console.log(`  N ${fmt(small.reminders)} → ${fmt(large.reminders)} (${fmt(sizeRatio)}x):`);
    console.log(`    DB bytes per reminder ${fmt(dbGrowth)}x (≈ 1: the database grows linearly)`);
    console.log(`    worker RSS ${fmt(rssGrowth)}x (target < ${RSS_GROWTH_MAX}x, ours: ${rssTarget.holds ? 'holds' : 'MISSED'})`);
    const between = `N=${large.reminders} / N=${small.reminders}`;
    figures.push(
      { suite, name: `growth of DB bytes per reminder, ${between}`, value: dbGrowth, unit: 'x' },
      { suite, name: `growth of worker RSS, ${between}`, value: rssGrowth, unit: 'x', target: rssTarget },
    );
  }
} finally {
  await stack.stop();
}
await emit(figures);
