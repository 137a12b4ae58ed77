// SpiderMultusConfig (spiderpool.spidernet.io/v2beta1, namespaced, short name smc):
// a network described by its fields, from which the reconciler renders the
// NetworkAttachmentDefinition. The schema follows upstream's CRD
// (charts/spiderpool/crds/spiderpool.spidernet.io_spidermultusconfigs.yaml): every
// object is loose, so fields Underpin does not use (and newer upstream fields) pass
// through untouched; shapes are checked here, meanings in multus-config-review.ts.
import { z } from 'zod';
import { ObjectMeta } from '../object-meta.js';

/** The NetworkAttachmentDefinition's name, when it is not the SpiderMultusConfig's. */
export const CR_NAME_ANNOTATION = 'multus.spidernet.io/cr-name';
/** The cniVersion of the rendered configuration. */
export const CNI_VERSION_ANNOTATION = 'multus.spidernet.io/cni-version';
/** Upstream's default (cmd.CniVersion031). */
export const DEFAULT_CNI_VERSION = '0.3.1';
/**
 * Upstream allows 0.3.0 too; Underpin's plugins speak 0.3.1, 0.4.0 and 1.0.0
 * (cni/skel/cni-versions.ts), so 0.3.0 is refused rather than rendered into a
 * configuration whose IPAM would fail every ADD.
 */
export const CNI_VERSIONS = ['0.3.1', '0.4.0', '1.0.0'] as const;

/**
 * Upstream's enum plus `vlan` (an Underpin addition: the reference `vlan` plugin, the
 * pod's NIC a VLAN sub-interface of the master). Upstream's CRD defaults it to custom.
 */
export const CNI_TYPES = ['macvlan', 'ipvlan', 'vlan', 'sriov', 'ovs', 'ib-sriov', 'ipoib', 'custom'] as const;
export type CniType = (typeof CNI_TYPES)[number];

/** The spec field holding each type's block (upstream spells ib-sriov's `ibsriov`). */
export const BLOCK_OF: Record<Exclude<CniType, 'custom'>, BlockField> = {
  macvlan: 'macvlan',
  ipvlan: 'ipvlan',
  vlan: 'vlan',
  sriov: 'sriov',
  ovs: 'ovs',
  'ib-sriov': 'ibsriov',
  ipoib: 'ipoib',
};
export const BLOCK_FIELDS = ['macvlan', 'ipvlan', 'vlan', 'sriov', 'ovs', 'ibsriov', 'ipoib'] as const;
export type BlockField = (typeof BLOCK_FIELDS)[number];

const Int = z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' });
const Bool = z.boolean({ error: 'must be true or false' });
const Text = z.string({ error: 'must be a string' });
const TextList = z.array(Text, { error: 'must be a list of strings' });

/** Default pools of the rendered IPAM (default_ipv4_ippool, default_ipv6_ippool). */
export const SpiderpoolPools = z.looseObject({ ipv4: TextList.nullish(), ipv6: TextList.nullish() });
export type SpiderpoolPools = z.infer<typeof SpiderpoolPools>;

export const BondConfig = z.looseObject({ name: Text.nullish(), mode: Int.nullish(), options: Text.nullish() });
export type BondConfig = z.infer<typeof BondConfig>;

/** macvlan, ipvlan and (Underpin's) vlan: NICs hanging off a node interface. */
export const MasterCniConfig = z.looseObject({
  master: TextList.nullish(),
  vlanID: Int.nullish(),
  mtu: Int.nullish(),
  bond: BondConfig.nullish(),
  ippools: SpiderpoolPools.nullish(),
  enableRdma: Bool.nullish(),
  rdmaResourceName: Text.nullish(),
});
export type MasterCniConfig = z.infer<typeof MasterCniConfig>;

export const SriovCniConfig = z.looseObject({
  resourceName: Text.nullish(),
  vlanID: Int.nullish(),
  minTxRateMbps: Int.nullish(),
  maxTxRateMbps: Int.nullish(),
  mtu: Int.nullish(),
  enableRdma: Bool.nullish(),
  rdmaIsolation: Bool.nullish(),
  ippools: SpiderpoolPools.nullish(),
});
export type SriovCniConfig = z.infer<typeof SriovCniConfig>;

