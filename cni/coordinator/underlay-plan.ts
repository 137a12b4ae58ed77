// Underlay mode: a veth pair between the pod and the node, so that a macvlan,
// ipvlan or SR-IOV pod — whose NIC cannot talk to its own node, the parent
// interface drops that traffic — reaches ClusterIPs (kube-proxy on the node
// translates them) and the node's addresses, and the kubelet's probes reach the pod.
// Pure: facts and observations go in, phases of `ip` commands come out.
//
// In the pod (main, and the first NIC's own table when another NIC keeps the
// default route, else its `from` rule would send replies around the veth):
//   <node address>/32 dev veth0 scope link src <pod address>
//   <service, overlay pod or hijack CIDR> via <first node address> dev veth0 src <pod address>
// On the node, in table `hostRuleTable` (500), reached by one rule per pod address
// ahead of `main` (which routes the pod's subnet out of the parent interface):
//   <pod address>/32 dev veth<id> scope link src <first node address>
//   rule to <pod address>/32 lookup 500 pref 1000
// plus static neighbour entries both ways: neither end of the veth holds the
// address the other asks for, and IPv6 neighbour discovery only answers for
// addresses on the receiving interface.
// The veth carries no address (IPv6 link-local aside) unless `vethLinkAddress`
// gives veth0 one, as Spiderpool does. Everything but the node's rules goes away
// with the veth: undoing and DEL delete the link and the rules.
import { UNDERPIN_PROTO, rulesToDelete, type Family, type ObservedRoute, type ObservedRule } from './route-plan.js';
import type { Phase, Step } from './step-runner.js';
import { familyOf } from './node-addresses.js';
import { POD_VETH, hostVethName, vethMacs } from './veth-names.js';

/** Ahead of `main` (32766) and of the coordinator's `from` rules in pods (32000); Spiderpool's too. */
export const HOST_RULE_PREF = 1000;

export interface UnderlayFacts {
  containerID: string;
  /** CNI_NETNS: where the pod's end goes. */
  podNetns: string;
  /** The pod's first NIC (eth0), whose addresses the node routes to. */
  ifname: string;
  podAddresses: Record<Family, string[]>;
  /** The node's addresses; the first of each family is the next hop and the source. */
  nodeAddresses: Record<Family, string[]>;
  /** Service, overlay pod and hijack CIDRs, canonical, either family. */
  routedCidrs: string[];
  /** Pod tables that get the veth routes: 'main', then the first NIC's own table if it has one. */
  podTables: string[];
  hostTable: number;
  vethLinkAddress?: string | undefined;
}

/** The node's pod table as observed: `ip rule show table T` and `ip route show table T`, per family. */
export interface HostTableState {
  rules: Record<Family, ObservedRule[]>;
  routes: Record<Family, ObservedRoute[]>;
}

export interface UnderlayPlan {
  phases: Phase[];
  hostVeth: string;
  /** What could not be routed, and why (for the log). */
  skipped: string[];
}

const FAMILIES = [4, 6] as const;
const hostPrefix = (family: Family) => (family === 4 ? 32 : 128);
/** `ip -j` prints full-length prefixes without their length. */
const bare = (dst: string) => dst.replace(/\/(32|128)$/, '');
const linkScope = (family: Family) => (family === 4 ? ' scope link' : '');

/**
 * Rules of the coordinator (protocol 85) into `table` whose destination has no
 * route there: their veth is gone (the pod's namespace went before DEL). Rules are
 * added after their route and deleted before it, so a live pod's rule always has one.
 */
export function staleHostRules(state: HostTableState, table: number, family: Family): string[] {
  const routed = new Set(state.routes[family].map((r) => bare(r.dst)));
  const stale = state.rules[family].filter((r) => r.dst !== undefined && r.dst !== 'all' && !routed.has(bare(r.dst)));
  return rulesToDelete(stale, new Set([String(table)]));
}

function hostRule(address: string, family: Family, table: number): string {
  return `to ${address}/${hostPrefix(family)} lookup ${table} pref ${HOST_RULE_PREF}`;
}

