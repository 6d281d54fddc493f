/**
 * CPU time, for saying what bounds a figure: this process (every thread — Chime's worker and API,
 * PGlite, the bare worker) and the Temporal dev server, read from /proc (Linux). On a machine whose
 * cores are all busy, wall-clock figures follow CPU per unit of work; CPU seconds do not depend
 * on what else ran meanwhile as much as lateness does.
 */
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux everywhere). */
const USER_HZ = 100;

export interface CpuSeconds {
  process: number;
  server: number;
}

async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** A reading of both CPU clocks; NaN for the server where /proc is not there. */
export async function cpuNow(serverPid: number): Promise<CpuSeconds> {
  const { user, system } = process.cpuUsage();
  return { process: (user + system) / 1e6, server: await processCpuSeconds(serverPid) };
}

/** CPU milliseconds per unit of work between two readings. */
export const cpuPer = (from: CpuSeconds, to: CpuSeconds, units: number): CpuSeconds => ({
  process: ((to.process - from.process) * 1000) / units,
  server: ((to.server - from.server) * 1000) / units,
});
