// The production UnderlayAdmissionState: informer caches for what exists, the
// admission ledger for what other replicas are admitting right now.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { BlockHolder } from '../ipam/address-conflicts.js';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import { canonicalCidr } from '../ipam/cidr.js';
import type { Verdict } from '../ipam/underlay-admission.js';
import type { AdmissionLedger } from './admission-ledger.js';
import type { ClaimStore } from './claim-store.js';
import type { PodAdmissionState } from './pod-admission.js';
import type { UnderlayAdmissionState } from './spider-resources.js';
import type { UnderlayCache } from './underlay-cache.js';

export class ClusterUnderlayState implements UnderlayAdmissionState {
  constructor(
    private readonly cache: UnderlayCache,
    private readonly ledger: AdmissionLedger,
  ) {}

  get hasSynced(): boolean {
    return this.cache.hasSynced;
  }

  context(pending: readonly BlockHolder[] = []) {
    return this.cache.context(pending);
  }

  async subnetsForDefaults(cidr?: string) {
    const cached = this.cache.subnetsForDefaults();
    // A subnet applied in the same kubectl apply as its pools may not be cached yet.
    if (cidr && !cached.some((s) => canonicalCidr(s.spec.subnet) === cidr)) return this.cache.subnetsFromAPI();
    return cached;
  }

  admit(decide: (pending: BlockHolder[]) => Verdict, options: { dryRun?: boolean }): Promise<Verdict> {
    return this.ledger.admit(decide, options);
  }
}

/** The production PodAdmissionState: the same caches, and IPClaims in the API. */
export function clusterPodState(cache: UnderlayCache, claimStore: ClaimStore, kubeConfig: KubeConfig): PodAdmissionState {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    podExistsWithBindingID: async (namespace, bindingID) => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: `${BINDING_ID_LABEL}=${bindingID}`, limit: 1 });
      return list.items.length > 0;
    },
    get hasSynced() {
      return cache.hasSynced;
    },
    poolViews: () => cache.poolViews(),
    namespace: (name) => cache.namespace(name),
    network: (key) => cache.network(key),
    reservedSet: (family) => cache.reservedSet(family),
    isClaimed: (address) => cache.isClaimed(address),
    claimsInPool: (pool) => cache.claimsInPool(pool),
    claimsOfOrdinal: (ns, sts, ordinal) => cache.claimsOfOrdinal(ns, sts, ordinal),
    claimStore,
  };
}
