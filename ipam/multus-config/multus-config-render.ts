// SpiderMultusConfig → NetworkAttachmentDefinition, as upstream's controller renders
// it (pkg/multuscniconfig: generateNetAttachDef): a CNI configuration list of the main
// plugin with Underpin's IPAM (installed as `spiderpool`), then the coordinator
// (installed as `coordinator`), then the chained plugins the user lists. Pure and
// deterministic: objects are built in one fixed key order and the result is one
// JSON string, so "the NAD is equal to the spec" is a string comparison.
import {
  CNI_VERSION_ANNOTATION,
  DEFAULT_CNI_VERSION,
  cniTypeOf,
  networkNameOf,
  type MasterCniConfig,
  type MultusConfigSpec,
  type MultusCoordinatorSpec,
  type SpiderMultusConfig,
  type SpiderpoolPools,
} from './spider-multus-config.js';

/** Multus reads the device-plugin resource a NIC needs from this annotation (SR-IOV, OVS with a VF). */
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';
/** kubectl's copy of what was applied to the smc: about the smc, not the NAD. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface RenderedNetwork {
  name: string;
  namespace: string;
  /** The smc's annotations (kubectl's last-applied copy left out) and the resource name Multus reads. */
  annotations: Record<string, string>;
  /** spec.config; undefined for a custom type with no configuration (the NAD names a file on the node, as upstream). */
  config: string | undefined;
}

type Plugin = Record<string, unknown>;

function ipam(spec: MultusConfigSpec, pools: SpiderpoolPools | null | undefined): Plugin | undefined {
  if (spec.disableIPAM) return undefined;
  const section: Plugin = { type: 'spiderpool' };
  if (pools?.ipv4?.length) section.default_ipv4_ippool = [...pools.ipv4];
  if (pools?.ipv6?.length) section.default_ipv6_ippool = [...pools.ipv6];
  return section;
}

/** The interface the NICs hang off: the one master, or the bond; `.vlanID` when tagged (ifacer makes it). */
export function masterInterface(block: MasterCniConfig, withVlan: boolean): string {
  const masters = block.master ?? [];
  const base = masters.length === 1 ? masters[0]! : (block.bond?.name ?? '');
  return withVlan && block.vlanID ? `${base}.${block.vlanID}` : base;
}

/** Upstream's ifacer, first in the chain, makes the bond and the VLAN sub-interface on the node. */
export function needsIfacer(block: MasterCniConfig, vlanOnNode: boolean): boolean {
  return (block.master?.length ?? 0) >= 2 || (vlanOnNode && Boolean(block.vlanID));
}

function ifacer(block: MasterCniConfig, vlanOnNode: boolean): Plugin {
  const plugin: Plugin = { type: 'ifacer', interfaces: [...(block.master ?? [])] };
  if (vlanOnNode && block.vlanID) plugin.vlanID = block.vlanID;
  if (block.bond) {
    const bond: Plugin = { name: block.bond.name ?? '', mode: block.bond.mode ?? 0 };
    if (block.bond.options) bond.options = block.bond.options;
    plugin.bond = bond;
  }
  return plugin;
}

function withIpam(plugin: Plugin, section: Plugin | undefined): Plugin {
  return section ? { ...plugin, ipam: section } : plugin;
}

function mainPlugins(spec: MultusConfigSpec): Plugin[] {
  const cniType = cniTypeOf(spec);
  switch (cniType) {
    case 'macvlan':
    case 'ipvlan': {
      const block = spec[cniType] ?? {};
      const main: Plugin = { type: cniType, master: masterInterface(block, true) };
      if (cniType === 'macvlan') main.mode = 'bridge';
      if (block.mtu) main.mtu = block.mtu;
      return [...(needsIfacer(block, true) ? [ifacer(block, true)] : []), withIpam(main, ipam(spec, block.ippools))];
    }
    case 'vlan': {
      // The reference vlan plugin tags the pod's NIC itself: no sub-interface on the node.
      const block = spec.vlan ?? {};
      const main: Plugin = { type: 'vlan', master: masterInterface(block, false), vlanId: block.vlanID ?? 0 };
      if (block.mtu) main.mtu = block.mtu;
      return [...(needsIfacer(block, false) ? [ifacer(block, false)] : []), withIpam(main, ipam(spec, block.ippools))];
    }
    case 'sriov': {
      const block = spec.sriov ?? {};
      const main: Plugin = { type: 'sriov', vlan: block.vlanID ?? 0 };
      if (block.minTxRateMbps != null) main.minTxRate = block.minTxRateMbps;
      if (block.maxTxRateMbps != null) main.maxTxRate = block.maxTxRateMbps;
      const plugins = [withIpam(main, ipam(spec, block.ippools))];
      if (block.enableRdma || block.rdmaIsolation) plugins.push({ type: 'rdma' });
      // sriov-cni has no MTU of its own: upstream sets it with the tuning plugin.
      if (block.mtu) plugins.push({ type: 'tuning', mtu: block.mtu });
      return plugins;
    }
    case 'ovs': {
      const block = spec.ovs ?? {};
      const main: Plugin = { type: 'ovs', bridge: block.bridge ?? '', vlan: block.vlan ?? 0 };
      if (block.trunk?.length) main.trunk = block.trunk.map((t) => ({ ...(t.id != null ? { id: t.id } : {}), ...(t.minID != null ? { minID: t.minID } : {}), ...(t.maxID != null ? { maxID: t.maxID } : {}) }));
      if (block.deviceID) main.deviceID = block.deviceID;
      return [withIpam(main, ipam(spec, block.ippools))];
    }
    case 'ib-sriov': {
      const block = spec.ibsriov ?? {};
      const main: Plugin = { type: 'ib-sriov' };
      if (block.pkey) main.pkey = block.pkey;
      main.link_state = block.linkState ?? 'enable';
      main.rdmaIsolation = block.rdmaIsolation ?? true;
      main.ibKubernetesEnabled = block.enableIbKubernetes ?? block.ibKubernetesEnabled ?? false;
      return [withIpam(main, ipam(spec, block.ippools))];
    }
    case 'ipoib': {
      const block = spec.ipoib ?? {};
      return [withIpam({ type: 'ipoib', master: block.master ?? '' }, ipam(spec, block.ippools))];
    }
    case 'custom':
      return [];
  }
}

