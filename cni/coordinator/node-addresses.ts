// The node's own addresses, which the pod must reach through the veth: replies to
// the kubelet's probes go back to whichever of them the node sent from, and the
// first of each family is the next hop of the Service routes and the source of the
// node's traffic to the pod. From the configuration (`nodeIPs`) when given, else
// read from the node's interfaces. Pure: the observed interfaces go in.
import type { Family } from './route-plan.js';

/** `ip -j addr show`, the parts read here. */
export interface ObservedLink {
  ifname: string;
  flags?: string[];
  addr_info?: {
    family: string;
    local: string;
    scope?: string;
    tentative?: boolean;
    deprecated?: boolean;
    dadfailed?: boolean;
    temporary?: boolean;
  }[];
}

/**
 * Interfaces whose addresses are not the node's own: loopback, the veths of pods,
 * container bridges, other CNIs' devices, and kube-ipvs0 (it holds ClusterIPs,
 * which the Service CIDR routes cover). Spiderpool skips the same.
 */
export const NOT_NODE_INTERFACES: readonly RegExp[] = [
  /^lo$/,
  /^veth/,
  /^docker/,
  /^cbr/,
  /^dummy/,
  /^virbr/,
  /^lxcbr/,
  /^cali/,
  /^flannel/,
  /^kube-ipvs/,
  /^cni/,
  /^vx-submariner/,
  /^cilium/,
  /^nodelocaldns/,
];

export const familyOf = (address: string): Family => (address.includes(':') ? 6 : 4);

/** Configured addresses, by family, in the order written. */
export function nodeAddressesFromConfig(nodeIPs: readonly string[]): Record<Family, string[]> {
  const out: Record<Family, string[]> = { 4: [], 6: [] };
  for (const address of nodeIPs) if (!out[familyOf(address)].includes(address)) out[familyOf(address)].push(address);
  return out;
}

/**
 * Global, usable addresses of the node's interfaces that are up; per family, the
 * `preferred` one (the source the node picks towards the pod, `ip route get`) first.
 */
export function nodeAddressesFrom(links: readonly ObservedLink[], preferred: Partial<Record<Family, string>>): Record<Family, string[]> {
  const out: Record<Family, string[]> = { 4: [], 6: [] };
  for (const link of links) {
    if (NOT_NODE_INTERFACES.some((pattern) => pattern.test(link.ifname))) continue;
    if (link.flags !== undefined && !link.flags.includes('UP')) continue;
    for (const info of link.addr_info ?? []) {
      if (info.family !== 'inet' && info.family !== 'inet6') continue;
      if ((info.scope ?? 'global') !== 'global' || info.tentative || info.deprecated || info.dadfailed || info.temporary) continue;
      const family: Family = info.family === 'inet' ? 4 : 6;
      if (!out[family].includes(info.local)) out[family].push(info.local);
    }
  }
  for (const family of [4, 6] as const) {
    const first = preferred[family];
    const at = first === undefined ? -1 : out[family].indexOf(first);
    if (at > 0) out[family] = [first!, ...out[family].slice(0, at), ...out[family].slice(at + 1)];
  }
  return out;
}
