// `underpin-coordinator`: after the main plugin has put a NIC into the pod, give
// that NIC source-based policy routing (its own table and `from` rules) so replies
// leave by the NIC the request came in on, and keep the default route on the NIC
// the pod asked for. In underlay mode the pod's first NIC also gets a veth to the
// node (underlay-plan.ts). DEL removes what ADD made; a failed ADD leaves nothing
// behind, in the pod or on the node. Fields the network configuration leaves out
// come from SpiderCoordinator default (coordinator-defaults.ts).
import { defaultRouteInterface } from '../../ipam/binding.js';
import { ApiReader } from '../kube/api-reader.js';
import { loadKubeconfig } from '../kube/kubeconfig.js';
import { readBoundPod, type BoundPod } from '../kube/pod-binding.js';
import { CniCode, CniError } from '../skel/cni-error.js';
import { podReference, type CniEnvironment } from '../skel/cni-env.js';
import { readPrevResult, type CniResult } from '../skel/cni-result.js';
import { PluginLog, parseLogLevel } from '../skel/plugin-log.js';
import type { PluginHandlers, RawNetworkConfig } from '../skel/plugin-skel.js';
import { prepareNic, type Prepared } from './address-probe.js';
import { macProblem } from './mac-prefix.js';
import { readClusterCoordinator } from './cluster-defaults.js';
import { readCoordinatorConfig, type CoordinatorNetworkConfig } from './coordinator-config.js';
import { withClusterDefaults, type DefaultsApplied } from './coordinator-defaults.js';
import { NetnsIp } from './netns-ip.js';
import {
  FROM_RULE_PREF,
  UNDERPIN_PROTO,
  planNicRouting,
  rulesToDelete,
  tableFor,
  type Family,
  type NicRoutingFacts,
  type ObservedRoute,
  type ObservedRule,
} from './route-plan.js';
import { runPhases, type Namespaces, type Phase } from './step-runner.js';
import { planUnderlay } from './underlay-plan.js';
import { checkVeth, observeNode, removeVeth, underlayFacts, wantsVeth, type NodeObservation } from './underlay-veth.js';

interface NicPlace {
  position: number;
  nicCount: number;
  defaultNic: string;
}

function logFor(config: CoordinatorNetworkConfig, env: CniEnvironment): PluginLog {
  const file = config.log_file_path || config.logOptions?.logFile || undefined;
  return new PluginLog(file, parseLogLevel(config.log_level ?? config.logOptions?.logLevel), {
    plugin: 'underpin-coordinator',
    command: env.command,
    containerID: env.containerID,
    ifname: env.ifname,
  });
}

/** Where the NIC stands among the pod's NICs: from the pod's binding, else from its name (eth0, net1, net2 …). */
async function placeOf(env: CniEnvironment, config: CoordinatorNetworkConfig, podRead: Promise<BoundPod>): Promise<NicPlace> {
  const pod = podReference(env.args, false);
  try {
    const bound = await podRead;
    const names = bound.binding.interfaces.map((i) => i.interface);
    const position = names.indexOf(env.ifname);
    if (position < 0) {
      throw new CniError(CniCode.noInterfaceBinding, `pod ${pod.namespace}/${pod.name} is bound to addresses for ${names.join(', ')}, not for ${env.ifname}`);
    }
    return { position, nicCount: names.length, defaultNic: defaultRouteInterface(bound.binding, config.podDefaultRouteNic) };
  } catch (error) {
    if (!(error instanceof CniError) || error.code !== CniCode.podNotBound) throw error;
    // A NIC Underpin did not address: order by name as Multus names NICs.
    const first = config.podDefaultCniNic;
    const numbered = /^net(\d+)$/.exec(env.ifname);
    const position = env.ifname === first ? 0 : numbered ? Number(numbered[1]) : -1;
    if (position < 0) throw new CniError(CniCode.noInterfaceBinding, `${env.ifname}: not ${first} nor netN, and the pod has no Underpin binding that orders its NICs`);
    return { position, nicCount: Math.max(position + 1, 1), defaultNic: config.podDefaultRouteNic ?? first };
  }
}

/** The API reads of one invocation, started together over one connection. */
interface ApiReads {
  /** The configuration: the network's, with SpiderCoordinator default's values where it says nothing. */
  config: CoordinatorNetworkConfig;
  applied: DefaultsApplied;
  /** The pod's binding, read only when routes may be tuned. */
  pod(): Promise<BoundPod>;
  close(): void;
}

