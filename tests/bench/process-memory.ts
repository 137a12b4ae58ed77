// Resident memory of a process, from /proc/<pid>/status, for benchmarks that hold
// a process to its container's memory limit.
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Resident set now (VmRSS), MiB. */
  rssMiB: number;
  /** Its peak so far (VmHWM), MiB. */
  peakMiB: number;
}

/** The process's resident set now and at its peak; undefined once it is gone. */
export function processMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  if (/^State:\s+Z/m.test(status)) return undefined;
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}
