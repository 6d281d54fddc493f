/**
 * Timeliness: N one-shot email reminders created through the HTTP API, all due at the same instant;
 * lateness = provider acceptance − due instant. Baseline, on the same dev server in the same run:
 * N bare workflows that sleep until their own due instant and then run one activity (Temporal's
 * defaults but for the sticky queue's timeout, which is Chime's — see bench/lib/stack.ts; no
 * database, no provider). With each, the CPU per occurrence from the due instant to the
 * last delivery, the server's and this process's: when the cores are saturated, lateness follows it.
 * A benchmark, not a test: it prints, it never fails the build.
 *
 * Sizes: BENCH_TIMELINESS_SIZES=1000 (default 1000,10000).
 */
import { randomUUID } from 'node:crypto';
import { cpuNow, cpuPer, type CpuSeconds } from './lib/cpu.js';
import { bareRuns, CHIME_DATABASE, pool, quantile, startBenchStack, stickyTimeoutsPerWorkflow, type BenchStack } from './lib/stack.js';
import { emit, fmt, machine, target, type Figure } from './lib/report.js';
import type { UserId } from '../src/domain/ids.js';

const SIZES = (process.env.BENCH_TIMELINESS_SIZES ?? '1000,10000').split(',').map(Number);
const CREATE_CONCURRENCY = 16;
/** Targets from the timeliness issue: bare p99 / Chime p99 ≥ 0.8. */
const P99_RATIO_MIN = 0.8;
/**
 * Sticky-queue timeouts per workflow past which a side counts as off the cliff: its due tasks came
 * back as replays, and a ratio against it measures the cliff, not Chime.
 */
const CLIFF = 0.1;

/** A due instant every reminder can be created before: an estimate from the create rate, on a whole second. */
const dueAfter = (n: number, perSecond: number) => Math.ceil((Date.now() + (n / perSecond) * 1_000 + 15_000) / 1_000) * 1_000;

