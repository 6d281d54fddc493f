/**
 * `npm run bench`: every suite, one after the other, each in its own process (so one suite's
 * workers, caches and heap never weigh on the next), printing its own table; then one summary
 * table of all their figures, written with the machine and the timings to bench/results/<start>.json.
 * A suite that fails is reported and the others still run (the runner then exits 1).
 *
 * Some suites only: `npm run bench -- timeliness api-create`. Sizes: each suite's BENCH_* variables.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, machine, type Figure } from './lib/report.js';

const SUITES = ['recurrence', 'storage', 'timeliness', 'api-create', 'sleeping', 'fanout'];
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.dirname(benchDir);

const asked = process.argv.slice(2).map((arg) => path.basename(arg, '.ts'));
const unknown = asked.filter((name) => !SUITES.includes(name));
if (unknown.length > 0) {
  console.error(`bench: no suite ${unknown.join(', ')} (suites: ${SUITES.join(', ')})`);
  process.exit(2);
}
const suites = asked.length > 0 ? SUITES.filter((name) => asked.includes(name)) : SUITES;

function runSuite(name: string, rowsFile: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, `${name}.ts`)], {
      cwd: repoDir,
      stdio: 'inherit',
      env: { ...process.env, BENCH_ROWS_FILE: rowsFile },
    });
    child.on('error', (error) => {
      console.error(`bench: ${name} did not start: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

function cells(f: Figure): string[] {
  const bound = f.target ? [f.target.min !== undefined ? `≥ ${fmt(f.target.min)}` : '', f.target.max !== undefined ? `≤ ${fmt(f.target.max)}` : ''].filter(Boolean).join(', ') : '';
  return [
    f.suite,
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline ? `${fmt(f.baseline.value)} ${f.unit} (${f.baseline.label})` : '',
    f.ratio ? `${fmt(f.ratio.value)} ${f.ratio.label}` : '',
    f.target ? `${f.target.of} ${bound}: ${f.target.holds ? 'holds' : 'MISSED'}` : '',
  ];
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(r));
}

const startedAt = new Date();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'chime-bench-rows-'));
const rowsFile = path.join(tmp, 'rows.jsonl');
await writeFile(rowsFile, '');
const ran: { name: string; exitCode: number; seconds: number }[] = [];
for (const name of suites) {
  console.log(`\n=== ${name} ===`);
  const started = performance.now();
  const exitCode = await runSuite(name, rowsFile);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  ran.push({ name, exitCode, seconds });
  if (exitCode !== 0) console.error(`bench: ${name} exited with ${exitCode} after ${seconds} s; going on`);
}
const finishedAt = new Date();
const figures = (await readFile(rowsFile, 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Figure);
await rm(tmp, { recursive: true, force: true });

console.log(`\n=== summary: ${figures.length} figures ===`);
printTable(['suite', 'figure', 'value', 'baseline', 'ratio', 'target'], figures.map(cells));
for (const s of ran) console.log(`  ${s.name}: ${s.exitCode === 0 ? 'ok' : `FAILED (exit ${s.exitCode})`}, ${s.seconds} s`);
const missed = figures.filter((f) => f.target && !f.target.holds).length;
const withTarget = figures.filter((f) => f.target).length;
console.log(`  targets: ${withTarget - missed} of ${withTarget} hold${missed > 0 ? `, ${missed} MISSED` : ''}`);

const resultsDir = path.join(benchDir, 'results');
await mkdir(resultsDir, { recursive: true });
// An ISO instant with ':' as '-': a file name every file system takes.
const resultsFile = path.join(resultsDir, `${startedAt.toISOString().replaceAll(':', '-')}.json`);
const result = { machine: machine(), startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), suites: ran, figures };
await writeFile(resultsFile, JSON.stringify(result, null, 2) + '\n');
console.log(`  written to ${path.relative(repoDir, resultsFile)}`);
process.exitCode = ran.some((s) => s.exitCode !== 0) ? 1 : 0;
