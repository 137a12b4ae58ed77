// CPU time of a process and of the children it has waited for (plugin executions), from
// /proc/<pid>/stat, so a benchmark can say what each part cost per pod.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface ProcessCpu {
  /** The process itself (user + system), in ms. */
  ownMs: number;
  /** Its exited children, in ms. */
  childrenMs: number;
}

export function processCpu(pid: number): ProcessCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces and is in parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // utime, stime, cutime, cstime are fields 14–17, i.e. 11–14 after "state".
  const [utime, stime, cutime, cstime] = [fields[11]!, fields[12]!, fields[13]!, fields[14]!];
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  return { ownMs: ms(utime + stime), childrenMs: ms(cutime + cstime) };
}

/** CPU of several processes (a process gone meanwhile counts as none). */
export function cpuOf(pids: number[]): ProcessCpu {
  let ownMs = 0;
  let childrenMs = 0;
  for (const pid of pids) {
    try {
      const cpu = processCpu(pid);
      ownMs += cpu.ownMs;
      childrenMs += cpu.childrenMs;
    } catch {
      // exited: its time is no longer readable
    }
  }
  return { ownMs, childrenMs };
}

export function cpuSince(now: ProcessCpu, before: ProcessCpu): ProcessCpu {
  return { ownMs: now.ownMs - before.ownMs, childrenMs: now.childrenMs - before.childrenMs };
}