/**
 * The coordinator's entry: the smc's own settings only, in the names the plugin reads;
 * what it leaves unset the plugin takes from the SpiderCoordinator.
 */
export function coordinatorPlugin(spec: MultusCoordinatorSpec | null | undefined): Plugin {
  const plugin: Plugin = { type: 'coordinator' };
  if (!spec) return plugin;
  // Upstream's CRD says "disabled"; the plugin (as upstream's cmd/coordinator) reads "disable".
  if (spec.mode) plugin.mode = spec.mode === 'disabled' ? 'disable' : spec.mode;
  if (spec.podCIDRType) plugin.podCIDRType = spec.podCIDRType;
  if (spec.tunePodRoutes != null) plugin.tunePodRoutes = spec.tunePodRoutes;
  if (spec.podDefaultRouteNIC) plugin.podDefaultRouteNic = spec.podDefaultRouteNIC;
  if (spec.hijackCIDR?.length) plugin.hijackCIDR = [...spec.hijackCIDR];
  if (spec.hostRuleTable != null) plugin.hostRuleTable = spec.hostRuleTable;
  // Upstream: any negative number leaves rp_filter as it is; the plugin spells that -1.
  if (spec.podRPFilter != null) plugin.podRPFilter = spec.podRPFilter < 0 ? -1 : spec.podRPFilter;
  if (spec.hostRPFilter != null) plugin.hostRPFilter = spec.hostRPFilter < 0 ? -1 : spec.hostRPFilter;
  if (spec.txQueueLen) plugin.txQueueLen = spec.txQueueLen;
  if (spec.vethLinkAddress) plugin.vethLinkAddress = spec.vethLinkAddress;
  if (spec.podMACPrefix) plugin.podMACPrefix = spec.podMACPrefix;
  if (spec.detectIPConflict != null) plugin.detectIPConflict = spec.detectIPConflict;
  if (spec.detectGateway != null) plugin.detectGateway = spec.detectGateway;
  return plugin;
}

/** A chained plugin as the user wrote it (validated to be a JSON object with a type), re-encoded compactly. */
function chained(text: string): Plugin {
  return JSON.parse(text) as Plugin;
}

function annotationsOf(smc: SpiderMultusConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const source = smc.metadata.annotations ?? {};
  for (const key of Object.keys(source).sort()) if (key !== LAST_APPLIED) out[key] = source[key]!;
  const spec = smc.spec;
  const cniType = cniTypeOf(spec);
  if (cniType === 'sriov' && spec.sriov?.resourceName) out[RESOURCE_NAME_ANNOTATION] = spec.sriov.resourceName;
  if (cniType === 'ib-sriov' && spec.ibsriov?.resourceName) out[RESOURCE_NAME_ANNOTATION] = spec.ibsriov.resourceName;
  // OVS over a VF: the ovs-cni device plugin's resource for the bridge, as upstream names it.
  if (cniType === 'ovs' && spec.ovs?.deviceID) out[RESOURCE_NAME_ANNOTATION] = `ovs-cni.network.kubevirt.io/${spec.ovs.bridge ?? ''}`;
  return out;
}

/** The NAD a valid (admitted) smc stands for. */
export function renderNetwork(smc: SpiderMultusConfig): RenderedNetwork {
  const name = networkNameOf(smc);
  const namespace = smc.metadata.namespace ?? '';
  const annotations = annotationsOf(smc);
  const spec = smc.spec;
  if (cniTypeOf(spec) === 'custom') {
    const text = spec.customCNI?.trim();
    return { name, namespace, annotations, config: text ? text : undefined };
  }
  const plugins = mainPlugins(spec);
  if (spec.enableCoordinator ?? true) plugins.push(coordinatorPlugin(spec.coordinator));
  for (const text of spec.chainCNIJsonData ?? []) plugins.push(chained(text));
  const cniVersion = smc.metadata.annotations?.[CNI_VERSION_ANNOTATION] ?? DEFAULT_CNI_VERSION;
  return { name, namespace, annotations, config: JSON.stringify({ cniVersion, name, plugins }) };
}
