// The production MultusConfigAdmissionState: the namespace's other SpiderMultusConfigs
// read from the API at admission (a NAD-name clash must not hide behind a cache that
// has not seen an smc applied a moment ago; smc admissions are rare), the pools'
// families from the underlay cache.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { IPFamily } from '../ipam/address.js';
import type { MultusConfigContext } from '../ipam/multus-config/multus-config-review.js';
import { networkNameOf, type SpiderMultusConfig } from '../ipam/multus-config/spider-multus-config.js';
import { customObject, SPIDER_MULTUS_CONFIG } from '../kube/resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import type { MultusConfigAdmissionState } from './multus-configs.js';

type Listed = Pick<SpiderMultusConfig, 'metadata'>;

export class ClusterMultusConfigState implements MultusConfigAdmissionState {
  private readonly api: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly underlay: UnderlayCache,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async context(namespace: string, name: string): Promise<MultusConfigContext> {
    let items: Listed[];
    try {
      const list = (await this.api.listNamespacedCustomObject({ ...customObject(SPIDER_MULTUS_CONFIG), namespace })) as { items?: Listed[] };
      items = list.items ?? [];
    } catch (error) {
      throw new Error(`listing the SpiderMultusConfigs of namespace ${namespace}: ${(error as Error).message}`, { cause: error });
    }
    const siblings = items.filter((smc) => smc.metadata.name !== name).map((smc) => ({ name: smc.metadata.name ?? '', network: networkNameOf(smc) }));
    const families = new Map<string, IPFamily>();
    for (const holder of this.underlay.context().holders) if (holder.kind === 'SpiderIPPool') families.set(holder.name, holder.cidr.family);
    return { siblings, poolFamily: (pool) => families.get(pool) };
  }
}
