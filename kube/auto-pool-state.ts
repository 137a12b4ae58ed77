// The production AutoPoolState: the underlay caches for what exists, the API for the
// node count a DaemonSet's pools follow and for writing the pools. Webhook and
// reconciler size auto pools over the same state.
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { AutoPoolState } from '../ipam/auto-pool-sizer.js';
import { RangeSet } from '../ipam/range-set.js';
import { SPIDER_IPPOOL, customObject } from './resources.js';
import type { UnderlayCache } from './underlay-cache.js';

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

export function clusterAutoPoolState(cache: UnderlayCache, kubeConfig: KubeConfig): AutoPoolState {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pools = customObject(SPIDER_IPPOOL);
  return {
    get hasSynced() {
      return cache.hasSynced;
    },
    subnet: (name) => cache.subnet(name),
    poolViews: () => cache.poolViews(),
    reservedSet: (family) => cache.reservedSet(family),
    inUse: (pool) => {
      const addresses = cache.inUse(pool).map((u) => u.address);
      return addresses.length === 0 ? undefined : RangeSet.fromAddresses(addresses[0]!.family, addresses);
    },
    countNodes: async (nodeSelector) => {
      const labelSelector = Object.entries(nodeSelector).map(([k, v]) => `${k}=${v}`).join(',');
      return (await core.listNode(labelSelector ? { labelSelector } : {})).items.length;
    },
    writePool: async (pool) => {
      const body = {
        apiVersion: 'spiderpool.spidernet.io/v2beta1',
        kind: SPIDER_IPPOOL.kind,
        metadata: { name: pool.name, labels: pool.labels },
        spec: { subnet: pool.subnet, ips: pool.ips },
      };
      try {
        if (!pool.existing) {
          await custom.createClusterCustomObject({ ...pools, body });
          return;
        }
        // Keep what others wrote (finalizers, owner references, defaults); change size and labels only.
        const current = (await custom.getClusterCustomObject({ ...pools, name: pool.name })) as { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> };
        current.metadata.labels = { ...(current.metadata.labels ?? {}), ...pool.labels };
        current.spec.ips = pool.ips;
        await custom.replaceClusterCustomObject({ ...pools, name: pool.name, body: current });
      } catch (error) {
        throw new Error(apiMessage(error), { cause: error });
      }
    },
  };
}