export function planUnderlay(facts: UnderlayFacts, hostState: HostTableState): UnderlayPlan {
  const hostVeth = hostVethName(facts.containerID);
  const macs = vethMacs(facts.containerID);
  const skipped: string[] = [];
  const phases: Phase[] = [
    {
      where: 'node',
      purpose: `creating the veth pair ${hostVeth} (node) / ${POD_VETH} (pod) for ${facts.ifname}`,
      steps: [
        {
          run: `link add ${hostVeth} address ${macs.node} type veth peer name ${POD_VETH} address ${macs.pod} netns ${facts.podNetns}`,
          undo: `link del ${hostVeth}`,
        },
        { run: `link set ${hostVeth} up` },
      ],
    },
    {
      where: 'pod',
      purpose: `bringing up ${POD_VETH} in the pod`,
      steps: [
        { run: `link set ${POD_VETH} up` },
        ...(facts.vethLinkAddress === undefined
          ? []
          : [{ run: `addr add ${facts.vethLinkAddress}/${hostPrefix(familyOf(facts.vethLinkAddress))} dev ${POD_VETH} scope link` }]),
      ],
    },
  ];

  for (const family of FAMILIES) {
    const podAddresses = facts.podAddresses[family];
    const cidrs = facts.routedCidrs.filter((c) => familyOf(c) === family);
    if (podAddresses.length === 0) {
      if (cidrs.length > 0) skipped.push(`${cidrs.join(', ')}: ${facts.ifname} has no IPv${family} address`);
      continue;
    }
    const nodes = facts.nodeAddresses[family];
    const nextHop = nodes[0];
    if (nextHop === undefined && cidrs.length > 0) skipped.push(`${cidrs.join(', ')}: the node has no IPv${family} address`);
    // IPv4 only: an IPv6 source still tentative (duplicate address detection)
    // would be refused, and IPv6 source selection prefers the NIC's global address
    // over veth0's link-local one by itself.
    const src = family === 4 ? ` src ${podAddresses[0]}` : '';

    const podSteps: Step[] = nodes.map((n) => ({ run: `neigh replace ${n} lladdr ${macs.node} dev ${POD_VETH} nud permanent` }));
    for (const table of facts.podTables) {
      // Node addresses first: the kernel checks that a next hop is reachable.
      for (const n of nodes) podSteps.push({ run: `route add ${n}/${hostPrefix(family)} dev ${POD_VETH}${linkScope(family)}${src} proto ${UNDERPIN_PROTO} table ${table}` });
      if (nextHop === undefined) continue;
      for (const cidr of cidrs) podSteps.push({ run: `route add ${cidr} via ${nextHop} dev ${POD_VETH}${src} proto ${UNDERPIN_PROTO} table ${table}` });
    }
    phases.push({ where: 'pod', family, purpose: `routes in the pod through ${POD_VETH} to the node and the Service CIDRs (IPv${family})`, steps: podSteps });

    const stale = staleHostRules(hostState, facts.hostTable, family);
    phases.push({ where: 'node', family, purpose: `removing stale rules into table ${facts.hostTable}`, steps: stale.map((run) => ({ run })), bestEffort: true });

    const nodeSrc = nextHop === undefined ? '' : ` src ${nextHop}`;
    const nodeSteps: Step[] = [];
    for (const address of podAddresses) {
      nodeSteps.push({ run: `neigh replace ${address} lladdr ${macs.pod} dev ${hostVeth} nud permanent` });
      nodeSteps.push({ run: `route add ${address}/${hostPrefix(family)} dev ${hostVeth}${linkScope(family)}${nodeSrc} proto ${UNDERPIN_PROTO} table ${facts.hostTable}` });
      const rule = hostRule(address, family, facts.hostTable);
      nodeSteps.push({ run: `rule add ${rule} protocol ${UNDERPIN_PROTO}`, undo: `rule del ${rule}` });
    }
    phases.push({
      where: 'node',
      family,
      purpose: `routes on the node to ${facts.ifname}'s IPv${family} addresses through ${hostVeth} (table ${facts.hostTable})`,
      steps: nodeSteps,
    });
  }
  return { phases, hostVeth, skipped };
}

/** What CHECK reads back. */
export interface UnderlayObserved {
  /** `ip -j link show <host veth>` on the node, or undefined when it is missing. */
  hostLink: { ifname: string; flags?: string[] } | undefined;
  hostRules: Record<Family, ObservedRule[]>;
  hostRoutes: Record<Family, (ObservedRoute & { dev?: string })[]>;
  /** `ip -j route show table main dev veth0` in the pod, per family. */
  podRoutes: Record<Family, ObservedRoute[]>;
}

/** Differences between what ADD makes and what is there; empty when all is in place. */
export function underlayProblems(facts: UnderlayFacts, observed: UnderlayObserved): string[] {
  const hostVeth = hostVethName(facts.containerID);
  const table = String(facts.hostTable);
  if (!observed.hostLink) return [`the node has no link ${hostVeth} (the veth to ${POD_VETH} in the pod)`];
  const problems: string[] = [];
  if (!(observed.hostLink.flags ?? []).includes('UP')) problems.push(`link ${hostVeth} on the node is down`);
  for (const family of FAMILIES) {
    for (const address of facts.podAddresses[family]) {
      if (!observed.hostRules[family].some((r) => r.dst !== undefined && bare(r.dst) === address && r.table === table && r.priority === HOST_RULE_PREF)) {
        problems.push(`the node has no rule "to ${address} lookup ${table}"`);
      }
      if (!observed.hostRoutes[family].some((r) => bare(r.dst) === address && r.dev === hostVeth)) {
        problems.push(`the node's table ${table} has no route to ${address} through ${hostVeth}`);
      }
    }
    if (facts.podAddresses[family].length === 0) continue;
    const nodes = facts.nodeAddresses[family];
    const routes = observed.podRoutes[family];
    for (const n of nodes) {
      if (!routes.some((r) => bare(r.dst) === n)) problems.push(`the pod has no route to the node address ${n} through ${POD_VETH}`);
    }
    const nextHop = nodes[0];
    if (nextHop === undefined) continue;
    for (const cidr of facts.routedCidrs.filter((c) => familyOf(c) === family)) {
      if (!routes.some((r) => bare(r.dst) === bare(cidr) && r.gateway === nextHop)) problems.push(`the pod has no route to ${cidr} via ${nextHop} through ${POD_VETH}`);
    }
  }
  return problems;
}
