// The production UnderlayAdmissionState: informer caches for what exists, the
// admission ledger for what other replicas are admitting right now.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import type { RangeSet } from '../ipam/range-set.js';
import type { PodContextCache } from '../kube/pod-context-cache.js';
import type { ReadWorkload } from './workloads.js';
import type { AddressInUse } from '../ipam/address-conflicts.js';
import { claimInUse } from '../ipam/ip-claim.js';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import { canonicalCidr } from '../ipam/cidr.js';
import type { Verdict } from '../ipam/underlay-admission.js';
import type { AdmissionLedger } from './admission-ledger.js';
import type { APIClaimStore, ClaimStore } from '../kube/api-claim-store.js';
import type { PodAdmissionState } from './pod-admission.js';
import type { UnderlayAdmissionState } from './spider-resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import type { PendingHolder } from '../kube/pending-holders.js';
import { foundOrUndefined } from '../kube/api-status.js';

export class ClusterUnderlayState implements UnderlayAdmissionState {
  constructor(
    private readonly cache: UnderlayCache,
    private readonly ledger: AdmissionLedger,
    private readonly claims: Pick<APIClaimStore, 'claimsOfPool'>,
  ) {}

  get hasSynced(): boolean {
    return this.cache.hasSynced;
  }

  context(pending: readonly PendingHolder[] = []) {
    return this.cache.context(pending);
  }

  contextFromAPI() {
    return this.cache.contextFromAPI();
  }

  async subnetsForDefaults(cidr?: string) {
    const cached = this.cache.subnetsForDefaults();
    // A subnet applied in the same kubectl apply as its pools may not be cached yet.
    if (cidr && !cached.some((s) => canonicalCidr(s.spec.subnet) === cidr)) return this.cache.subnetsFromAPI();
    return cached;
  }

  admit(decide: (pending: PendingHolder[]) => Verdict, options: { dryRun?: boolean; uid?: string }): Promise<Verdict> {
    return this.ledger.admit(decide, options);
  }

  async fenceRemoval(request: { id: string; pool: string; removed: RangeSet; dryRun: boolean }) {
    // One entry per call: the API server retries a call with the same request uid, and
    // one call's lift must not withdraw the other's fence.
    const id = `${request.id}.${randomUUID()}`; // ConfigMap keys allow [-._a-zA-Z0-9]
    if (!request.dryRun) await this.ledger.recordRemoval(id, request.pool, request.removed);
    const lift = async () => {
      if (request.dryRun) return;
      // Best effort: a fence left behind only keeps its addresses unclaimable until it expires.
      await this.ledger.liftRemoval(id).catch(() => undefined);
    };
    try {
      const inUse = (await this.claims.claimsOfPool(request.pool)).flatMap((claim): AddressInUse[] => {
        const use = claimInUse(claim);
        return use && request.removed.containsAddress(use.address) ? [use] : [];
      });
      return { inUse, lift };
    } catch (error) {
      await lift();
      throw error;
    }
  }
}

/** The production PodAdmissionState: the same caches, IPClaims in the API, and the ledger's pool removals. */
export function clusterPodState(cache: UnderlayCache, context: PodContextCache, claimStore: ClaimStore, ledger: AdmissionLedger, kubeConfig: KubeConfig): PodAdmissionState {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    nodeLabels: async (name) => {
      const node = await foundOrUndefined(core.readNode({ name }));
      return node ? (node.metadata?.labels ?? {}) : undefined;
    },
    podExistsWithBindingID: async (namespace, bindingID) => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: `${BINDING_ID_LABEL}=${bindingID}`, limit: 1 });
      return list.items.length > 0;
    },
    get hasSynced() {
      return cache.hasSynced && context.hasSynced;
    },
    poolViews: () => cache.poolViews(),
    namespace: (name) => context.namespaceOrRead(name),
    network: (key) => context.networkOrRead(key),
    poolsFromAPI: () => cache.poolsFromAPI(),
    reservedSet: (family) => cache.reservedSet(family),
    isClaimed: (address) => cache.isClaimed(address),
    claimsInPool: (pool) => cache.claimCount(pool),
    claimsOfPool: (pool) => cache.claimsOfPool(pool),
    claimsOfOrdinal: (ns, sts, ordinal) => cache.claimsOfOrdinal(ns, sts, ordinal),
    autoPoolsFromAPI: (namespace) => cache.autoPoolsFromAPI(namespace),
    addressesLeavingPool: (pool, family) => ledger.leaving(pool, family),
    claimStore,
  };
}

/** The parent a scale subresource request scales: read from the API (the webhook caches no workloads). */
export function clusterWorkloadReader(kubeConfig: KubeConfig): ReadWorkload {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return (resource, namespace, name) =>
    custom.getNamespacedCustomObject({ group: resource === 'jobs' || resource === 'cronjobs' ? 'batch' : 'apps', version: 'v1', namespace, plural: resource, name });
}
