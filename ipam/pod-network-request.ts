// Which NICs of a pod get addresses from Underpin, and from which pools — before
// looking at any pool. Sources, first that names pools wins (API.md): the pod's
// `ippools`, its `ippool`, the namespace's defaults, the NetworkAttachmentDefinition's
// IPAM config, the cluster's default pools.
import type { IPPoolAnnotation } from './pod-annotations.js';
import { ANNOTATION, IPPoolAnnotation as IPPoolSchema, IPPoolsAnnotation, NamespaceDefaultPools, readJsonAnnotation } from './pod-annotations.js';
import { err, ok, type Result } from './result.js';

export type PoolSource = 'subnet' | 'ippools' | 'ippool' | 'namespace' | 'network' | 'cluster-default';

export interface InterfaceRequest {
  interface: string;
  /** Pool names or globs, in the order to try them. */
  ipv4: string[];
  ipv6: string[];
  source: PoolSource;
  cleanGateway?: boolean;
  /** `namespace/name` of the NetworkAttachmentDefinition, for Multus NICs. */
  network?: string;
}

/** A NIC the pod has, with the IPAM config of its network when Multus attaches it. */
export interface PodNic {
  interface: string;
  network?: string;
  /** The network's IPAM section, when it names Underpin (types `underpin` or `spiderpool`). */
  underpinIPAM?: { ipv4: string[]; ipv6: string[] };
}

export interface RequestInputs {
  podAnnotations: Readonly<Record<string, string>>;
  namespaceAnnotations: Readonly<Record<string, string>>;
  /** eth0 first, then the Multus attachments in order. */
  nics: readonly PodNic[];
  /** Names of pools with `spec.default: true`, per family. */
  clusterDefaults: { ipv4: string[]; ipv6: string[] };
  /** NICs whose pools are decided elsewhere (the application's auto pools). */
  decidedElsewhere?: ReadonlySet<string>;
  /**
   * Whether the cluster's default network (eth0 of a pod with no
   * `v1.multus-cni.io/default-network`) takes its addresses from Underpin: true where
   * macvlan/ipvlan with Underpin is the primary CNI, false where eth0 is an overlay
   * (Calico, Cilium…) and Underpin serves only the Multus NICs. Default true.
   */
  clusterNetworkIsUnderpin?: boolean;
}

const nonEmpty = (p: { ipv4?: string[] | undefined; ipv6?: string[] | undefined }) => (p.ipv4?.length ?? 0) + (p.ipv6?.length ?? 0) > 0;

/** The `ippools`/`ippool` annotations as a map interface → pools. */
function annotatedPools(inputs: RequestInputs): Result<Map<string, { pools: IPPoolAnnotation; source: PoolSource }>, string> {
  const byInterface = new Map<string, { pools: IPPoolAnnotation; source: PoolSource }>();
  const nicNames = inputs.nics.map((n) => n.interface);
  const ippools = inputs.podAnnotations[ANNOTATION.ippools];
  if (ippools !== undefined) {
    const parsed = readJsonAnnotation(ANNOTATION.ippools, ippools, IPPoolsAnnotation);
    if (!parsed.ok) return parsed;
    const named = parsed.value.filter((e) => e.interface !== undefined).length;
    if (named !== 0 && named !== parsed.value.length) {
      return err(`annotation ${ANNOTATION.ippools}: set "interface" on every entry or on none (then entries follow the NIC order ${nicNames.join(', ')})`);
    }
    for (const [index, entry] of parsed.value.entries()) {
      const nic = entry.interface ?? nicNames[index];
      if (!nic) return err(`annotation ${ANNOTATION.ippools}: entry [${index}] has no NIC; the pod has ${nicNames.length} (${nicNames.join(', ')})`);
      if (!nicNames.includes(nic)) return err(`annotation ${ANNOTATION.ippools}: interface "${nic}" is not a NIC of this pod (it has ${nicNames.join(', ')}); attach it with ${ANNOTATION.multusNetworks} or fix the name`);
      if (byInterface.has(nic)) return err(`annotation ${ANNOTATION.ippools}: interface "${nic}" is listed twice; one entry per NIC`);
      if (!nonEmpty(entry)) return err(`annotation ${ANNOTATION.ippools}: entry for "${nic}" names no ipv4 or ipv6 pool`);
      byInterface.set(nic, { pools: entry, source: 'ippools' });
    }
    return ok(byInterface);
  }
  const ippool = inputs.podAnnotations[ANNOTATION.ippool];
  if (ippool !== undefined) {
    const parsed = readJsonAnnotation(ANNOTATION.ippool, ippool, IPPoolSchema);
    if (!parsed.ok) return parsed;
    const nic = parsed.value.interface ?? 'eth0';
    if (!nicNames.includes(nic)) return err(`annotation ${ANNOTATION.ippool}: interface "${nic}" is not a NIC of this pod (it has ${nicNames.join(', ')})`);
    if (!nonEmpty(parsed.value)) return err(`annotation ${ANNOTATION.ippool}: names no ipv4 or ipv6 pool; e.g. {"ipv4":["pool-a"]}`);
    byInterface.set(nic, { pools: parsed.value, source: 'ippool' });
  }
  return ok(byInterface);
}

