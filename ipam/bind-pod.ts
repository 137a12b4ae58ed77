// Binding a pod at admission: which NICs get addresses from which pools (auto pools
// first, then the written sources), the addresses themselves (the allocator), where
// the pod may then run, and the binding. Reads go through a PodBindingSource and
// locks through a ClaimStore, so one decision serves admission (IPClaims in the API),
// dry run (claims recorded, none written) and unit tests alike.
import { familyName } from './address.js';
import { allocatePod, FAMILIES, releaseAllocations, type Allocation, type AllocationDenial, type AllocatorView } from './allocator.js';
import { assembleBinding } from './assemble-binding.js';
import { findAutoPool } from './auto-pool.js';
import { IGNORE_LABEL, type Binding } from './binding.js';
import type { ClaimStore } from './claim-store.js';
import { clusterDefaultPools, type ConfiguredDefaultPools } from './cluster-default-pools.js';
import { readMultusNetworks } from './multus-networks.js';
import { constrainPod, nodeNameAllowed, PodPlacementSpec, poolNodeRequirements, type JsonPatchAdd } from './node-placement.js';
import { ANNOTATION } from './pod-annotations.js';
import { resolveInterfaceRequests, type InterfaceRequest, type PodNic } from './pod-network-request.js';
import { podApplications, podController, spiderpoolApplicationLabels, statefulSetOrdinal, type Pod } from './pod.js';
import type { CandidateContext, PoolView } from './pool-candidates.js';
import { err, ok, type Result } from './result.js';
import { podBindingID, type OrdinalClaim } from './statefulset-retention.js';
import { readAutoPoolRequest } from './workload.js';

/** What binding a pod reads of the cluster, besides what the allocator reads. */
export interface PodBindingSource extends AllocatorView {
  poolViews(): ReadonlyMap<string, PoolView>;
  namespace(name: string): Promise<{ labels: Record<string, string>; annotations: Record<string, string> } | undefined>;
  network(key: string): Promise<{ underpinIPAM?: { ipv4: string[]; ipv6: string[] } } | undefined>;
  /** Auto pools of a namespace's applications, read from the API (the cache may lag a pool created a moment ago). */
  autoPoolsFromAPI(namespace: string): Promise<PoolView[]>;
  claimsOfOrdinal(namespace: string, statefulSet: string, ordinal: number): readonly OrdinalClaim[];
  /** A node's labels, or undefined when there is no such node. */
  nodeLabels(name: string): Promise<Record<string, string> | undefined>;
}

export interface PodBindingPolicy {
  /** Pools (globs allowed) for pods that name none, from the settings; tried before pools with spec.default: true. */
  clusterDefaultPools?: ConfiguredDefaultPools;
  /** False when eth0 of the cluster network is another CNI's. Default true. */
  clusterNetworkIsUnderpin?: boolean;
}

export interface PodBindingRequest {
  pod: Pod;
  namespace: string;
  policy: PodBindingPolicy;
}

/**
 * Why a pod cannot be bound, for metrics and for judging a workload's template: what
 * it asks for does not read, names a NIC it lacks or an auto pool not made
 * (`invalid-request`, `no-auto-pool`), names pools that do not exist or cannot serve
 * it, or whose addresses are all taken (the one reason that may pass by itself), or
 * cannot run where its pools' nodes are, or its routes do not fit its addresses.
 */
export type PodDenialReason = 'invalid-request' | 'no-auto-pool' | AllocationDenial['reason'] | 'node-placement' | 'binding';

/** Why a pod cannot be bound: what it asks for does not read (`invalid`), or cannot be given (`forbidden`). */
export interface PodDenial {
  kind: 'invalid' | 'forbidden';
  reason: PodDenialReason;
  message: string;
}

export interface PodBinding {
  binding: Binding;
  /** Node affinity for the pools' nodes, as operations against the pod. */
  placementPatch: JsonPatchAdd[];
}

/** What the pod asks Underpin for, before any pool is looked at: its NICs' pool names, and the auto pools read from the API to find them. */
export interface PodRequests {
  requests: InterfaceRequest[];
  /** Auto pools read from the API a moment ago, which the cache may not have yet. */
  autoPools: PoolView[];
  /** The pod as pool selection sees it (each NIC adds its network). */
  selection: Omit<CandidateContext, 'network'>;
}

const invalid = (message: string, reason: PodDenialReason = 'invalid-request') => err<PodDenial>({ kind: 'invalid', reason, message });
const forbidden = (message: string, reason: PodDenialReason) => err<PodDenial>({ kind: 'forbidden', reason, message });

