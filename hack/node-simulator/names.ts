// Names of what a node simulator makes in the host: network namespaces and links.
// Everything carries the simulator's prefix, so simulators side by side (parallel
// test files, a dev cluster) never touch each other's, and a simulator can find and
// remove what a crashed run of itself left behind.
import { createHash, randomBytes } from 'node:crypto';

/** Lower-case letter, then letters or digits; at most 8, so link names stay under Linux's 15 bytes. */
const PREFIX = /^[a-z][a-z0-9]{1,7}$/;
const MAX_NETNS_NAME = 200;

export class SimulatorNames {
  private readonly link: RegExp;

  constructor(readonly prefix: string) {
    if (!PREFIX.test(prefix)) {
      throw new Error(`node simulator prefix ${JSON.stringify(prefix)}: use 2 to 8 lower-case letters and digits, starting with a letter (it starts every netns and link name)`);
    }
    this.link = new RegExp(`^${prefix}n\\d+u\\d+$`);
  }

  /** The namespace holding the simulated switch: one bridge per uplink name, every node's uplink plugged in. */
  get fabricNetns(): string {
    return `${this.prefix}-fabric`;
  }

  /** A pod's network namespace: readable (namespace and name), unique (the pod's UID). */
  podNetns(pod: { namespace: string; name: string; uid: string }): string {
    const readable = `${pod.namespace}-${pod.name}`.slice(0, MAX_NETNS_NAME - this.prefix.length - 10);
    return `${this.prefix}-${readable}-${pod.uid.slice(0, 8)}`;
  }

  /** The host end of node `node`'s uplink number `uplink`: the macvlan/ipvlan master (≤ 14 bytes). */
  uplink(node: number, uplink: number): string {
    if (node > 99 || uplink > 99) throw new Error('a node simulator has at most 100 nodes and 100 uplink names');
    return `${this.prefix}n${node}u${uplink}`;
  }

  /** The bridge of uplink number `uplink` inside the fabric namespace. */
  bridge(uplink: number): string {
    return `br${uplink}`;
  }

  /** The fabric end of node `node`'s uplink number `uplink`. */
  fabricPort(node: number, uplink: number): string {
    return `n${node}u${uplink}`;
  }

  ownsNetns(name: string): boolean {
    return name.startsWith(`${this.prefix}-`);
  }

  ownsLink(name: string): boolean {
    return this.link.test(name);
  }
}

/** A prefix no other simulator uses: for tests, which start one per file. */
export function randomPrefix(): string {
  return `us${randomBytes(3).toString('hex').slice(0, 5)}`;
}

/** The same prefix for every run from one checkout: dev:up cleans up after a crashed dev:up, never after another checkout's. */
export function checkoutPrefix(checkout: string): string {
  return `ud${createHash('sha256').update(checkout).digest('hex').slice(0, 5)}`;
}