/**
 * Reads SpiderCoordinator default and (when the network may tune routes) the pod at
 * the same time, then settles the configuration. The cluster's object only fills in
 * what the network leaves out; without it the plugin keeps its built-in defaults.
 */
async function readApi(env: CniEnvironment, json: Record<string, unknown>, own: CoordinatorNetworkConfig, options: { pod: boolean }): Promise<ApiReads> {
  let connection;
  try {
    connection = loadKubeconfig(own.kubeconfigPath);
  } catch (error) {
    // Only the pod read needs the API: without a kubeconfig the built-in defaults hold,
    // and a NIC whose routes are tuned fails as it always did.
    const applied = withClusterDefaults(json, { found: false, why: (error as Error).message });
    return { config: own, applied, pod: () => Promise.reject(error), close: () => {} };
  }
  const reader = await ApiReader.open(connection);
  const podRead = options.pod && json.tunePodRoutes !== false ? readBoundPod(reader, podReference(env.args, false)) : undefined;
  podRead?.catch(() => {}); // awaited by pod(); a failure must not go unhandled meanwhile
  const cluster = await readClusterCoordinator(reader);
  const applied = withClusterDefaults(json, cluster);
  let config: CoordinatorNetworkConfig;
  try {
    config = readCoordinatorConfig(applied.json);
  } catch (error) {
    reader.close();
    throw error;
  }
  return {
    config,
    applied,
    pod: () => podRead ?? readBoundPod(reader, podReference(env.args, false)),
    close: () => reader.close(),
  };
}

/** What came from SpiderCoordinator default, for the log. */
function defaultsLog(applied: DefaultsApplied): Record<string, unknown> {
  return { ...(applied.fromCluster.length > 0 ? { fromSpiderCoordinator: applied.fromCluster } : {}), ...(applied.note ? { defaults: applied.note } : {}) };
}

/** The NIC's addresses and gateways, from the main plugin's result. */
function nicAddresses(prev: CniResult, ifname: string): Pick<NicRoutingFacts, 'addresses' | 'gateways'> {
  const index = prev.interfaces?.findIndex((i) => i.name === ifname && i.sandbox !== undefined && i.sandbox !== '') ?? -1;
  const ips = prev.ips.filter((ip) => ip.interface === undefined || index < 0 || ip.interface === index);
  const addresses: Record<Family, string[]> = { 4: [], 6: [] };
  const gateways: Partial<Record<Family, string>> = {};
  for (const ip of ips) {
    const family: Family = ip.address.includes(':') ? 6 : 4;
    addresses[family].push(ip.address.split('/')[0]!);
    if (ip.gateway !== undefined && gateways[family] === undefined) gateways[family] = ip.gateway;
  }
  return { addresses, gateways };
}

/** The result says the MAC podMACPrefix gave the NIC. */
function withMac(output: Record<string, unknown>, ifname: string, mac: string): void {
  const interfaces = output.interfaces;
  if (!Array.isArray(interfaces)) return;
  output.interfaces = interfaces.map((i: Record<string, unknown>) => (i.name === ifname && typeof i.sandbox === 'string' && i.sandbox !== '' ? { ...i, mac } : i));
}

async function mainRoutes(ip: NetnsIp, ifname: string): Promise<Record<Family, ObservedRoute[]>> {
  const [v4, v6] = await Promise.all([
    ip.json<ObservedRoute[]>(['-4', 'route', 'show', 'table', 'main', 'dev', ifname]),
    ip.json<ObservedRoute[]>(['-6', 'route', 'show', 'table', 'main', 'dev', ifname]),
  ]);
  return { 4: v4, 6: v6 };
}

function namespacesOf(env: CniEnvironment): Namespaces {
  return { pod: new NetnsIp(env.netns), node: NetnsIp.node() };
}

/** The pod tables that get the veth's routes: main, and the NIC's own table when it has one. */
const podTablesOf = (table: number | undefined) => ['main', ...(table === undefined ? [] : [String(table)])];

