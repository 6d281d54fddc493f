/**
 * `npm run bench:recurrence`: Chime's recurrence engine against rrule.js (floating and TZID modes)
 * and rrule-temporal, measured in the same run, interleaved round by round so machine noise
 * touches every contender alike. Prints occurrences per second, per-call latency, and the ratios
 * the recurrence issue sets as targets. A benchmark, not a test: it never fails the build.
 */
import rrulePkg from 'rrule';
import { RRuleTemporal } from 'rrule-temporal';
import { compileRecurrence } from '../src/domain/recurrence/index.js';
import { emit, target, type Figure } from './lib/report.js';

const { RRule } = rrulePkg;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);

/** Runs `fn` for about `ms`, returns work units per second (`fn` returns the units it did). */
function rate(fn: () => number, ms: number): number {
  let units = 0;
  const start = performance.now();
  for (;;) {
    units += fn();
    const elapsed = performance.now() - start;
    if (elapsed >= ms) return (units / elapsed) * 1000;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Median rate of each contender over interleaved rounds. */
function race(contenders: Record<string, () => number>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const fn of Object.values(contenders)) rate(fn, 50); // warm-up: JIT and the zone caches
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(contenders)) samples[name]?.push(rate(fn, ROUND_MS));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toPrecision(3));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

interface Scenario {
  name: string;
  dtstart: string; // wall time in the zone
  tzid: string;
  rrule: string; // with COUNT, so every contender expands the same series from DTSTART
}

