/**
 * What Linux says about a process in /proc: its memory (current and peak RSS), the CPU time
 * it used and its children. The benchmarks watch every process from outside this way, so
 * Ferry and Syncthing are measured alike.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The process's resident set now, in KiB. */
export function readRssKiB(pid: number): Promise<number> {
  return statusField(pid, 'VmRSS');
}

/** The highest RSS the process has had (VmHWM), in KiB: since it started, or since resetPeakRss. */
export function readPeakRssKiB(pid: number): Promise<number> {
  return statusField(pid, 'VmHWM');
}

/** Sets VmHWM back to the current RSS (Linux ≥ 4.0), so a peak can be taken per workload. */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Linux reports utime and stime in clock ticks; USER_HZ is 100 on every mainstream build. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) the process has used, in seconds. */
export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; fields are counted from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** The process and all its descendants that are alive now; [] when it is gone. */
export async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tasks = await readdir(`/proc/${out[i]}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const children = await readFile(`/proc/${out[i]}/task/${tid}/children`, 'utf8').catch(() => '');
      out.push(...children.split(' ').filter(Boolean).map(Number));
    }
  }
  return out;
}
