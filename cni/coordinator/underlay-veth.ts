// Underlay mode's I/O: reads what the plan needs from the node, and removes and
// checks what ADD made. The plan itself is underlay-plan.ts.
import { CniCode, CniError } from '../skel/cni-error.js';
import type { CniEnvironment } from '../skel/cni-env.js';
import type { CoordinatorNetworkConfig } from './coordinator-config.js';
import type { NetnsIp } from './netns-ip.js';
import { NOT_NODE_INTERFACES, nodeAddressesFrom, nodeAddressesFromConfig, type ObservedLink } from './node-addresses.js';
import type { Family, ObservedRoute, ObservedRule } from './route-plan.js';
import { staleHostRules, underlayProblems, type HostTableState, type UnderlayFacts, type UnderlayObserved } from './underlay-plan.js';
import { POD_VETH, hostVethName } from './veth-names.js';

const FAMILIES = [4, 6] as const;

/** The pod's first NIC gets the veth in underlay mode; the other NICs get policy routing only. */
export function wantsVeth(config: CoordinatorNetworkConfig, ifname: string): boolean {
  return config.mode === 'underlay' && ifname === config.podDefaultCniNic;
}

/** What the node tells about itself before ADD changes it. */
export interface NodeObservation {
  nodeAddresses: Record<Family, string[]>;
  hostTable: HostTableState;
}

export async function observeNode(node: NetnsIp, config: CoordinatorNetworkConfig, podAddresses: Record<Family, string[]>): Promise<NodeObservation> {
  const families = FAMILIES.filter((f) => podAddresses[f].length > 0);
  const [nodeAddresses, hostTable] = await Promise.all([readNodeAddresses(node, config, podAddresses, families), readHostTable(node, config.hostRuleTable, families)]);
  return { nodeAddresses, hostTable };
}

async function readNodeAddresses(node: NetnsIp, config: CoordinatorNetworkConfig, podAddresses: Record<Family, string[]>, families: Family[]): Promise<Record<Family, string[]>> {
  if (config.nodeIPs !== undefined) return nodeAddressesFromConfig(config.nodeIPs);
  if (families.length === 0) return { 4: [], 6: [] }; // underlayFacts refuses a NIC without addresses
  // The source the node would pick towards the pod comes first: it is what the
  // node's traffic to the pod carries once routed through the veth.
  const [links, ...sources] = await Promise.all([
    node.json<ObservedLink[]>(['addr', 'show']),
    ...families.map((f) => node.json<{ prefsrc?: string }[]>([`-${f}`, 'route', 'get', podAddresses[f][0]!]).catch(() => [])),
  ]);
  const preferred: Partial<Record<Family, string>> = {};
  families.forEach((f, i) => {
    const source = sources[i]?.[0]?.prefsrc;
    if (source !== undefined) preferred[f] = source;
  });
  const found = nodeAddressesFrom(links, preferred);
  if (families.every((f) => found[f].length === 0)) {
    const skipped = NOT_NODE_INTERFACES.map((p) => p.source.replace(/^\^|\$$/g, '')).join(', ');
    throw new CniError(
      CniCode.netnsSetup,
      `underpin-coordinator: underlay mode found no ${families.map((f) => `IPv${f}`).join(' or ')} address of the node to route through the veth ` +
        `(interfaces that are down and ${skipped}… do not count); set "nodeIPs" in the coordinator's configuration`,
    );
  }
  return found;
}

/** Rules first, then routes: a rule seen has its route in the later read (ADD adds the route first). */
async function readFamilyTable(node: NetnsIp, table: number, family: Family): Promise<{ rules: ObservedRule[]; routes: ObservedRoute[] }> {
  const rules = await node.json<ObservedRule[]>([`-${family}`, 'rule', 'show', 'table', String(table)]);
  const routes = await node.json<ObservedRoute[]>([`-${family}`, 'route', 'show', 'table', String(table)]);
  return { rules, routes };
}

