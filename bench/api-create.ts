/**
 * API create: N one-shot email reminders created through the HTTP API (due a day from now, so
 * nothing fires while it runs), 16 requests in flight; throughput and per-request latency as the
 * client sees it — authentication, validation, the database writes and the workflow start. Baseline,
 * on the same dev server in the same run: N raw `workflow.start` calls of an empty workflow at the
 * same concurrency (Temporal's own cost of starting one workflow). Both sides run a short warm-up
 * first, not measured. Also the CPU each costs in all — the server's and this process's, until every
 * reminder has planned and every empty workflow has run its task — which is what bounds the rate on
 * a machine whose cores are busy. A benchmark, not a test: it prints, it never fails the build.
 *
 * Size: BENCH_API_CREATE_N=2000 (default 2000).
 */
import { randomUUID } from 'node:crypto';
import { cpuNow, cpuPer } from './lib/cpu.js';
import { CHIME_DATABASE, PLANNED, pool, quantile, startBenchStack, waitForCount, type BenchStack } from './lib/stack.js';
import { emit, fmt, machine, target, type Figure } from './lib/report.js';

const N = Number(process.env.BENCH_API_CREATE_N ?? 2000);
const CONCURRENCY = 16;
const WARM_UP = 50;
/** Target from the API-create issue: Chime creates/s ÷ raw workflow starts/s ≥ 0.9. */
const RATE_RATIO_MIN = 0.9;

interface Run {
  seconds: number;
  /** Per-request latency, ms. */
  latencies: number[];
}

/** Runs `n` requests `CONCURRENCY` at a time, timing each. */
async function timed(n: number, request: (i: number) => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  const started = performance.now();
  await pool(n, CONCURRENCY, async (i) => {
    const t = performance.now();
    await request(i);
    latencies.push(performance.now() - t);
  });
  return { seconds: (performance.now() - started) / 1000, latencies };
}

