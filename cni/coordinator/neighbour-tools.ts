// The two programs that put ARP and neighbour-discovery packets on a pod's link for
// the coordinator (Node.js has no raw sockets): iputils' `arping` (Debian
// iputils-arping; in iputils itself on RHEL-like systems) and `ndisc6` (Debian
// ndisc6), each run inside the pod's namespace through `nsenter --net=`, without a
// shell, and stopped at a deadline the coordinator keeps (arping only counts whole
// seconds).
import { existsSync } from 'node:fs';
import { CniCode, CniError } from '../skel/cni-error.js';

export type NeighbourTool = 'arping' | 'ndisc6';

/** The Debian package that brings each tool, for the message when it is missing. */
export const TOOL_PACKAGES: Record<NeighbourTool, string> = { arping: 'iputils-arping', ndisc6: 'ndisc6' };

const DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'];

/**
 * The tool's path, or a CniError naming the package to install and the setting that
 * needs it. UNDERPIN_NEIGHBOUR_TOOL_DIRS (colon-separated) replaces the usual places:
 * tests use it to see the message. Read per call: a module's top level runs when
 * the executable's start-up snapshot is made, not on the node.
 */
export function requireTool(tool: NeighbourTool, setting: string): string {
  const searchDirs = process.env.UNDERPIN_NEIGHBOUR_TOOL_DIRS?.split(':').filter((d) => d !== '');
  const found = (searchDirs ?? DIRS).map((dir) => `${dir}/${tool}`).find((path) => existsSync(path));
  if (found) return found;
  throw new CniError(
    CniCode.netnsSetup,
    `underpin-coordinator: ${setting} needs \`${tool}\` on the node, and there is none in ${(searchDirs ?? DIRS).join(', ')}; install the Debian package ${TOOL_PACKAGES[tool]} (apt-get install ${TOOL_PACKAGES[tool]}), or turn ${setting} off`,
  );
}

export interface ToolRun {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Ended by the deadline or by stop(), not by itself. */
  stopped: boolean;
}

export interface RunningTool {
  done: Promise<ToolRun>;
  /** Ends it now (another probe already answered the question). */
  stop(): void;
}

/**
 * Runs `file args` in `netns`, ending it with SIGINT `waitMs` after it started
 * (SIGKILL 500 ms later). Counted from the process's start, not from the call: on a
 * busy node, starting it may take longer than the answer.
 */
export async function runInNetns(netns: string, file: string, args: string[], waitMs: number): Promise<RunningTool> {
  // Loaded on first use, as in netns-ip.ts: not part of the executable's start-up snapshot.
  const { spawn } = await import('node:child_process');
  const nsenter = NSENTER.find((p) => existsSync(p)) ?? 'nsenter';
  const child = spawn(nsenter, [`--net=${netns}`, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let hard: NodeJS.Timeout | undefined;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopped = true;
    child.kill('SIGINT');
    hard ??= setTimeout(() => child.kill('SIGKILL'), 500);
  };
  let timer: NodeJS.Timeout | undefined;
  child.on('spawn', () => (timer = setTimeout(stop, Math.max(1, waitMs))));
  const done = new Promise<ToolRun>((resolve) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr || error.message, stopped });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (hard) clearTimeout(hard);
      resolve({ code, stdout, stderr, stopped });
    });
  });
  return { done, stop };
}

/**
 * `count` runs started `intervalMs` apart, each waiting until `timeoutMs` after the
 * last one's start (`start` gets that wait, counted from its own start); resolves
 * with the first answer `answer` finds in a finished run (and stops the rest), or
 * undefined when none answered. A run that failed for another reason (`failure`
 * says) rejects with that reason.
 */
export async function probeAttempts<T>(
  count: number,
  intervalMs: number,
  timeoutMs: number,
  start: (waitMs: number) => Promise<RunningTool>,
  answer: (run: ToolRun) => T | undefined,
  failure: (run: ToolRun) => string | undefined,
): Promise<T | undefined> {
  const running: RunningTool[] = [];
  let settled = false;
  return new Promise<T | undefined>((resolve, reject) => {
    let pending = count;
    const finish = (run: ToolRun) => {
      if (settled) return;
      const found = answer(run);
      const failed = found === undefined && !run.stopped ? failure(run) : undefined;
      if (found !== undefined || failed !== undefined) {
        settled = true;
        for (const r of running) r.stop();
        if (found !== undefined) resolve(found);
        else reject(new Error(failed));
        return;
      }
      if (--pending === 0) {
        settled = true;
        resolve(undefined);
      }
    };
    for (let i = 0; i < count; i++) {
      setTimeout(() => {
        if (settled) return;
        start((count - 1 - i) * intervalMs + timeoutMs).then(
          (r) => {
            running.push(r);
            if (settled) r.stop();
            r.done.then(finish);
          },
          (error: Error) => {
            if (settled) return;
            settled = true;
            for (const r of running) r.stop();
            reject(error);
          },
        );
      }, i * intervalMs);
    }
  });
}