async function waitFor(what: string, done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timeliness: ${what} not done within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** From the due instant until every one of `n` ran: lateness, and CPU per occurrence in this process and the server. */
async function drain(stack: BenchStack, what: string, n: number, dueAt: number, done: () => boolean): Promise<CpuSeconds> {
  await waitFor(`${what}: the due instant`, () => Date.now() >= dueAt, 30 * 60_000);
  const before = await cpuNow(stack.serverPid);
  await waitFor(what, done, 30 * 60_000);
  return cpuPer(before, await cpuNow(stack.serverPid), n);
}

async function chime(stack: BenchStack, n: number, run: string) {
  stack.acceptances.clear();
  const dueAt = dueAfter(n, 25);
  const dtstart = new Date(dueAt).toISOString().slice(0, 19);
  const createdAt = Date.now();
  const workflowIds: string[] = [];
  await pool(n, CREATE_CONCURRENCY, async (i) => {
    const response = await fetch(`${stack.apiUrl}/v1/reminders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ userId: `${run}-u${i}`, email: `u${i}@example.com`, title: 'Due', body: 'Now.', recurrence: { dtstart, tzid: 'UTC' } }),
    });
    if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
    workflowIds.push(((await response.json()) as { workflowId: string }).workflowId);
  });
  const createSeconds = (Date.now() - createdAt) / 1000;
  if (Date.now() > dueAt - 2_000) throw new Error(`timeliness: creating ${n} reminders took ${createSeconds} s, past the due instant; lower the estimate`);
  const cpu = await drain(stack, `Chime N=${n}`, n, dueAt, () => stack.acceptances.byKey.size >= n);
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // a late duplicate would show here
  const lateness = [...stack.acceptances.byKey.values()].map((at) => (at[0] as number) - dueAt);
  // Attempts past the first (a provider or the bulkhead said "later"): each is another round trip.
  const { retries } = await stack.storage.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb('attempts', '-', 1)), eb.lit(0)).as('retries'))
    .where('user_id', 'like', `${run}-%` as UserId)
    .executeTakeFirstOrThrow();
  const stickyTimeouts = await stickyTimeoutsPerWorkflow(stack.client, workflowIds);
  return { delivered: stack.acceptances.byKey.size, duplicates: stack.acceptances.duplicates, lateness, createSeconds, retries: Number(retries), cpu, stickyTimeouts };
}

async function bare(stack: BenchStack, n: number, run: string) {
  bareRuns.clear();
  const dueAt = dueAfter(n, 40);
  await pool(n, CREATE_CONCURRENCY, async (i) => {
    await stack.client.workflow.start('bareTimerWorkflow', { taskQueue: stack.bareTaskQueue, workflowId: `${run}-bare-${i}`, args: [{ dueAtEpochMs: dueAt }] });
  });
  if (Date.now() > dueAt - 2_000) throw new Error('timeliness: starting the bare workflows went past their due instant');
  const cpu = await drain(stack, `bare N=${n}`, n, dueAt, () => bareRuns.size >= n);
  const stickyTimeouts = await stickyTimeoutsPerWorkflow(stack.client, [...bareRuns.keys()]);
  return { lateness: [...bareRuns.values()].map((at) => at - dueAt), cpu, stickyTimeouts };
}

const stack = await startBenchStack();
const m = machine();
console.log(`Timeliness — Node ${m.node}, ${m.cores} cores, ${m.memoryGiB} GiB; embedded stack (dev server + SQLite file, ${CHIME_DATABASE}, file sink), one worker`);
console.log('N due at once | Chime delivered, duplicates, lateness p50 / p99 / max | bare timer+activity p50 / p99 / max | bare/Chime p99');
const figures: Figure[] = [];
try {
  for (const n of SIZES) {
    const run = `t${n}-${Date.now().toString(36)}`;
    const c = await chime(stack, n, run);
    console.log(`  Chime: created in ${c.createSeconds.toFixed(1)} s; ${c.retries} delivery attempts past the first`);
    const b = process.env.BENCH_TIMELINESS_BARE === '0' ? { lateness: [NaN], cpu: { process: NaN, server: NaN }, stickyTimeouts: NaN } : await bare(stack, n, run);
    const s = (xs: number[], p: number) => quantile(xs, p) / 1000;
    const [cp50, cp99, cmax] = [s(c.lateness, 0.5), s(c.lateness, 0.99), s(c.lateness, 1)];
    const [bp50, bp99, bmax] = [s(b.lateness, 0.5), s(b.lateness, 0.99), s(b.lateness, 1)];
    const ratio = bp99 / cp99;
    // Only the baseline off the cliff makes the ratio say nothing about Chime (Chime off it is Chime's own cost).
    const comparable = !(b.stickyTimeouts > CLIFF && c.stickyTimeouts <= CLIFF);
    const verdict = comparable ? (ratio >= P99_RATIO_MIN ? 'holds' : 'MISSED') : 'not comparable: the baseline fell off the sticky-queue cliff';
    console.log(
      `${fmt(n).padStart(13)} | ${fmt(c.delivered)} delivered, ${c.duplicates} duplicates, ${cp50.toFixed(2)} / ${cp99.toFixed(2)} / ${cmax.toFixed(2)} s` +
        ` | ${bp50.toFixed(2)} / ${bp99.toFixed(2)} / ${bmax.toFixed(2)} s | ${ratio.toFixed(2)} (target ≥ ${P99_RATIO_MIN}: ${verdict})`,
    );
    console.log(`  workflow tasks timed out on the sticky queue, per workflow (a sample of 100): Chime ${c.stickyTimeouts.toFixed(2)}, bare ${b.stickyTimeouts.toFixed(2)}`);
    console.log(
      `  CPU per occurrence, due instant to last delivery: Chime server ${c.cpu.server.toFixed(1)} ms + worker process ${c.cpu.process.toFixed(1)} ms` +
        ` = ${(c.cpu.server + c.cpu.process).toFixed(1)} ms; bare ${b.cpu.server.toFixed(1)} + ${b.cpu.process.toFixed(1)} = ${(b.cpu.server + b.cpu.process).toFixed(1)} ms` +
        ` (bare/Chime ${((b.cpu.server + b.cpu.process) / (c.cpu.server + c.cpu.process)).toFixed(2)}; ${m.cores} cores)`,
    );
    const suite = 'timeliness';
    figures.push(
      { suite, name: `N=${n} delivered (email)`, value: c.delivered, unit: 'reminders', target: target('value', { min: n, max: n }, c.delivered) },
      { suite, name: `N=${n} duplicates`, value: c.duplicates, unit: 'sends', target: target('value', { max: 0 }, c.duplicates) },
      { suite, name: `N=${n} lateness p50`, value: cp50, unit: 's', baseline: { label: 'bare timer+activity', value: bp50 } },
      {
        suite,
        name: `N=${n} lateness p99`,
        value: cp99,
        unit: 's',
        baseline: { label: 'bare timer+activity', value: bp99 },
        ratio: { label: 'bare/Chime', value: ratio },
        ...(comparable ? { target: target('ratio', { min: P99_RATIO_MIN }, ratio) } : {}),
      },
      { suite, name: `N=${n} sticky-queue timeouts per workflow`, value: c.stickyTimeouts, unit: 'tasks', baseline: { label: 'bare timer+activity', value: b.stickyTimeouts } },
      { suite, name: `N=${n} lateness max`, value: cmax, unit: 's', baseline: { label: 'bare timer+activity', value: bmax } },
      { suite, name: `N=${n} server CPU per occurrence`, value: c.cpu.server, unit: 'ms', baseline: { label: 'bare timer+activity', value: b.cpu.server } },
      { suite, name: `N=${n} worker process CPU per occurrence`, value: c.cpu.process, unit: 'ms', baseline: { label: 'bare timer+activity', value: b.cpu.process } },
    );
  }
} finally {
  await stack.stop();
}
await emit(figures);
