/**
 * Benchmark figures: each suite prints its own table and, under `npm run bench`, appends its rows
 * to the run's JSON file (BENCH_ROWS_FILE), from which bench/index.ts prints one table.
 */
import { appendFile } from 'node:fs/promises';
import os from 'node:os';

export interface Figure {
  suite: string;
  /** What was measured, e.g. `N=1000 lateness p99`. */
  name: string;
  value: number;
  unit: string;
  /** The same figure for the baseline, measured in the same run on the same server. */
  baseline?: { label: string; value: number };
  /** How the ratio reads, e.g. `bare/Chime`; absent when there is no baseline. */
  ratio?: { label: string; value: number };
  /** A target the issue sets: holds when ratio (or value) ≥ min, or ≤ max. */
  target?: { min?: number; max?: number; of: 'ratio' | 'value'; holds: boolean };
}

export const machine = () => ({
  node: process.version,
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()}`,
});

export function target(of: 'ratio' | 'value', bound: { min?: number; max?: number }, measured: number): NonNullable<Figure['target']> {
  const holds = (bound.min === undefined || measured >= bound.min) && (bound.max === undefined || measured <= bound.max);
  return { of, ...bound, holds };
}

/** Records figures for `npm run bench` (a no-op when a suite runs on its own). */
export async function emit(figures: Figure[]): Promise<void> {
  const file = process.env.BENCH_ROWS_FILE;
  if (!file) return;
  await appendFile(file, figures.map((f) => JSON.stringify(f)).join('\n') + '\n');
}

export const fmt = (value: number, digits = 2) =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 1) });
