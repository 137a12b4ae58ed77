// What a simulated node changes in a network configuration before running it, and
// what it refuses. A real node has its own "uplink0" and its installer's kubeconfig
// at the default path; simulated nodes share one host, so:
//   - `master` (macvlan, ipvlan) becomes this node's host link for that uplink name;
//   - Underpin's IPAM and coordinator get this simulator's kubeconfig (and plugin log)
//     where the configuration names none, as the default path would on a node.
//   - host-local keeps its state in this node's directory of the simulator, never in
//     /var/lib/cni; Whereabouts (the benchmarks' peer) must name its kubeconfig and
//     logs into that directory.
// Plugins that would touch the host's own network (bridge, host-device, ptp, …) or
// keep state in host files (dhcp) are refused: every address a pod gets must live
// only inside namespaces the simulator made.
import type { NetworkList } from './multus.js';

const MAIN_PLUGINS = new Set(['macvlan', 'ipvlan']);
const COORDINATORS = new Set(['underpin-coordinator', 'coordinator']);
const UNDERPIN_IPAM = new Set(['underpin', 'spiderpool']);
const OTHER_IPAM = new Set(['static']);
const HOST_LOCAL = 'host-local';
const WHEREABOUTS = 'whereabouts';

export interface SimulatedNode {
  name: string;
  /** The host link that plays `master` on this node. */
  uplink(master: string): Promise<string>;
  /** Kubeconfig for Underpin's plugins (read-only identity). */
  pluginKubeconfig: string;
  /** Where Underpin's plugins log, unless the configuration says. */
  pluginLogFile: string;
  /** This node's own directory for plugin state (host-local's leases) and peers' logs. */
  stateDir: string;
}

export class UnsupportedNetworkError extends Error {}

export async function configurationForNode(list: NetworkList, network: string, node: SimulatedNode): Promise<NetworkList> {
  const refuse = (why: string) =>
    new UnsupportedNetworkError(`NetworkAttachmentDefinition ${network}: ${why}; the node simulator runs macvlan or ipvlan (with "master") + underpin/spiderpool, static, host-local or whereabouts IPAM + underpin-coordinator`);
  const plugins: Record<string, unknown>[] = [];
  for (const plugin of list.plugins) {
    const type = String(plugin.type);
    const adapted: Record<string, unknown> = { ...plugin };
    if (MAIN_PLUGINS.has(type)) {
      // Without master, macvlan takes the host's default-route NIC: a real interface.
      if (typeof plugin.master !== 'string' || plugin.master === '') throw refuse(`${type} has no "master"; name the uplink, e.g. "master": "uplink0"`);
      adapted.master = await node.uplink(plugin.master);
      const ipam = plugin.ipam as Record<string, unknown> | undefined;
      const ipamType = String(ipam?.type ?? '');
      if (UNDERPIN_IPAM.has(ipamType)) {
        adapted.ipam = { ...ipam, kubeconfig: ipam!.kubeconfig ?? node.pluginKubeconfig, log_file_path: ipam!.log_file_path ?? node.pluginLogFile };
      } else if (ipamType === HOST_LOCAL) {
        // One directory per node, as each node's /var/lib/cni/networks is its own.
        adapted.ipam = { ...ipam, dataDir: `${node.stateDir}/host-local` };
      } else if (ipamType === WHEREABOUTS) {
        // Without both, it falls back to flat files under /etc/cni/net.d and /host on this machine.
        const kubernetes = ipam!.kubernetes as { kubeconfig?: unknown } | undefined;
        if (typeof kubernetes?.kubeconfig !== 'string' || typeof ipam!.configuration_path !== 'string') {
          throw refuse('whereabouts needs "kubernetes": {"kubeconfig": …} and "configuration_path" naming an existing flat file (tests/bench/whereabouts-identity.ts makes both)');
        }
        adapted.ipam = { ...ipam, log_file: ipam!.log_file ?? `${node.stateDir}/whereabouts.log` };
      } else if (!OTHER_IPAM.has(ipamType)) {
        throw refuse(`IPAM type ${JSON.stringify(ipamType || undefined)} is not supported`);
      }
    } else if (COORDINATORS.has(type)) {
      // Underlay mode adds a veth, routes and rules on the node, and this simulator's
      // node is the real host namespace: its tests do that in a node namespace instead.
      if (plugin.mode === 'underlay') throw refuse(`${type} "mode": "underlay" would add a veth, routes and rules to this machine's own network; use "mode": "auto" here (underlay mode is tested in tests/cni/underlay-netns.test.ts)`);
      adapted.kubeconfig = plugin.kubeconfig ?? node.pluginKubeconfig;
      adapted.log_file_path = plugin.log_file_path ?? node.pluginLogFile;
    } else {
      throw refuse(`plugin type ${JSON.stringify(type)} is not supported (it would change the host's network or files)`);
    }
    plugins.push(adapted);
  }
  return { ...list, plugins };
}