function namespaceDefaults(annotations: Readonly<Record<string, string>>): Result<{ ipv4: string[]; ipv6: string[] }, string> {
  const out = { ipv4: [] as string[], ipv6: [] as string[] };
  for (const [family, key] of [
    ['ipv4', ANNOTATION.namespaceDefaultIPv4],
    ['ipv6', ANNOTATION.namespaceDefaultIPv6],
  ] as const) {
    const value = annotations[key];
    if (value === undefined) continue;
    const parsed = readJsonAnnotation(key, value, NamespaceDefaultPools);
    if (!parsed.ok) return err(`namespace ${parsed.error}`);
    out[family] = parsed.value;
  }
  return ok(out);
}

/**
 * The NICs Underpin addresses and the pools to try for each. A NIC is Underpin's
 * when its network's IPAM is Underpin, or when an annotation names pools for it;
 * eth0 of the cluster's default network also when namespace or cluster defaults exist,
 * unless the cluster network is another CNI's (`clusterNetworkIsUnderpin: false`).
 */
export function resolveInterfaceRequests(inputs: RequestInputs): Result<InterfaceRequest[], string> {
  const annotated = annotatedPools(inputs);
  if (!annotated.ok) return annotated;
  const nsDefaults = namespaceDefaults(inputs.namespaceAnnotations);
  if (!nsDefaults.ok) return nsDefaults;

  const requests: InterfaceRequest[] = [];
  for (const nic of inputs.nics) {
    if (inputs.decidedElsewhere?.has(nic.interface)) continue;
    const base = { interface: nic.interface, ...(nic.network ? { network: nic.network } : {}) };
    const fromAnnotation = annotated.value.get(nic.interface);
    if (fromAnnotation) {
      const { pools, source } = fromAnnotation;
      requests.push({ ...base, ipv4: pools.ipv4 ?? [], ipv6: pools.ipv6 ?? [], source, ...(pools.cleangateway !== undefined ? { cleanGateway: pools.cleangateway } : {}) });
      continue;
    }
    // A Multus NIC of another IPAM is not ours; neither is an unannotated eth0 of a
    // default network that is a NetworkAttachmentDefinition with another IPAM, nor
    // eth0 of the cluster network when that is another CNI's.
    const clusterEth0 = nic.network === undefined && nic.interface === 'eth0' && inputs.clusterNetworkIsUnderpin !== false;
    const ours = nic.underpinIPAM !== undefined || clusterEth0;
    if (!ours) continue;
    if (nonEmpty(nsDefaults.value)) requests.push({ ...base, ...nsDefaults.value, source: 'namespace' });
    else if (nic.underpinIPAM && nonEmpty(nic.underpinIPAM)) requests.push({ ...base, ...nic.underpinIPAM, source: 'network' });
    else if (nonEmpty(inputs.clusterDefaults)) requests.push({ ...base, ...inputs.clusterDefaults, source: 'cluster-default' });
    else if (nic.underpinIPAM) {
      return err(`interface ${nic.interface} uses network ${nic.network} with Underpin IPAM, but no pool is named for it: set ${ANNOTATION.ippools}, a namespace default (${ANNOTATION.namespaceDefaultIPv4}), default_ipv4_ippool in the network's IPAM config, or a pool with spec.default: true`);
    }
  }
  return ok(requests);
}

/** Where a NIC's pool names come from, as a denial tells the user what to fix. */
export function poolSourceName(nic: InterfaceRequest): string {
  switch (nic.source) {
    case 'subnet':
      return `the application's auto pool (annotation ${ANNOTATION.subnets})`;
    case 'ippools':
      return `annotation ${ANNOTATION.ippools}`;
    case 'ippool':
      return `annotation ${ANNOTATION.ippool}`;
    case 'namespace':
      return `the namespace's ${ANNOTATION.namespaceDefaultIPv4}/${ANNOTATION.namespaceDefaultIPv6}`;
    case 'network':
      return `the IPAM config of network ${nic.network}`;
    case 'cluster-default':
      return 'the cluster default pools (settings clusterDefaultIPv4IPPool/clusterDefaultIPv6IPPool, then pools with spec.default: true)';
  }
}
