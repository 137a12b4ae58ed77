// The host side of simulated nodes: network namespaces and links, made with `ip`.
// Simulated nodes share this host, so each node's "uplink" (the NIC a macvlan or
// ipvlan NIC hangs off, `master` in the CNI config) is a veth whose host end is
// named per node; its other end is plugged into a bridge in the simulator's fabric
// namespace, one bridge per uplink name, like a switch port. No address is ever put
// on a host-side link and no route points at one: pod traffic stays inside
// namespaces this simulator made.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { referencePluginDir } from '../control-plane/binaries.js';
import type { SimulatorNames } from './names.js';

export class HostCommandError extends Error {}

/** Runs `ip` with `args` (and `input` on stdin for -batch); rejects with its stderr. */
export function ip(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new HostCommandError(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

export async function listNetns(): Promise<string[]> {
  const out = (await ip(['-j', 'netns', 'list'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

export async function listLinks(netns?: string): Promise<string[]> {
  const out = (await ip([...(netns ? ['-n', netns] : []), '-j', 'link', 'show'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
}

/** A new namespace with loopback up, as a container runtime makes a pod sandbox's. */
export async function addNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  try {
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await deleteNetns(name);
    throw error;
  }
}

/** Deletes the namespace (and with it every link inside); absent is fine. */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await ip(['netns', 'del', name]);
  } catch (error) {
    if (!/No such file|Cannot remove namespace file ".*": No such/.test((error as Error).message)) throw error;
  }
}

/** Deletes a host link; absent is fine (a veth goes with its peer's namespace, which the kernel tears down asynchronously). */
export async function deleteLink(name: string): Promise<void> {
  try {
    await ip(['link', 'del', name]);
  } catch (error) {
    if (!/Cannot find device|does not exist|No such device/.test((error as Error).message)) throw error;
  }
}

/** What of this simulator's is in the host now: namespaces and host links of its prefix. */
export async function leftovers(names: SimulatorNames): Promise<{ netns: string[]; links: string[] }> {
  const [netns, links] = await Promise.all([listNetns(), listLinks()]);
  return { netns: netns.filter((n) => names.ownsNetns(n)), links: links.filter((l) => names.ownsLink(l)) };
}

/** Removes every namespace and host link of the prefix: after a stop, or a crashed run's. */
export async function removeLeftovers(names: SimulatorNames): Promise<{ netns: string[]; links: string[] }> {
  const found = await leftovers(names);
  // Deleting a namespace destroys its veth ends, and with them their host peers.
  for (const netns of found.netns) await deleteNetns(netns);
  for (const link of (await listLinks()).filter((l) => names.ownsLink(l))) await deleteLink(link);
  return found;
}

/**
 * Each node's uplinks, made on first use: a NetworkAttachmentDefinition names its
 * master ("uplink0"); on simulated node N that is host link `<prefix>n<N>u<K>`,
 * where K numbers the uplink names in the order the simulator met them.
 */
export class UplinkFabric {
  private readonly uplinkNumbers = new Map<string, number>();
  private readonly made = new Map<string, Promise<string>>();
  private fabric: Promise<void> | undefined;
  // `ip` calls on one namespace in parallel race (a bridge made twice): one at a time.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly names: SimulatorNames,
    private readonly nodes: readonly string[],
  ) {}

  /** The host link that is `master` on `node`, made if needed. */
  hostLink(node: string, master: string): Promise<string> {
    const nodeNumber = this.nodes.indexOf(node) + 1;
    if (nodeNumber === 0) return Promise.reject(new Error(`node ${node} is not simulated here`));
    const key = `${nodeNumber}/${master}`;
    let link = this.made.get(key);
    if (!link) {
      link = this.serially(() => this.makeUplink(nodeNumber, master));
      link.catch(() => this.made.delete(key)); // retried by the next pod
      this.made.set(key, link);
    }
    return link;
  }

  /**
   * Give `master`'s bridge the gateway addresses of a CNI result (once each), so pods
   * on that network reach their gateway as on a real underlay. Made only inside the
   * fabric namespace; the host's own network is never touched.
   */
  addGateways(master: string, ips: readonly { address: string; gateway?: string }[]): Promise<void> {
    const uplink = this.uplinkNumbers.get(master);
    if (uplink === undefined) return Promise.resolve();
    const bridge = this.names.bridge(uplink);
    const wanted = ips.flatMap((entry) => {
      const prefix = entry.address.split('/')[1];
      return entry.gateway && prefix ? [{ key: `${bridge} ${entry.gateway}`, cidr: `${entry.gateway}/${prefix}`, v6: entry.gateway.includes(':') }] : [];
    });
    const missing = wanted.filter((w) => !this.gateways.has(w.key));
    if (missing.length === 0) return Promise.resolve();
    return this.serially(async () => {
      for (const gateway of missing.filter((w) => !this.gateways.has(w.key))) {
        await ip(['-n', this.names.fabricNetns, 'addr', 'replace', gateway.cidr, 'dev', bridge, ...(gateway.v6 ? ['nodad'] : [])]);
        this.gateways.add(gateway.key);
      }
    });
  }

  private readonly gateways = new Set<string>();

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  private async makeUplink(node: number, master: string): Promise<string> {
    let uplink = this.uplinkNumbers.get(master);
    if (uplink === undefined) {
      uplink = this.uplinkNumbers.size;
      this.uplinkNumbers.set(master, uplink);
    }
    const fabric = this.names.fabricNetns;
    this.fabric ??= addNetns(fabric);
    await this.fabric;
    const bridge = this.names.bridge(uplink);
    if (!(await listLinks(fabric)).includes(bridge)) {
      await ip(['-n', fabric, '-batch', '-'], `link add ${bridge} type bridge\nlink set ${bridge} up\n`);
    }
    const host = this.names.uplink(node, uplink);
    const port = this.names.fabricPort(node, uplink);
    await ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', port, 'netns', fabric]);
    await ip(['-n', fabric, 'link', 'set', port, 'master', bridge, 'up']);
    // Not even an IPv6 link-local address: the host end carries no address at all.
    await ip(['link', 'set', host, 'addrgenmode', 'none']);
    await ip(['link', 'set', host, 'up']);
    return host;
  }
}

/** Why pod networking cannot be simulated on this host, or undefined when it can. */
export async function simulationUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'it needs root (network namespaces and links)';
  let plugins: string;
  try {
    plugins = referencePluginDir();
  } catch (error) {
    return `the reference CNI plugins are missing (${(error as Error).message})`;
  }
  if (!existsSync(join(plugins, 'macvlan'))) return `${plugins}/macvlan is missing: bash hack/control-plane/build-cni-plugins.sh builds it (needs Go)`;
  const probe = `upprobe-${process.pid}`;
  try {
    await ip(['netns', 'add', probe]);
    await deleteNetns(probe);
  } catch (error) {
    return `network namespaces cannot be made here (${(error as Error).message})`;
  }
  return undefined;
}