async function readHostTable(node: NetnsIp, table: number, families: readonly Family[]): Promise<HostTableState> {
  const state: HostTableState = { rules: { 4: [], 6: [] }, routes: { 4: [], 6: [] } };
  await Promise.all(
    families.map(async (f) => {
      const read = await readFamilyTable(node, table, f);
      state.rules[f] = read.rules;
      state.routes[f] = read.routes;
    }),
  );
  return state;
}

export function underlayFacts(
  env: CniEnvironment,
  config: CoordinatorNetworkConfig,
  podAddresses: Record<Family, string[]>,
  nodeAddresses: Record<Family, string[]>,
  podTables: string[],
): UnderlayFacts {
  // `ip -batch` splits on whitespace; runtimes' namespace paths have none.
  if (/\s/.test(env.netns)) throw new CniError(CniCode.invalidEnvironment, `CNI_NETNS ${JSON.stringify(env.netns)} contains whitespace, which underlay mode cannot pass to ip link`);
  if (FAMILIES.every((f) => podAddresses[f].length === 0)) {
    throw new CniError(CniCode.invalidNetworkConfig, `underpin-coordinator: underlay mode needs ${env.ifname}'s addresses in prevResult, and it has none`);
  }
  return {
    containerID: env.containerID,
    podNetns: env.netns,
    ifname: env.ifname,
    podAddresses,
    nodeAddresses,
    routedCidrs: config.routedCidrs,
    podTables,
    hostTable: config.hostRuleTable,
    vethLinkAddress: config.vethLinkAddress,
  };
}

/**
 * DEL: deletes the node's end of the veth (the pod's end, the routes and the
 * neighbour entries go with it), then every coordinator rule into the table left
 * without a route: this pod's, and any a pod whose namespace vanished before its
 * DEL left behind. Never fails.
 */
export async function removeVeth(node: NetnsIp, containerID: string, table: number): Promise<{ removed: string[] }> {
  const hostVeth = hostVethName(containerID);
  const removed: string[] = [];
  const deleted = await node.batch([`link del ${hostVeth}`], true);
  if (deleted.ok) removed.push(`link ${hostVeth}`);
  await Promise.all(
    FAMILIES.map(async (f) => {
      const read = await readFamilyTable(node, table, f).catch(() => undefined);
      if (!read) return;
      const state: HostTableState = { rules: { 4: [], 6: [] }, routes: { 4: [], 6: [] } };
      state.rules[f] = read.rules;
      state.routes[f] = read.routes;
      const commands = staleHostRules(state, table, f);
      if (commands.length === 0) return;
      await node.batchFamily(f, commands, true);
      removed.push(...commands.map((c) => c.replace(/^rule del /, 'rule ')));
    }),
  );
  return { removed };
}

/** CHECK: what ADD made is still there. */
export async function checkVeth(namespaces: { pod: NetnsIp; node: NetnsIp }, facts: UnderlayFacts): Promise<string[]> {
  const hostVeth = hostVethName(facts.containerID);
  const table = String(facts.hostTable);
  const hostLink = await namespaces.node.json<{ ifname: string; flags?: string[] }[]>(['link', 'show', 'dev', hostVeth]).then(
    (links) => links[0],
    () => undefined,
  );
  const observed: UnderlayObserved = { hostLink, hostRules: { 4: [], 6: [] }, hostRoutes: { 4: [], 6: [] }, podRoutes: { 4: [], 6: [] } };
  if (hostLink) {
    await Promise.all(
      FAMILIES.filter((f) => facts.podAddresses[f].length > 0).map(async (f) => {
        const [rules, hostRoutes, podRoutes] = await Promise.all([
          namespaces.node.json<ObservedRule[]>([`-${f}`, 'rule', 'show', 'table', table]),
          namespaces.node.json<ObservedRoute[]>([`-${f}`, 'route', 'show', 'table', table]),
          namespaces.pod.json<ObservedRoute[]>([`-${f}`, 'route', 'show', 'table', 'main', 'dev', POD_VETH]).catch(() => []),
        ]);
        observed.hostRules[f] = rules;
        observed.hostRoutes[f] = hostRoutes;
        observed.podRoutes[f] = podRoutes;
      }),
    );
  }
  return underlayProblems(facts, observed);
}