/** The pod's NICs that Underpin addresses, each with the pools to try; none when Underpin addresses none. */
export async function podRequests({ pod, namespace, policy }: PodBindingRequest, source: PodBindingSource): Promise<Result<PodRequests, PodDenial>> {
  const annotations = pod.metadata.annotations ?? {};
  const nics = await podNics(annotations, namespace, source);
  if (!nics.ok) return invalid(nics.error);
  const nsView = await source.namespace(namespace);
  // Auto pools (subnet annotations) come first in the selection order and decide
  // their NICs; the other sources apply to the remaining NICs.
  const auto = await autoPoolRequests(pod, namespace, nics.value, source);
  if (!auto.ok) return auto;
  const requests = resolveInterfaceRequests({
    podAnnotations: annotations,
    namespaceAnnotations: nsView?.annotations ?? {},
    nics: nics.value,
    clusterDefaults: clusterDefaultPools(policy.clusterDefaultPools, source.poolViews().values()),
    decidedElsewhere: new Set(auto.value.requests.map((r) => r.interface)),
    clusterNetworkIsUnderpin: policy.clusterNetworkIsUnderpin ?? true,
  });
  if (!requests.ok) return invalid(requests.error);
  return ok({
    requests: [...auto.value.requests, ...requests.value],
    autoPools: auto.value.pools,
    selection: {
      namespace,
      namespaceLabels: nsView?.labels ?? {},
      // The pod's own labels win over the application keys only Spiderpool's auto pools ask for.
      podLabels: { ...spiderpoolApplicationLabels(pod, namespace), ...pod.metadata.labels },
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    },
  });
}

/** The pools a pod's NICs choose from: the cache's, and auto pools read from the API a moment ago that it may not have yet. */
export function requestPools(source: PodBindingSource, asked: PodRequests): ReadonlyMap<string, PoolView> {
  const cached = source.poolViews();
  return asked.autoPools.length === 0 ? cached : new Map([...cached, ...asked.autoPools.map((p) => [p.name, p] as const)]);
}

/** Pods Underpin never addresses: those labelled to be ignored, and those on the node's own network. */
export function takesUnderpinAddresses(pod: Pod): boolean {
  return pod.metadata.labels?.[IGNORE_LABEL] !== 'true' && pod.spec.hostNetwork !== true;
}

/**
 * The pod's binding, with its claims made in `store`; undefined when Underpin
 * addresses none of its NICs. On a denial or a failure no claim is left behind.
 */
export async function bindPod(request: PodBindingRequest, backend: { source: PodBindingSource; store: ClaimStore }): Promise<Result<PodBinding | undefined, PodDenial>> {
  const asked = await podRequests(request, backend.source);
  return asked.ok ? bindRequested(request, asked.value, backend) : asked;
}

/** bindPod's second half, for a caller that has the pod's requests already (podRequests). */
export async function bindRequested(
  { pod, namespace }: PodBindingRequest,
  asked: PodRequests,
  { source, store }: { source: PodBindingSource; store: ClaimStore },
): Promise<Result<PodBinding | undefined, PodDenial>> {
  const { requests, selection } = asked;
  if (requests.length === 0) return ok(undefined);

  const sts = statefulSetOrdinal(pod);
  const owner = podController(pod);
  const bindingID = podBindingID(namespace, sts);
  const allocated = await allocatePod(
    {
      nics: requests,
      pools: requestPools(source, asked),
      selection,
      claim: {
        namespace,
        bindingID,
        ...(pod.metadata.name ? { podName: pod.metadata.name } : {}),
        ...(owner ? { owner: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid } } : {}),
        ...(sts ? { statefulSetOrdinal: sts.ordinal } : {}),
      },
      retained: sts ? source.claimsOfOrdinal(namespace, sts.statefulSet, sts.ordinal) : [],
    },
    { view: source, store },
  );
  if (!allocated.ok) return forbidden(allocated.error.message, allocated.error.reason);
  try {
    const bound = await bindAllocations(pod, bindingID, requests, allocated.value, source);
    if (!bound.ok) await releaseAllocations(allocated.value, store);
    return bound;
  } catch (error) {
    await releaseAllocations(allocated.value, store);
    throw error;
  }
}

/** Where the pod may run with these addresses, and its binding. */
async function bindAllocations(pod: Pod, bindingID: string, requests: InterfaceRequest[], allocations: Allocation[], source: PodBindingSource): Promise<Result<PodBinding, PodDenial>> {
  const placementSpec = PodPlacementSpec.safeParse(pod.spec);
  if (!placementSpec.success) return forbidden(`spec.affinity: ${placementSpec.error.issues[0]?.message ?? 'malformed'}`, 'node-placement');
  const placement = constrainPod(placementSpec.data, allocations.map((a) => ({ pool: a.pool.name, ...poolNodeRequirements(a.pool.spec) })));
  if (!placement.ok) return forbidden(placement.error, 'node-placement');
  const named = await checkNamedNode(placementSpec.data.nodeName ?? undefined, allocations, source);
  if (!named.ok) return forbidden(named.error, 'node-placement');
  const binding = assembleBinding({ id: bindingID, nics: requests, allocations, podAnnotations: pod.metadata.annotations ?? {} });
  if (!binding.ok) return forbidden(binding.error, 'binding');
  return ok({ binding: binding.value, placementPatch: placement.value.patch });
}