const SCENARIOS: Scenario[] = [
  { name: 'daily 09:00, 2 years', dtstart: '2025-01-01T09:00:00', tzid: 'America/New_York', rrule: 'FREQ=DAILY;COUNT=730' },
  { name: 'weekdays 08:30, 2 years', dtstart: '2025-01-06T08:30:00', tzid: 'Europe/Paris', rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=520' },
  { name: 'last weekday of the month (BYSETPOS), 30 years', dtstart: '2025-01-31T18:00:00', tzid: 'Australia/Sydney', rrule: 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=360' },
  { name: 'every 15 minutes, 1 week', dtstart: '2025-03-05T00:00:00', tzid: 'America/New_York', rrule: 'FREQ=MINUTELY;INTERVAL=15;COUNT=672' },
];

const floatingDate = (wall: string) => new Date(`${wall}Z`);
const icalOf = (s: Scenario) => `DTSTART;TZID=${s.tzid}:${s.dtstart.replace(/[-:]/g, '')}\nRRULE:${s.rrule}`;

console.log(`Recurrence benchmark — Node ${process.version}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, medians\n`);
console.log('Expansion throughput (occurrences per second; every contender expands the same COUNT-bounded series and is');
console.log('counted as it returns it — counts differ where a series crosses a DST gap: Chime moves a missing wall time');
console.log('forward and merges it with an instant that exists anyway, rrule-temporal drops it):');

const throughputRatios: { floating: number; tzid: number }[] = [];
for (const s of SCENARIOS) {
  const chime = compileRecurrence({ dtstart: s.dtstart, tzid: s.tzid, rrule: s.rrule });
  const options = RRule.parseString(s.rrule);
  // noCache = true: rrule.js would otherwise memoise all() and measure a lookup.
  const floating = new RRule({ ...options, dtstart: floatingDate(s.dtstart) }, true);
  const withTzid = new RRule({ ...options, dtstart: floatingDate(s.dtstart), tzid: s.tzid }, true);
  const temporal = new RRuleTemporal({ rruleString: icalOf(s), cache: false });
  const n = chime.take(100_000).length;
  const r = race({
    chime: () => chime.take(100_000).length,
    'rrule.js floating': () => floating.all().length,
    'rrule.js TZID': () => withTzid.all().length,
    'rrule-temporal': () => temporal.all().length,
  });
  throughputRatios.push({ floating: (r.chime as number) / (r['rrule.js floating'] as number), tzid: (r.chime as number) / (r['rrule.js TZID'] as number) });
  console.log(`\n  ${s.name} (${n} occurrences, ${s.tzid})`);
  for (const [name, value] of Object.entries(r)) {
    console.log(`    ${name.padEnd(18)} ${fmt(value).padStart(12)} /s${name === 'chime' ? '' : `   chime/${name} = ${ratio(r.chime as number, value)}`}`);
  }
}

console.log('\nNext occurrence after now, for a daily 09:00 rule that started ten years ago (America/New_York):');
const dtstart = '2016-11-22T09:00:00';
const chimeDaily = compileRecurrence({ dtstart, tzid: 'America/New_York', rrule: 'FREQ=DAILY' });
const floatingDaily = new RRule({ freq: RRule.DAILY, dtstart: floatingDate(dtstart) }, true);
const tzidDaily = new RRule({ freq: RRule.DAILY, dtstart: floatingDate(dtstart), tzid: 'America/New_York' }, true);
const temporalDaily = new RRuleTemporal({ rruleString: 'DTSTART;TZID=America/New_York:20161122T090000\nRRULE:FREQ=DAILY', cache: false });
const now = Date.parse('2026-11-22T12:00:00Z');
/** A different "now" per call (within the last year), so nothing can be served from a cache. */
const nowAt = (i: number) => now - ((i * 7_919_000) % (365 * 86_400_000));

function latencies(fn: (at: number) => unknown, calls: number): number[] {
  for (let i = 0; i < Math.min(calls, 200); i++) fn(nowAt(i)); // warm-up
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    fn(nowAt(i));
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}
const lat = {
  chime: latencies((at) => chimeDaily.nextAfter(at), 20_000),
  'rrule.js floating': latencies((at) => floatingDaily.after(new Date(at)), 300),
  'rrule.js TZID': latencies((at) => tzidDaily.after(new Date(at)), 10),
  'rrule-temporal': latencies((at) => temporalDaily.next(new Date(at)), 300),
};
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
for (const [name, xs] of Object.entries(lat)) {
  const vs = name === 'chime' ? '' : `   ${name}/chime = ${ratio(median(xs), median(lat.chime))}`;
  console.log(`    ${name.padEnd(18)} median ${fmt(median(xs)).padStart(8)} µs   p99 ${fmt(q(xs, 0.99)).padStart(8)} µs   (${xs.length} calls)${vs}`);
}

const worst = (k: 'floating' | 'tzid') => Math.min(...throughputRatios.map((r) => r[k]));
const nextMedian = median(lat.chime);
console.log('\nTargets (issue: recurrence engine):');
console.log(`  expansion in a zone ≥ 0.5x rrule.js floating:  worst scenario ${worst('floating').toFixed(2)}x  ${worst('floating') >= 0.5 ? 'met' : 'MISSED'}`);
console.log(`  expansion ≥ 20x rrule.js with TZID:            worst scenario ${worst('tzid').toFixed(1)}x  ${worst('tzid') >= 20 ? 'met' : 'MISSED'}`);
console.log(`  next occurrence, 10-year-old daily < 50 µs:     median ${nextMedian.toFixed(1)} µs  ${nextMedian < 50 ? 'met' : 'MISSED'}`);

const suite = 'recurrence';
const figures: Figure[] = [
  { suite, name: 'expansion in a zone, worst scenario: Chime/rrule.js floating', value: worst('floating'), unit: 'x', target: target('value', { min: 0.5 }, worst('floating')) },
  { suite, name: 'expansion, worst scenario: Chime/rrule.js with TZID', value: worst('tzid'), unit: 'x', target: target('value', { min: 20 }, worst('tzid')) },
  { suite, name: 'next occurrence, 10-year-old daily: median', value: nextMedian, unit: 'µs', baseline: { label: 'rrule.js floating', value: median(lat['rrule.js floating']) }, target: target('value', { max: 50 }, nextMedian) },
];
await emit(figures);