/** Creates through `POST /v1/reminders`; counts the answers that were not 201 (the first one's body is kept). */
function chimeCreate(stack: BenchStack, run: string, failures: { count: number; first?: string }) {
  // One-shot, a day ahead: created, planned and asleep — nothing is delivered during the run.
  const dtstart = new Date(Date.now() + 86_400_000).toISOString().slice(0, 19);
  return async (i: number) => {
    const response = await fetch(`${stack.apiUrl}/v1/reminders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ userId: `${run}-u${i}`, email: `u${i}@example.com`, title: 'Due', body: 'Tomorrow.', recurrence: { dtstart, tzid: 'UTC' } }),
    });
    const text = await response.text();
    if (response.status !== 201) {
      failures.count++;
      failures.first ??= `${response.status}: ${text}`;
    }
  };
}

/** Until `query` counts `total` workflows: the next phase starts on an idle worker, not behind this one's backlog. */
const settle = (stack: BenchStack, query: string, total: number) => waitForCount(stack.client, query, total, { everyMs: 250 });

function rawStart(stack: BenchStack, run: string) {
  return async (i: number) => {
    await stack.client.workflow.start('emptyWorkflow', { taskQueue: stack.bareTaskQueue, workflowId: `${run}-raw-${i}`, args: [] });
  };
}

/** Raw starts whose one workflow task ran. */
const RAN = 'WorkflowType="emptyWorkflow" AND ExecutionStatus="Completed"';

const stack = await startBenchStack();
const m = machine();
console.log(`API create — Node ${m.node}, ${m.cores} cores, ${m.memoryGiB} GiB; embedded stack (dev server + SQLite file, ${CHIME_DATABASE}), one worker`);
console.log(`N=${fmt(N)}, ${CONCURRENCY} requests in flight, after a warm-up of ${WARM_UP} each`);
const figures: Figure[] = [];
try {
  const tag = Date.now().toString(36);
  const warmUpFailures = { count: 0 } as { count: number; first?: string };
  await pool(WARM_UP, CONCURRENCY, chimeCreate(stack, `w-${tag}`, warmUpFailures));
  await pool(WARM_UP, CONCURRENCY, rawStart(stack, `w-${tag}`));
  if (warmUpFailures.count > 0) throw new Error(`api-create: warm-up create answered ${warmUpFailures.first}`);
  await settle(stack, PLANNED, WARM_UP);
  await settle(stack, RAN, WARM_UP);

  // CPU from the first create until the last is planned (or the last raw workflow ran): what one costs in all.
  const failures = { count: 0 } as { count: number; first?: string };
  const chimeCpuFrom = await cpuNow(stack.serverPid);
  const chime = await timed(N, chimeCreate(stack, `c-${tag}`, failures));
  const backlog = await settle(stack, PLANNED, WARM_UP + N - failures.count);
  const chimeCpu = cpuPer(chimeCpuFrom, await cpuNow(stack.serverPid), N);
  const rawCpuFrom = await cpuNow(stack.serverPid);
  const raw = await timed(N, rawStart(stack, `r-${tag}`));
  await settle(stack, RAN, WARM_UP + N);
  const rawCpu = cpuPer(rawCpuFrom, await cpuNow(stack.serverPid), N);

  const chimeRate = N / chime.seconds;
  const rawRate = N / raw.seconds;
  const ratio = chimeRate / rawRate;
  const created = N - failures.count;
  const [cp50, cp99] = [quantile(chime.latencies, 0.5), quantile(chime.latencies, 0.99)];
  const [rp50, rp99] = [quantile(raw.latencies, 0.5), quantile(raw.latencies, 0.99)];
  console.log('                           | seconds | per second | latency p50 / p99');
  console.log(`  Chime POST /v1/reminders | ${chime.seconds.toFixed(1).padStart(7)} | ${fmt(chimeRate, 0).padStart(10)} | ${cp50.toFixed(1)} / ${cp99.toFixed(1)} ms`);
  console.log(`  raw workflow.start       | ${raw.seconds.toFixed(1).padStart(7)} | ${fmt(rawRate, 0).padStart(10)} | ${rp50.toFixed(1)} / ${rp99.toFixed(1)} ms`);
  console.log(`  the worker planned the last reminder ${backlog.toFixed(1)} s after the last create (the raw starts waited for it)`);
  console.log(
    `  CPU per reminder, first create to last planned: server ${chimeCpu.server.toFixed(1)} ms + API and worker process ${chimeCpu.process.toFixed(1)} ms;` +
      ` per raw start, to its task run: server ${rawCpu.server.toFixed(1)} ms + process ${rawCpu.process.toFixed(1)} ms`,
  );
  console.log(`  answered 201: ${fmt(created)} of ${fmt(N)}${failures.first ? ` (first other answer ${failures.first})` : ''}`);
  console.log(`  Chime/raw creates per second: ${ratio.toFixed(2)} (target ≥ ${RATE_RATIO_MIN}: ${ratio >= RATE_RATIO_MIN ? 'holds' : 'MISSED'})`);
  const suite = 'api-create';
  const baseline = 'raw workflow.start';
  figures.push(
    { suite, name: `N=${N} answered 201`, value: created, unit: 'creates', target: target('value', { min: N, max: N }, created) },
    { suite, name: `N=${N} creates per second`, value: chimeRate, unit: '/s', baseline: { label: baseline, value: rawRate }, ratio: { label: 'Chime/raw', value: ratio }, target: target('ratio', { min: RATE_RATIO_MIN }, ratio) },
    { suite, name: `N=${N} latency p50`, value: cp50, unit: 'ms', baseline: { label: baseline, value: rp50 } },
    { suite, name: `N=${N} latency p99`, value: cp99, unit: 'ms', baseline: { label: baseline, value: rp99 } },
    { suite, name: `N=${N} server CPU per create`, value: chimeCpu.server, unit: 'ms', baseline: { label: baseline, value: rawCpu.server } },
    { suite, name: `N=${N} API and worker process CPU per create`, value: chimeCpu.process, unit: 'ms', baseline: { label: baseline, value: rawCpu.process } },
  );
} finally {
  await stack.stop();
}
await emit(figures);