/**
 * A pod that sets spec.nodeName skips the scheduler, and the kubelet refuses it when
 * its node affinity does not match the node's labels: tell at admission instead.
 * (Pools' node names are checked with the pod's affinity in constrainPod.)
 */
async function checkNamedNode(nodeName: string | undefined, allocations: Allocation[], source: PodBindingSource): Promise<Result<void, string>> {
  const withAffinity = allocations.filter((a) => a.pool.spec.nodeAffinity);
  if (!nodeName || withAffinity.length === 0) return ok(undefined);
  const labels = await source.nodeLabels(nodeName);
  if (!labels) return ok(undefined); // no such node (yet): the pod waits for it, and its affinity is checked then
  const refused = [...new Set(withAffinity.filter((a) => !nodeNameAllowed(nodeName, a.pool.spec, labels)).map((a) => a.pool.name))];
  if (refused.length === 0) return ok(undefined);
  const one = refused.length === 1;
  return err(
    `pod sets spec.nodeName: ${nodeName}, but ${refused.map((p) => `pool ${p}`).join(', ')} ${one ? 'serves' : 'serve'} only nodes matching ${one ? 'its' : 'their'} spec.nodeAffinity, and node ${nodeName}'s labels do not; remove spec.nodeName or use a pool that serves ${nodeName}`,
  );
}

/** eth0 (unless Multus names it), then the Multus attachments, each with its network's Underpin IPAM config. */
async function podNics(annotations: Record<string, string>, namespace: string, source: PodBindingSource): Promise<Result<PodNic[], string>> {
  const attachments = readMultusNetworks(annotations, namespace);
  if (!attachments.ok) return attachments;
  const nics: PodNic[] = [];
  if (!attachments.value.some((a) => a.interface === 'eth0')) nics.push({ interface: 'eth0' });
  for (const a of attachments.value) {
    const key = `${a.network.namespace}/${a.network.name}`;
    const ipam = (await source.network(key))?.underpinIPAM;
    nics.push({ interface: a.interface, network: key, ...(ipam ? { underpinIPAM: ipam } : {}) });
  }
  return ok(nics);
}

/** The NICs whose addresses come from the application's auto pools, and the pools read from the API to find them. */
async function autoPoolRequests(pod: Pod, namespace: string, nics: PodNic[], source: PodBindingSource): Promise<Result<{ requests: InterfaceRequest[]; pools: PoolView[] }, PodDenial>> {
  const auto = readAutoPoolRequest(pod.metadata.annotations ?? {});
  if (!auto.ok) return invalid(auto.error);
  if (!auto.value) return ok({ requests: [], pools: [] });
  const apps = podApplications(pod, namespace);
  if (apps.length === 0) {
    return invalid(`annotation ${ANNOTATION.subnets}: auto pools belong to applications (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob); a bare pod names its pools with ${ANNOTATION.ippools}`);
  }
  // Every NIC named must be the pod's before any pool is looked for: that is what to fix first.
  const missing = auto.value.nics.find((nic) => !nics.some((n) => n.interface === nic.interface));
  if (missing) {
    return invalid(`annotation ${ANNOTATION.subnets}: interface "${missing.interface}" is not a NIC of this pod (it has ${nics.map((n) => n.interface).join(', ')}); attach it with ${ANNOTATION.multusNetworks} or fix the name`);
  }
  const requests: InterfaceRequest[] = [];
  const fetched: PoolView[] = [];
  for (const nic of auto.value.nics) {
    const podNic = nics.find((n) => n.interface === nic.interface)!;
    const request: InterfaceRequest = { interface: nic.interface, ipv4: [], ipv6: [], source: 'subnet', ...(podNic.network ? { network: podNic.network } : {}) };
    for (const [family, key] of FAMILIES) {
      if (!nic[key]) continue;
      let pool = apps.map((app) => findAutoPool(source.poolViews().values(), app, nic.interface, family)).find(Boolean);
      if (!pool) {
        const live = await source.autoPoolsFromAPI(namespace);
        fetched.push(...live);
        pool = apps.map((app) => findAutoPool(live, app, nic.interface, family)).find(Boolean);
      }
      if (!pool) {
        const app = apps[0]!;
        return invalid(
          `no ${familyName(family)} auto pool for ${app.kind} ${namespace}/${app.name} interface ${nic.interface} (subnet ${nic[key]}): Underpin creates it when the application is applied — re-apply the ${app.kind} (it may predate Underpin)`,
          'no-auto-pool',
        );
      }
      request[key] = [pool.name];
    }
    requests.push(request);
  }
  return ok({ requests, pools: fetched });
}