/** CHECK with the settled configuration: the NIC's `from` rules, and in underlay mode the veth. */
async function checkWith(env: CniEnvironment, api: ApiReads, prev: CniResult): Promise<void> {
  const config = api.config;
  if (config.mode === 'disable') return;
  const namespaces = namespacesOf(env);
  const { addresses } = nicAddresses(prev, env.ifname);
  const wrongMac = config.probes.macPrefix === undefined ? undefined : await macProblem(namespaces.pod, env.ifname, config.probes.macPrefix, addresses);
  if (wrongMac !== undefined) throw new CniError(CniCode.checkMismatch, `underpin-coordinator: ${wrongMac}`);
  let table: number | undefined;
  if (config.tunePodRoutes) {
    const place = await placeOf(env, config, api.pod());
    table = tableFor(place.position, place.nicCount, place.defaultNic === env.ifname);
  }
  if (table !== undefined) {
    for (const family of [4, 6] as const) {
      if (addresses[family].length === 0) continue;
      const rules = await namespaces.pod.json<ObservedRule[]>([`-${family}`, 'rule', 'show']);
      for (const address of addresses[family]) {
        const found = rules.some((r) => r.src === address && r.table === String(table) && r.priority === FROM_RULE_PREF);
        if (!found) {
          throw new CniError(CniCode.checkMismatch, `underpin-coordinator: rule "from ${address} lookup ${table}" for ${env.ifname} is missing in ${env.netns}`);
        }
      }
    }
  }
  if (wantsVeth(config, env.ifname)) {
    const node = await observeNode(namespaces.node, config, addresses);
    const problems = await checkVeth(namespaces, underlayFacts(env, config, addresses, node.nodeAddresses, podTablesOf(table)));
    if (problems.length > 0) {
      throw new CniError(CniCode.checkMismatch, `underpin-coordinator: the veth of ${env.ifname} to the node is not as ADD left it: ${problems.join('; ')}`);
    }
  }
}

