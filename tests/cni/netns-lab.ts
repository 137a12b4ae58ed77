// Network namespaces for the CNI tests: a router with strict reverse-path filtering
// between three subnets, a client in the third, and "uplink" veths whose host ends
// are the macvlan masters. Every name carries a per-run suffix (tests may run in
// parallel); every address lives inside these namespaces; cleanup() removes all of
// it, whatever state a failed test left.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { referencePluginDir } from '../../hack/control-plane/binaries.js';

export function ip(args: string[], input?: string): string {
  return execFileSync('ip', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function ipJSON<T = any>(netns: string, args: string[]): T {
  const out = ip(['-n', netns, '-j', ...args]).trim();
  return (out === '' ? [] : JSON.parse(out)) as T;
}

export function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  let plugins: string;
  try {
    plugins = referencePluginDir();
  } catch (error) {
    return `needs the reference CNI plugins: ${(error as Error).message}`;
  }
  if (!existsSync(join(plugins, 'macvlan'))) return `needs ${plugins}/macvlan: bash hack/control-plane/build-cni-plugins.sh builds it (needs Go)`;
  try {
    const probe = `upprobe-${randomBytes(3).toString('hex')}`;
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
  } catch (error) {
    return `cannot create network namespaces: ${(error as Error).message}`;
  }
  return undefined;
}

export const SUBNET_A = { cidr: '198.18.1.0/24', gateway: '198.18.1.1', prefix: 24 };
export const SUBNET_B = { cidr: '198.18.2.0/24', gateway: '198.18.2.1', prefix: 24 };
export const SUBNET_B6 = { cidr: 'fd00:18:2::/64', gateway: 'fd00:18:2::1', prefix: 64 };
export const CLIENT = { router: '198.18.3.1', client: '198.18.3.2' };

/** Network namespaces a test made, and processes it runs in them, removed together; names carry the test's suffix. */
export class NamespaceSet {
  protected readonly namespaces = new Set<string>();
  protected readonly processes = new Set<ChildProcess>();

  /** A TCP server in `netns` on address:port answering "pong" to every connection. Resolves when it listens. */
  async tcpServer(netns: string, address: string, port: number): Promise<void> {
    const script = `require('net').createServer((s) => s.end('pong')).listen(${port}, '${address}', () => console.log('ready'));`;
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.add(child);
    child.on('exit', () => this.processes.delete(child));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d));
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`tcp server in ${netns} exited (${code}): ${err}`)));
    });
  }

  stopProcesses(): void {
    for (const child of this.processes) child.kill('SIGKILL');
    this.processes.clear();
  }

  addNetns(name: string): string {
    ip(['netns', 'add', name]);
    this.namespaces.add(name);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  deleteNetns(name: string): void {
    try {
      ip(['netns', 'del', name]);
    } catch {
      // already gone
    }
    this.namespaces.delete(name);
  }

  sysctl(netns: string, settings: Record<string, string>): void {
    ip(['netns', 'exec', netns, 'sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
  }

  protected deleteAllNetns(): void {
    for (const name of [...this.namespaces]) this.deleteNetns(name);
  }
}

export class NetnsLab extends NamespaceSet {
  readonly id = randomBytes(3).toString('hex');
  readonly router = `up-${this.id}-router`;
  readonly client = `up-${this.id}-client`;
  /** Host (root namespace) ends of the uplinks: the macvlan masters of eth0 and net1. */
  readonly uplinkA = `up${this.id}a`;
  readonly uplinkB = `up${this.id}b`;
  setUp(): void {
    this.addNetns(this.router);
    this.addNetns(this.client);
    const r = this.router;
    ip(['link', 'add', this.uplinkA, 'type', 'veth', 'peer', 'name', 'ra', 'netns', r]);
    ip(['link', 'add', this.uplinkB, 'type', 'veth', 'peer', 'name', 'rb', 'netns', r]);
    ip(['-n', r, 'link', 'add', 'rc', 'type', 'veth', 'peer', 'name', 'cl', 'netns', this.client]);
    ip(['link', 'set', this.uplinkA, 'up']);
    ip(['link', 'set', this.uplinkB, 'up']);
    ip(['-n', r, '-batch', '-'], [
      `addr add ${SUBNET_A.gateway}/${SUBNET_A.prefix} dev ra`,
      `addr add ${SUBNET_B.gateway}/${SUBNET_B.prefix} dev rb`,
      `addr add ${SUBNET_B6.gateway}/${SUBNET_B6.prefix} dev rb nodad`,
      `addr add ${CLIENT.router}/24 dev rc`,
      'link set lo up',
      'link set ra up',
      'link set rb up',
      'link set rc up',
    ].join('\n'));
    // A router that drops packets arriving on an interface it would not route their source back through.
    this.sysctl(r, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.default.rp_filter': '1', 'net.ipv4.conf.ra.rp_filter': '1', 'net.ipv4.conf.rb.rp_filter': '1', 'net.ipv4.conf.rc.rp_filter': '1' });
    ip(['-n', this.client, '-batch', '-'], [`addr add ${CLIENT.client}/24 dev cl`, 'link set lo up', 'link set cl up', `route add default via ${CLIENT.router}`].join('\n'));
  }

  /** Forget neighbours (a re-created pod has new MAC addresses). */
  flushRouterNeighbours(): void {
    ip(['-n', this.router, 'neigh', 'flush', 'all']);
  }

  /** From the client namespace: connect, expect "pong" within timeoutMs. */
  tcpExchange(address: string, port: number, timeoutMs = 1500): Promise<boolean> {
    const script = `const s = require('net').connect(${port}, '${address}'); s.setTimeout(${timeoutMs}, () => process.exit(3)); let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => process.exit(got === 'pong' ? 0 : 4)); s.on('error', () => process.exit(2));`;
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', this.client, process.execPath, '-e', script], { stdio: 'ignore' });
      this.processes.add(child);
      child.on('exit', (code) => {
        this.processes.delete(child);
        resolve(code === 0);
      });
    });
  }

  cleanup(): void {
    this.stopProcesses();
    this.deleteAllNetns();
    for (const link of [this.uplinkA, this.uplinkB]) {
      try {
        ip(['link', 'del', link]);
      } catch {
        // went with the router namespace
      }
    }
  }
}
