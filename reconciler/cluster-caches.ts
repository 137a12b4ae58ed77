// The caches the claim, status and endpoint controllers read, with the indexes they
// ask by: the underlay (pools, subnets, reserved IPs, claims) is the process's one
// UnderlayCache, shared with auto-pool sizing and the pool finalizer; pods carrying a
// binding, StatefulSets and SpiderEndpoints are the reconciler's own.
import type { KubeConfig } from '@kubernetes/client-node';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import type { IPClaim } from '../ipam/ip-claim.js';
import { customObjectSource, listWatch, nodeSource, podSource, statefulSetSource, type InformerLog } from '../kube/list-watch.js';
import { ResourceCache } from '../kube/resource-cache.js';
import { SPIDER_ENDPOINT } from '../kube/resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import type { PoolRecord, ReservedIPRecord, SubnetRecord } from '../kube/underlay-records.js';
import { EndpointRecord, NodeRecord, PodRecord, StatefulSetRecord } from './resources.js';

const BY_BINDING = 'binding';
const BY_NODE = 'node';

const bindingKey = (namespace: string, bindingID: string) => `${namespace}/${bindingID}`;

export class ClusterCaches {
  readonly claims: ResourceCache<IPClaim>;
  readonly pools: ResourceCache<PoolRecord>;
  readonly subnets: ResourceCache<SubnetRecord>;
  readonly reservedIPs: ResourceCache<ReservedIPRecord>;
  /** Only pods carrying a binding (label underpin.dev/binding-id). */
  readonly pods: ResourceCache<PodRecord>;
  readonly statefulSets: ResourceCache<StatefulSetRecord>;
  /** Nodes: whether a terminating pod's kubelet can still stop it (node-loss release). */
  readonly nodes: ResourceCache<NodeRecord>;
  readonly endpoints: ResourceCache<EndpointRecord>;
  private synced = false;

  constructor(
    kubeConfig: KubeConfig,
    readonly underlay: UnderlayCache,
    log: InformerLog,
  ) {
    ({ claims: this.claims, pools: this.pools, subnets: this.subnets, reserved: this.reservedIPs } = underlay);
    const cache = <T>(source: Parameters<typeof listWatch>[1], schema: import('zod').ZodType<T>, what: string) => new ResourceCache(listWatch(kubeConfig, source, log), schema, what, log);
    this.pods = cache(podSource(kubeConfig, { labelSelector: BINDING_ID_LABEL }), PodRecord, 'Pod').addIndex(BY_BINDING, (pod) => {
      const id = pod.metadata.labels?.[BINDING_ID_LABEL];
      return id ? [bindingKey(pod.metadata.namespace, id)] : [];
    }).addIndex(BY_NODE, (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []));
    this.statefulSets = cache(statefulSetSource(kubeConfig), StatefulSetRecord, 'StatefulSet');
    this.nodes = cache(nodeSource(kubeConfig), NodeRecord, 'Node');
    this.endpoints = cache(customObjectSource(kubeConfig, SPIDER_ENDPOINT), EndpointRecord, SPIDER_ENDPOINT.kind);
  }

  private get own() {
    return [this.pods, this.statefulSets, this.nodes, this.endpoints] as const;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once every cache holds a complete list. */
  async start(): Promise<void> {
    await Promise.all([this.underlay.start(), ...this.own.map((cache) => cache.start())]);
    this.synced = true;
  }

  async stop(): Promise<void> {
    await Promise.all([this.underlay.stop(), ...this.own.map((cache) => cache.stop())]);
  }

  podsWithBinding(namespace: string, bindingID: string): PodRecord[] {
    return this.pods.byIndex(BY_BINDING, bindingKey(namespace, bindingID));
  }

  /** Pods with a binding scheduled to this node. */
  podsOnNode(node: string): PodRecord[] {
    return this.pods.byIndex(BY_NODE, node);
  }

  claimsWithBinding(namespace: string, bindingID: string): IPClaim[] {
    return this.underlay.claimsWithBinding(namespace, bindingID);
  }

  claimsInPool(pool: string): IPClaim[] {
    return this.underlay.claimsOfPool(pool);
  }

  claimsOfStatefulSet(namespace: string, name: string): IPClaim[] {
    return this.underlay.claimsOfStatefulSet(namespace, name);
  }

  statefulSet(namespace: string, name: string): StatefulSetRecord | undefined {
    return this.statefulSets.get(`${namespace}/${name}`);
  }

  /** Pools and subnets whose spec.subnet is this network. */
  poolsInNetwork(cidr: string): PoolRecord[] {
    return this.underlay.poolsInNetwork(cidr);
  }

  subnetsOfNetwork(cidr: string): SubnetRecord[] {
    return this.underlay.subnetsOfNetwork(cidr);
  }
}