export const coordinatorHandlers: PluginHandlers = {
  async add(env: CniEnvironment, raw: RawNetworkConfig) {
    const own = readCoordinatorConfig(raw.json);
    let log = logFor(own, env);
    const prev = readPrevResult(raw.json, 'underpin-coordinator');
    if (!prev) {
      throw new CniError(CniCode.invalidNetworkConfig, 'underpin-coordinator is a chained plugin: put it after the main plugin (macvlan, ipvlan, sriov …) in a conflist, so that it gets prevResult');
    }
    const output = { ...(raw.json.prevResult as Record<string, unknown>) };
    delete output.cniVersion;
    // Disabled by the network itself: not even the cluster's defaults are read.
    if (raw.json.mode === 'disable') return output;
    const started = Date.now();
    const api = await readApi(env, raw.json, own, { pod: true });
    const config = api.config;
    log = logFor(config, env);
    if (config.mode === 'disable') {
      api.close();
      log.write('info', 'ADD: mode disable', defaultsLog(api.applied));
      return output;
    }
    let prepared: Prepared | undefined;
    try {
      const namespaces = namespacesOf(env);
      const ip = namespaces.pod;
      const addresses = nicAddresses(prev, env.ifname);
      // Conflict and gateway checks and the MAC prefix come first: a failure there
      // has changed nothing else.
      prepared = await prepareNic(ip, { netns: env.netns, ifname: env.ifname, ...addresses }, config.probes);
      if (prepared.mac !== undefined) withMac(output, env.ifname, prepared.mac);
      // The node is read while the pod is: they do not depend on each other.
      const nodeRead: Promise<NodeObservation> | undefined = wantsVeth(config, env.ifname) ? observeNode(namespaces.node, config, addresses.addresses) : undefined;
      nodeRead?.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
      if (config.podRPFilter !== undefined && config.podRPFilter >= 0) {
        await ip.sysctl({ 'net.ipv4.conf.all.rp_filter': String(config.podRPFilter), [`net.ipv4.conf.${env.ifname}.rp_filter`]: String(config.podRPFilter) });
      }
      const phases: Phase[] = [];
      let table: number | undefined;
      let keepsDefault = true;
      if (config.tunePodRoutes) {
        const place = await placeOf(env, config, api.pod());
        keepsDefault = place.defaultNic === env.ifname;
        table = tableFor(place.position, place.nicCount, keepsDefault);
        const facts: NicRoutingFacts = { ifname: env.ifname, ...addresses, table, keepsDefault };
        const plan = planNicRouting(facts, await mainRoutes(ip, env.ifname));
        for (const family of [4, 6] as const) phases.push({ where: 'pod', family, purpose: `setting up policy routing for ${env.ifname}`, steps: plan[family] });
      }
      let skipped: string[] = [];
      if (nodeRead) {
        const node = await nodeRead;
        const underlay = planUnderlay(underlayFacts(env, config, addresses.addresses, node.nodeAddresses, podTablesOf(table)), node.hostTable);
        phases.push(...underlay.phases);
        skipped = underlay.skipped;
      }
      await runPhases(namespaces, phases);
      log.write('info', 'ADD', {
        ...(prepared.mac === undefined ? {} : { mac: prepared.mac }),
        ...(Object.keys(prepared.ms).length > 0 ? { probeMs: prepared.ms } : {}),
        mode: config.mode,
        table,
        keepsDefault,
        steps: phases.flatMap((p) => p.steps.map((s) => `${p.where}: ${s.run}`)),
        ...(skipped.length > 0 ? { notRouted: skipped } : {}),
        ...defaultsLog(api.applied),
        ms: Date.now() - started,
      });
      return output;
    } catch (error) {
      await prepared?.undo();
      log.write('error', 'ADD failed', { error: (error as Error).message });
      throw error;
    } finally {
      api.close();
    }
  },

  async check(env: CniEnvironment, raw: RawNetworkConfig) {
    const own = readCoordinatorConfig(raw.json);
    const prev = readPrevResult(raw.json, 'underpin-coordinator CHECK');
    if (!prev) throw new CniError(CniCode.invalidNetworkConfig, 'CHECK needs prevResult in the network configuration (the result of ADD)');
    if (raw.json.mode === 'disable') return;
    const api = await readApi(env, raw.json, own, { pod: true });
    try {
      await checkWith(env, api, prev);
    } finally {
      api.close();
    }
  },

  async del(env: CniEnvironment, raw: RawNetworkConfig | undefined) {
    // Never fails: a namespace that is gone took the tables and rules with it.
    let config: CoordinatorNetworkConfig | undefined;
    let log = PluginLog.none();
    try {
      if (raw) {
        config = readCoordinatorConfig(raw.json);
        log = logFor(config, env);
      }
    } catch {
      // keep going with no log; without the configuration the mode is unknown, and
      // the node is only touched in underlay mode
    }
    if (raw && config && raw.json.mode !== 'disable') {
      // The mode and the node's table may be SpiderCoordinator default's: read it as ADD did.
      try {
        const api = await readApi(env, raw.json, config, { pod: false });
        api.close();
        config = api.config;
        log = logFor(config, env);
        if (api.applied.note) log.write('info', 'DEL', defaultsLog(api.applied));
      } catch (error) {
        log.write('error', 'DEL: SpiderCoordinator default not read, built-in defaults (ignored)', { error: (error as Error).message });
      }
    }
    if (config && wantsVeth(config, env.ifname) && env.containerID !== '') {
      // Before the pod's namespace is looked at: the node's side needs cleaning even
      // when the namespace is gone (its rules outlive the veth).
      try {
        const { removed } = await removeVeth(NetnsIp.node(), env.containerID, config.hostRuleTable);
        log.write('info', 'DEL veth', { removed });
      } catch (error) {
        log.write('error', 'DEL veth failed (ignored)', { error: (error as Error).message });
      }
    }
    const ip = new NetnsIp(env.netns);
    if (!ip.exists() || env.ifname === '') return;
    try {
      for (const family of [4, 6] as const) {
        const routes = await ip.json<(ObservedRoute & { table?: string; protocol?: string })[]>([`-${family}`, 'route', 'show', 'table', 'all', 'dev', env.ifname]).catch(() => []);
        const tables = new Set(routes.filter((r) => r.protocol === UNDERPIN_PROTO && r.table !== undefined && r.table !== 'main').map((r) => r.table!));
        if (tables.size === 0) continue;
        const rules = await ip.json<ObservedRule[]>([`-${family}`, 'rule', 'show']);
        const commands = [...rulesToDelete(rules, tables), ...[...tables].map((t) => `route flush table ${t} dev ${env.ifname}`)];
        await ip.batchFamily(family, commands, true);
        log.write('info', 'DEL', { family, tables: [...tables] });
      }
    } catch (error) {
      log.write('error', 'DEL failed (ignored)', { error: (error as Error).message });
    }
  },
};