const Trunk = z.looseObject({ id: Int.nullish(), minID: Int.nullish(), maxID: Int.nullish() });
export const OvsCniConfig = z.looseObject({
  bridge: Text.nullish(),
  vlan: Int.nullish(),
  trunk: z.array(Trunk, { error: 'must be a list of {id} or {minID, maxID}' }).nullish(),
  deviceID: Text.nullish(),
  ippools: SpiderpoolPools.nullish(),
});
export type OvsCniConfig = z.infer<typeof OvsCniConfig>;

export const LINK_STATES = ['auto', 'enable', 'disable'] as const;
export const IBSriovCniConfig = z.looseObject({
  resourceName: Text.nullish(),
  pkey: Text.nullish(),
  linkState: z.enum(LINK_STATES, { error: 'must be "auto", "enable" or "disable"' }).nullish(),
  rdmaIsolation: Bool.nullish(),
  /** Current upstream name. */
  enableIbKubernetes: Bool.nullish(),
  /** Earlier upstream name of enableIbKubernetes. */
  ibKubernetesEnabled: Bool.nullish(),
  ippools: SpiderpoolPools.nullish(),
});
export type IBSriovCniConfig = z.infer<typeof IBSriovCniConfig>;

export const IPoIBCniConfig = z.looseObject({ master: Text.nullish(), ippools: SpiderpoolPools.nullish() });
export type IPoIBCniConfig = z.infer<typeof IPoIBCniConfig>;

export const COORDINATOR_MODES = ['auto', 'underlay', 'overlay', 'disabled'] as const;
export const POD_CIDR_TYPES = ['auto', 'cluster', 'calico', 'cilium', 'none'] as const;

/** Upstream's CoordinatorSpec as an smc carries it: every field optional (the SpiderCoordinator gives the rest). */
export const MultusCoordinatorSpec = z.looseObject({
  mode: z.enum(COORDINATOR_MODES, { error: 'must be "auto", "underlay", "overlay" or "disabled"' }).nullish(),
  podCIDRType: z.enum(POD_CIDR_TYPES, { error: 'must be "auto", "cluster", "calico", "cilium" or "none"' }).nullish(),
  hijackCIDR: TextList.nullish(),
  podMACPrefix: Text.nullish(),
  podDefaultRouteNIC: Text.nullish(),
  tunePodRoutes: Bool.nullish(),
  hostRuleTable: Int.nullish(),
  podRPFilter: Int.nullish(),
  hostRPFilter: Int.nullish(),
  txQueueLen: Int.nullish(),
  vethLinkAddress: Text.nullish(),
  detectGateway: Bool.nullish(),
  detectIPConflict: Bool.nullish(),
});
export type MultusCoordinatorSpec = z.infer<typeof MultusCoordinatorSpec>;

export const MultusConfigSpec = z.looseObject({
  cniType: z.enum(CNI_TYPES, { error: `must be one of ${CNI_TYPES.join(', ')}` }).nullish(),
  macvlan: MasterCniConfig.nullish(),
  ipvlan: MasterCniConfig.nullish(),
  vlan: MasterCniConfig.nullish(),
  sriov: SriovCniConfig.nullish(),
  ovs: OvsCniConfig.nullish(),
  ibsriov: IBSriovCniConfig.nullish(),
  ipoib: IPoIBCniConfig.nullish(),
  enableCoordinator: Bool.nullish(),
  coordinator: MultusCoordinatorSpec.nullish(),
  disableIPAM: Bool.nullish(),
  chainCNIJsonData: TextList.nullish(),
  customCNI: Text.nullish(),
});
export type MultusConfigSpec = z.infer<typeof MultusConfigSpec>;

export const SpiderMultusConfig = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('SpiderMultusConfig'),
  metadata: ObjectMeta,
  // Upstream's CRD does not require a spec; an empty one is an empty custom network.
  spec: MultusConfigSpec.nullish().transform((spec) => spec ?? {}),
});
export type SpiderMultusConfig = z.infer<typeof SpiderMultusConfig>;

/** The NetworkAttachmentDefinition's name: the cr-name annotation, else the object's own. */
export function networkNameOf(smc: { metadata: { name?: string; annotations?: Record<string, string> | null } }): string {
  return smc.metadata.annotations?.[CR_NAME_ANNOTATION] ?? smc.metadata.name ?? '';
}

/** The cniType, with the CRD's default (custom) where a client skipped defaulting. */
export function cniTypeOf(spec: MultusConfigSpec): CniType {
  return spec.cniType ?? 'custom';
}
