// Child processes of the local control plane: started in their own process group
// with output to a log file, stopped by group so nothing is left behind.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
}

const running = new Map<number, ManagedProcess>();
let exitHookInstalled = false;

/** Kill whatever this process started if it dies first, so tests never leak servers. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running.values()) signalGroup(child.pid, 'SIGKILL');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Survive this process (dev:up); otherwise killed when this process exits. */
  persistent?: boolean;
}

export function startProcess(options: StartOptions): ManagedProcess {
  const log = openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    detached: true, // own process group: stop() kills it with everything it forked
    stdio: ['ignore', log, log],
    env: options.env ?? process.env,
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  const managed = { name: options.name, pid: child.pid, logFile: options.logFile };
  if (options.persistent) {
    child.unref();
  } else {
    running.set(child.pid, managed);
    installExitHook();
  }
  child.on('exit', () => running.delete(managed.pid));
  return managed;
}

/** SIGTERM the process group, then SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(20);
  }
  running.delete(pid);
}

/** SIGKILL the process group at once, as a crash or an OOM kill would, and wait until it is gone. */
export async function killProcess(pid: number): Promise<void> {
  signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(20);
  running.delete(pid);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines of a log, to put into an error when a process dies early. */
export function tailOf(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface WaitOptions {
  timeoutMs: number;
  /** Fail at once, with its log tail, if this process dies while waiting. */
  process?: ManagedProcess;
  intervalMs?: number;
}

/**
 * Poll `probe` until it returns true; fail with the process's log tail if the
 * process dies or `timeoutMs` passes.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  await eventually(what, async () => (await probe()) || undefined, options);
}

/**
 * A deadline that only bounds a hang. Tests wait with it rather than with a figure
 * near the expected time: a loaded CI machine may take several times longer, and
 * how long something takes is for benchmarks to say.
 */
export const HANG_TIMEOUT_MS = 120_000;

/**
 * Poll `probe` until it returns a value (not undefined or false) and return it.
 * A probe that throws counts as not yet.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options: WaitOptions = { timeoutMs: HANG_TIMEOUT_MS },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (options.process && !isAlive(options.process.pid)) {
      throw new Error(`${what}: ${options.process.name} exited; last lines of ${options.process.logFile}:\n${tailOf(options.process.logFile)}`);
    }
    if (Date.now() > deadline) {
      const tail = options.process ? `; last lines of ${options.process.logFile}:\n${tailOf(options.process.logFile)}` : '';
      throw new Error(`${what}: not reached in ${options.timeoutMs / 1000} s${tail}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
