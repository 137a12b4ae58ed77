// The production UnderlayAdmissionState: informer caches for what exists, the
// admission ledger for what other replicas are admitting right now.
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { RangeSet } from '../ipam/range-set.js';
import { SPIDER_IPPOOLS } from '../kube/resource-informer.js';
import type { WorkloadAdmissionState } from './workloads.js';
import type { AddressInUse, BlockHolder } from '../ipam/address-conflicts.js';
import { claimInUse } from '../ipam/ip-claim.js';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import { canonicalCidr } from '../ipam/cidr.js';
import type { Verdict } from '../ipam/underlay-admission.js';
import type { AdmissionLedger } from './admission-ledger.js';
import type { APIClaimStore, ClaimStore } from './claim-store.js';
import type { PodAdmissionState } from './pod-admission.js';
import type { UnderlayAdmissionState } from './spider-resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
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
export function clusterPodState(cache: UnderlayCache, claimStore: ClaimStore, ledger: AdmissionLedger, kubeConfig: KubeConfig): PodAdmissionState {
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
      return cache.hasSynced;
    },
    poolViews: () => cache.poolViews(),
    namespace: (name) => cache.namespaceOrRead(name),
    network: (key) => cache.networkOrRead(key),
    poolsFromAPI: () => cache.poolsFromAPI(),
    reservedSet: (family) => cache.reservedSet(family),
    isClaimed: (address) => cache.isClaimed(address),
    claimsInPool: (pool) => cache.claimsInPool(pool),
    claimsOfOrdinal: (ns, sts, ordinal) => cache.claimsOfOrdinal(ns, sts, ordinal),
    autoPoolsFromAPI: (namespace) => cache.autoPoolsFromAPI(namespace),
    addressesLeavingPool: (pool, family) => ledger.leaving(pool, family),
    claimStore,
  };
}

/** The API's own message from an error, for denials a user reads. */
function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    try {
      return (JSON.parse(String(error.body)) as { message?: string }).message ?? error.message;
    } catch {
      return error.message;
    }
  }
  return (error as Error).message;
}

/** The production WorkloadAdmissionState: the caches, and the API for what they cannot answer. */
export function clusterWorkloadState(cache: UnderlayCache, kubeConfig: KubeConfig): WorkloadAdmissionState {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    get hasSynced() {
      return cache.hasSynced;
    },
    subnet: (name) => cache.subnets.get(name),
    poolViews: () => cache.poolViews(),
    reservedSet: (family) => cache.reservedSet(family),
    inUse: (pool) => {
      const addresses = cache.inUse(pool).map((u) => u.address);
      return addresses.length === 0 ? undefined : RangeSet.fromAddresses(addresses[0]!.family, addresses);
    },
    readWorkload: (resource, namespace, name) => custom.getNamespacedCustomObject({ group: resource === 'jobs' || resource === 'cronjobs' ? 'batch' : 'apps', version: 'v1', namespace, plural: resource, name }),
    countNodes: async (nodeSelector) => {
      const labelSelector = Object.entries(nodeSelector).map(([k, v]) => `${k}=${v}`).join(',');
      return (await core.listNode(labelSelector ? { labelSelector } : {})).items.length;
    },
    writePool: async (pool) => {
      const body = {
        apiVersion: 'spiderpool.spidernet.io/v2beta1',
        kind: 'SpiderIPPool',
        metadata: { name: pool.name, labels: pool.labels },
        spec: { subnet: pool.subnet, ips: pool.ips },
      };
      try {
        if (!pool.existing) {
          await custom.createClusterCustomObject({ ...SPIDER_IPPOOLS, body });
          return;
        }
        // Keep what others wrote (finalizers, owner references, defaults); change size and labels only.
        const current = (await custom.getClusterCustomObject({ ...SPIDER_IPPOOLS, name: pool.name })) as { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> };
        current.metadata.labels = { ...(current.metadata.labels ?? {}), ...pool.labels };
        current.spec.ips = pool.ips;
        await custom.replaceClusterCustomObject({ ...SPIDER_IPPOOLS, name: pool.name, body: current });
      } catch (error) {
        throw new Error(apiMessage(error));
      }
    },
  };
}
