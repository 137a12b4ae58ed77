// The informer caches the claim, status and endpoint controllers share, with the
// indexes they ask by: one list+watch per resource type, however many controllers
// read it (the pool-finalizer controller shares pools, subnets and claims too).
import type { KubeConfig } from '@kubernetes/client-node';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import { canonicalCidr } from '../ipam/cidr.js';
import {
  customObjectSource,
  listWatch,
  podSource,
  statefulSetSource,
  type InformerLog,
  type ListWatchSource,
} from '../kube/list-watch.js';
import { IPClaim } from '../ipam/ip-claim.js';
import {
  EndpointRecord,
  IP_CLAIM,
  PodRecord,
  PoolRecord,
  ReservedIPRecord,
  SPIDER_ENDPOINT,
  SPIDER_IPPOOL,
  SPIDER_RESERVED_IP,
  SPIDER_SUBNET,
  StatefulSetRecord,
  SubnetRecord,
} from './resources.js';
import { TypedCache } from './typed-cache.js';

const BY_BINDING = 'binding';
const BY_POOL = 'pool';
const BY_STATEFULSET = 'statefulset';
const BY_CIDR = 'cidr';

const bindingKey = (namespace: string, bindingID: string) => `${namespace}/${bindingID}`;

export class ClusterCaches {
  readonly claims: TypedCache<IPClaim>;
  /** Only pods carrying a binding (label underpin.dev/binding-id). */
  readonly pods: TypedCache<PodRecord>;
  readonly statefulSets: TypedCache<StatefulSetRecord>;
  readonly pools: TypedCache<PoolRecord>;
  readonly subnets: TypedCache<SubnetRecord>;
  readonly reservedIPs: TypedCache<ReservedIPRecord>;
  readonly endpoints: TypedCache<EndpointRecord>;
  private synced = false;

  constructor(kubeConfig: KubeConfig, log: InformerLog) {
    const cache = <T>(source: ListWatchSource, schema: import('zod').ZodType<T>, what: string) =>
      new TypedCache(listWatch(kubeConfig, source, log), schema, what, log);
    this.claims = cache(customObjectSource(kubeConfig, IP_CLAIM), IPClaim, 'IPClaim')
      .addIndex(BY_BINDING, (claim) => [bindingKey(claim.spec.namespace, claim.spec.bindingID)])
      .addIndex(BY_POOL, (claim) => [claim.spec.pool])
      .addIndex(BY_STATEFULSET, (claim) => (claim.spec.owner?.kind === 'StatefulSet' ? [`${claim.spec.namespace}/${claim.spec.owner.name}`] : []));
    this.pods = cache(podSource(kubeConfig, BINDING_ID_LABEL), PodRecord, 'Pod').addIndex(BY_BINDING, (pod) => {
      const id = pod.metadata.labels?.[BINDING_ID_LABEL];
      return id ? [bindingKey(pod.metadata.namespace, id)] : [];
    });
    this.statefulSets = cache(statefulSetSource(kubeConfig), StatefulSetRecord, 'StatefulSet');
    const byCidr = (object: { spec: { subnet: string } }) => {
      const cidr = canonicalCidr(object.spec.subnet);
      return cidr ? [cidr] : [];
    };
    this.pools = cache(customObjectSource(kubeConfig, SPIDER_IPPOOL), PoolRecord, 'SpiderIPPool').addIndex(BY_CIDR, byCidr);
    this.subnets = cache(customObjectSource(kubeConfig, SPIDER_SUBNET), SubnetRecord, 'SpiderSubnet').addIndex(BY_CIDR, byCidr);
    this.reservedIPs = cache(customObjectSource(kubeConfig, SPIDER_RESERVED_IP), ReservedIPRecord, 'SpiderReservedIP');
    this.endpoints = cache(customObjectSource(kubeConfig, SPIDER_ENDPOINT), EndpointRecord, 'SpiderEndpoint');
  }

  private get all(): TypedCache<unknown>[] {
    return [this.claims, this.pods, this.statefulSets, this.pools, this.subnets, this.reservedIPs, this.endpoints] as TypedCache<unknown>[];
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once every cache holds a complete list. */
  async start(): Promise<void> {
    await Promise.all(this.all.map((cache) => cache.start()));
    this.synced = true;
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((cache) => cache.stop()));
  }

  podsWithBinding(namespace: string, bindingID: string): PodRecord[] {
    return this.pods.byIndex(BY_BINDING, bindingKey(namespace, bindingID));
  }

  claimsWithBinding(namespace: string, bindingID: string): IPClaim[] {
    return this.claims.byIndex(BY_BINDING, bindingKey(namespace, bindingID));
  }

  claimsInPool(pool: string): IPClaim[] {
    return this.claims.byIndex(BY_POOL, pool);
  }

  claimsOfStatefulSet(namespace: string, name: string): IPClaim[] {
    return this.claims.byIndex(BY_STATEFULSET, `${namespace}/${name}`);
  }

  statefulSet(namespace: string, name: string): StatefulSetRecord | undefined {
    return this.statefulSets.get(`${namespace}/${name}`);
  }

  /** Pools and subnets whose spec.subnet is this network. */
  poolsInNetwork(cidr: string): PoolRecord[] {
    return this.pools.byIndex(BY_CIDR, cidr);
  }

  subnetsOfNetwork(cidr: string): SubnetRecord[] {
    return this.subnets.byIndex(BY_CIDR, cidr);
  }
}
