// Runs iproute2 inside a pod's network namespace (`nsenter --net=<netns> ip …`) or
// in the namespace the plugin runs in, the node's (`ip …`), without a shell.
// Changes go through one `ip -batch -` so a failed line is known and everything
// before it can be undone.
import { existsSync } from 'node:fs';
import { CniCode, CniError } from '../skel/cni-error.js';

function firstExisting(candidates: string[], fallback: string): string {
  return candidates.find((path) => existsSync(path)) ?? fallback;
}

let tools: { ip: string; nsenter: string; sysctl: string } | undefined;
function tool(name: 'ip' | 'nsenter' | 'sysctl'): string {
  tools ??= {
    ip: firstExisting(['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'], 'ip'),
    nsenter: firstExisting(['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'], 'nsenter'),
    sysctl: firstExisting(['/usr/sbin/sysctl', '/sbin/sysctl', '/usr/bin/sysctl'], 'sysctl'),
  };
  return tools[name];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], input?: string): Promise<Run> {
  // Loaded on first use: not part of the executable's start-up snapshot.
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = execFile(file, args, { encoding: 'utf8', timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code !== 0 && !stderr ? error.message : '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface BatchOutcome {
  ok: boolean;
  /** How many commands succeeded before the failing one (all of them when ok). */
  applied: number;
  error: string;
}

export class NetnsIp {
  /** `netns`: a namespace path (CNI_NETNS); '' is the namespace the plugin runs in. */
  constructor(readonly netns: string) {}

  /** The namespace the plugin runs in: the node's, where the runtime calls it. */
  static node(): NetnsIp {
    return new NetnsIp('');
  }

  /** True when the namespace path is there (DEL after the sandbox is gone finds nothing to do). */
  exists(): boolean {
    return this.netns !== '' && existsSync(this.netns);
  }

  private where(): string {
    return this.netns === '' ? 'the node' : this.netns;
  }

  private run(ipArgs: string[], input?: string): Promise<Run> {
    if (this.netns === '') return run(tool('ip'), ipArgs, input);
    return run(tool('nsenter'), [`--net=${this.netns}`, tool('ip'), ...ipArgs], input);
  }

  /** `ip -j …` parsed; a routing table that does not exist yet reads as empty. */
  async json<T>(ipArgs: string[]): Promise<T> {
    const result = await this.run(['-j', ...ipArgs]);
    if (result.code !== 0) {
      if (/FIB table does not exist/.test(result.stderr)) return [] as T;
      throw new CniError(CniCode.netnsSetup, `ip ${ipArgs.join(' ')} in ${this.where()} failed: ${result.stderr.trim()}`);
    }
    const text = result.stdout.trim();
    return (text === '' ? [] : JSON.parse(text)) as T;
  }

  /** Runs `commands` (one `ip` command each, without the leading `ip`) and stops at the first failure. */
  batch(commands: string[], force = false): Promise<BatchOutcome> {
    return this.batchWith([], commands, force);
  }

  private async batchWith(options: string[], commands: string[], force: boolean): Promise<BatchOutcome> {
    if (commands.length === 0) return { ok: true, applied: 0, error: '' };
    const result = await this.run([...options, ...(force ? ['-force'] : []), '-batch', '-'], commands.join('\n') + '\n');
    if (result.code === 0) return { ok: true, applied: commands.length, error: '' };
    const failed = /Command failed -:(\d+)/.exec(result.stderr);
    const line = failed ? Number(failed[1]) : 1;
    const message = result.stderr.replace(/Command failed -:\d+\s*/g, '').trim();
    return { ok: false, applied: line - 1, error: `${commands[line - 1] ?? ''}: ${message}` };
  }

  /** A batch of commands of one address family (`ip -4|-6 -batch -`). */
  batchFamily(family: 4 | 6, commands: string[], force = false): Promise<BatchOutcome> {
    return this.batchWith([`-${family}`], commands, force);
  }

  /** Pod namespaces only: the node's sysctls are the node operator's. */
  async sysctl(settings: Record<string, string>): Promise<void> {
    const pairs = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
    if (pairs.length === 0) return;
    if (this.netns === '') throw new Error('NetnsIp.sysctl: refusing to change the node namespace');
    const result = await run(tool('nsenter'), [`--net=${this.netns}`, tool('sysctl'), '-q', '-w', ...pairs]);
    if (result.code !== 0) throw new CniError(CniCode.netnsSetup, `sysctl ${pairs.join(' ')} in ${this.netns} failed: ${result.stderr.trim()}`);
  }
}
