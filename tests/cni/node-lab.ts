// A node for underlay-mode tests, itself a network namespace: the coordinator
// changes the namespace it runs in (its veth ends, routes and rules "on the
// node"), so it runs inside this one (`ip netns exec`) and never in the real root
// namespace. The node has uplinks `ens1` and `ens2` (macvlan masters) to a "lan"
// namespace holding the pods' gateways, strict reverse-path filtering, ClusterIPs
// on its loopback, where kube-proxy would translate them, and the stub API relayed
// onto its loopback. Every name carries a per-run suffix; cleanup() removes all of it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Server, type Socket } from 'node:net';
import { ip, ipJSON, NamespaceSet } from './netns-lab.js';

export const NODE = { ipv4: '198.18.1.2', ipv6: 'fd00:18:1::2' };
export const LAN = { cidr4: '198.18.1.0/24', gateway4: '198.18.1.1', cidr6: 'fd00:18:1::/64', gateway6: 'fd00:18:1::1' };
/** A second underlay network, for pods with a second NIC (uplink ens2). */
export const LAN2 = { node4: '198.18.2.2', gateway4: '198.18.2.1' };
/** A Service CIDR per family, with one ClusterIP on the node. */
export const SERVICES = { cidr4: '198.18.96.0/24', clusterIP4: '198.18.96.10', cidr6: 'fd00:96::/112', clusterIP6: 'fd00:96::10' };

const NO_DAD = { 'net.ipv6.conf.default.accept_dad': '0', 'net.ipv6.conf.all.accept_dad': '0' };

export class NodeLab extends NamespaceSet {
  readonly id = randomBytes(3).toString('hex');
  readonly node = `up-${this.id}-node`;
  readonly lan = `up-${this.id}-lan`;
  readonly uplink = 'ens1';
  readonly uplink2 = 'ens2';
  private readonly relays = new Set<Server>();
  private readonly sockets = new Set<Socket>();
  private pods = 0;

  setUp(): void {
    this.addNetns(this.node);
    this.addNetns(this.lan);
    this.sysctl(this.node, { ...NO_DAD, 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.default.rp_filter': '1' });
    this.sysctl(this.lan, NO_DAD);
    ip(['-n', this.node, 'link', 'add', this.uplink, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', this.lan]);
    ip(['-n', this.node, 'link', 'add', this.uplink2, 'type', 'veth', 'peer', 'name', 'lan1', 'netns', this.lan]);
    ip(['-n', this.node, '-batch', '-'], [
      `addr add ${NODE.ipv4}/24 dev ${this.uplink}`,
      `addr add ${NODE.ipv6}/64 dev ${this.uplink} nodad`,
      `addr add ${LAN2.node4}/24 dev ${this.uplink2}`,
      `addr add ${SERVICES.clusterIP4}/32 dev lo`,
      `addr add ${SERVICES.clusterIP6}/128 dev lo`,
      `link set ${this.uplink} up`,
      `link set ${this.uplink2} up`,
    ].join('\n'));
    ip(['-n', this.lan, '-batch', '-'], [
      `addr add ${LAN.gateway4}/24 dev lan0`,
      `addr add ${LAN.gateway6}/64 dev lan0 nodad`,
      `addr add ${LAN2.gateway4}/24 dev lan1`,
      'link set lan0 up',
      'link set lan1 up',
    ].join('\n'));
  }

  /** A fresh pod namespace; returns its name and the path a runtime passes as CNI_NETNS. */
  addPod(): { netns: string; path: string; containerID: string } {
    const netns = this.addNetns(`up-${this.id}-pod${++this.pods}`);
    this.sysctl(netns, NO_DAD);
    return { netns, path: `/run/netns/${netns}`, containerID: `ctr-${this.id}-${this.pods}` };
  }

  /**
   * Makes 127.0.0.1:`port` inside the node namespace lead to 127.0.0.1:`port` here
   * (the stub API), so plugins run in the node reach it with no link into the root
   * namespace: a child opens the listening socket inside the node and hands it over
   * IPC, and this process relays each connection it accepts there, bytes unchanged
   * (TLS included).
   */
  async relayIntoNode(port: number): Promise<void> {
    const script = `const s = require('net').createServer(); s.listen(${port}, '127.0.0.1', () => process.send('listening', s, () => { s.close(); process.disconnect(); }));`;
    const child = spawn('ip', ['netns', 'exec', this.node, process.execPath, '-e', script], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const listening = await new Promise<Server>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d));
      child.once('message', (_message, handle) => resolve(handle as Server));
      child.once('exit', (code) => reject(new Error(`listener in ${this.node} exited (${code}) before sending its socket: ${err}`)));
    });
    listening.on('connection', (inside: Socket) => {
      const here = connect(port, '127.0.0.1');
      this.sockets.add(inside).add(here);
      inside.pipe(here).pipe(inside);
      for (const [a, b] of [
        [inside, here],
        [here, inside],
      ] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => {
          b.destroy();
          this.sockets.delete(a);
        });
      }
    });
    this.relays.add(listening);
  }

  /** From `netns`: connect, expect "pong" within timeoutMs. */
  tcpExchange(netns: string, address: string, port: number, timeoutMs = 1500): Promise<boolean> {
    const script = `const s = require('net').connect(${port}, '${address}'); s.setTimeout(${timeoutMs}, () => process.exit(3)); let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => process.exit(got === 'pong' ? 0 : 4)); s.on('error', () => process.exit(2));`;
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: 'ignore' });
      this.processes.add(child);
      child.on('exit', (code) => {
        this.processes.delete(child);
        resolve(code === 0);
      });
    });
  }

  /** What underlay mode may change on the node: links, rules and the routes of `table`, per family. */
  nodeState(table: number): { links: string[]; rules4: unknown[]; rules6: unknown[]; routes4: unknown[]; routes6: unknown[]; neighbours: unknown[] } {
    const routes = (family: '-4' | '-6') => {
      try {
        return ipJSON<unknown[]>(this.node, [family, 'route', 'show', 'table', String(table)]);
      } catch {
        return []; // the table does not exist (yet, or any more)
      }
    };
    return {
      links: ipJSON<{ ifname: string }[]>(this.node, ['link', 'show']).map((l) => l.ifname),
      rules4: ipJSON<unknown[]>(this.node, ['-4', 'rule', 'show']),
      rules6: ipJSON<unknown[]>(this.node, ['-6', 'rule', 'show']),
      routes4: routes('-4'),
      routes6: routes('-6'),
      neighbours: ipJSON<{ state?: string[] }[]>(this.node, ['neigh', 'show', 'nud', 'permanent']),
    };
  }

  /** Stops the servers and clients started so far. */

  cleanup(): void {
    this.stopProcesses();
    for (const relay of this.relays) relay.close();
    for (const socket of this.sockets) socket.destroy();
    this.deleteAllNetns();
  }
}
