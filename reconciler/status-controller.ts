// Controller: keeps SpiderIPPool.status and SpiderSubnet.status equal to what the
// claims, pools, subnets and reserved IPs say (pool-status.ts decides), through the
// /status subresource, only when something changed, and at most once a second per
// object: a burst of a hundred pods costs a pool a few writes, not a hundred. Also
// keeps the per-pool capacity and use gauges.
import { heldBySpiderpool } from '../ipam/adoption/spiderpool-records.js';
import { ResyncLoop } from './resync-loop.js';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { canonicalCidr } from '../ipam/cidr.js';
import type { ClusterCaches } from './cluster-caches.js';
import type { ReconcilerMetrics } from './metrics.js';
import { ALLOCATED_IPS_MAX_BYTES, poolStatusFor, reservedSets, statusDiffers, subnetStatusFor, type PoolStatusFields, type ReservedSets, type SubnetStatusFields } from './pool-status.js';
import { SPIDER_IPPOOL, SPIDER_SUBNET, apiVersionOf, type ResourceKind } from '../kube/resources.js';
import { POOL_LABEL } from '../kube/api-claim-store.js';
import type { PoolRecord } from '../kube/underlay-records.js';
import { WorkQueue } from './work-queue.js';
import { WriteSpacing } from './write-spacing.js';
import { apiStatus } from '../kube/api-status.js';
import type { EventToRecord } from './events.js';

export interface StatusControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  caches: ClusterCaches;
  metrics: ReconcilerMetrics;
  resyncMs: number;
  /** At most one status write per object per this interval (default 1 s). */
  minWriteIntervalMs?: number;
  /** Tells a pool's readers when its allocatedIPs list is left out. */
  recordEvent?: (event: EventToRecord) => Promise<void>;
}

type Key = `pool:${string}` | `subnet:${string}`;

export class StatusController {
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly spacing: WriteSpacing;
  private reserved: ReservedSets | undefined;
  private readonly loop: ResyncLoop;
  /** Pools whose allocatedIPs is left out as too large, so that it is said once, not every pass. */
  private readonly listOmitted = new Set<string>();

  constructor(private readonly options: StatusControllerOptions) {
    this.log = options.log.child({ controller: 'status' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.spacing = new WriteSpacing(options.minWriteIntervalMs ?? 1000);
    this.queue = new WorkQueue((key) => options.metrics.time('status', () => this.reconcile(key as Key)), {
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `writing the status of ${key} failed; retrying`),
    });
    this.loop = new ResyncLoop(this.queue, options.resyncMs, () => this.enqueueAll());
    const { caches } = options;
    caches.claims.onChange((_, current, previous) => {
      if (!this.loop.synced) return;
      for (const pool of new Set([current?.spec.pool, previous?.spec.pool])) if (pool) this.enqueuePoolAndSubnets(pool);
    });
    caches.pools.onChange((key, current, previous) => {
      if (!current) {
        options.metrics.forgetPool(key);
        this.spacing.forget(`pool:${key}`);
        this.listOmitted.delete(key);
      }
      if (!this.loop.synced) return;
      this.enqueue(`pool:${key}`);
      for (const pool of [current, previous]) if (pool) this.enqueueSubnetsOf(pool.spec.subnet);
    });
    caches.subnets.onChange((key, current) => {
      if (!current) this.spacing.forget(`subnet:${key}`);
      else if (this.loop.synced) this.enqueue(`subnet:${key}`);
    });
    caches.reservedIPs.onChange(() => {
      this.reserved = undefined;
      if (this.loop.synced) this.enqueueAll();
    });
  }

  run(): void {
    this.loop.run();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private enqueueAll(): void {
    for (const name of this.options.caches.pools.keys()) this.enqueue(`pool:${name}`);
    for (const name of this.options.caches.subnets.keys()) this.enqueue(`subnet:${name}`);
  }

  private enqueue(key: Key): void {
    this.queue.addAfter(key, this.spacing.delayFor(key));
  }

  private enqueuePoolAndSubnets(pool: string): void {
    this.enqueue(`pool:${pool}`);
    const record = this.options.caches.pools.get(pool);
    if (record) this.enqueueSubnetsOf(record.spec.subnet);
  }

  private enqueueSubnetsOf(subnetText: string): void {
    const cidr = canonicalCidr(subnetText);
    if (!cidr) return;
    for (const subnet of this.options.caches.subnetsOfNetwork(cidr)) this.enqueue(`subnet:${subnet.metadata.name}`);
  }

  private reservedNow(): ReservedSets {
    this.reserved ??= reservedSets(this.options.caches.reservedIPs.values());
    return this.reserved;
  }

  private async reconcile(key: Key): Promise<void> {
    const { caches, metrics } = this.options;
    const name = key.slice(key.indexOf(':') + 1);
    if (key.startsWith('pool:')) {
      const pool = caches.pools.get(name);
      // Spiderpool's records are in its status until adoption has taken them over.
      if (!pool || heldBySpiderpool(pool.metadata)) return;
      const desired = poolStatusFor(pool, caches.claimsInPool(name), this.reservedNow());
      if (!desired) return;
      metrics.setPool(name, desired.totalIPCount, desired.allocatedIPCount);
      if (statusDiffers(pool.status, desired)) await this.write(key, SPIDER_IPPOOL, name, desired);
      this.noteOmittedList(pool, desired);
      return;
    }
    const subnet = caches.subnets.get(name);
    if (!subnet) return;
    const cidr = canonicalCidr(subnet.spec.subnet);
    const pools = cidr ? caches.poolsInNetwork(cidr) : [];
    const desired = subnetStatusFor(subnet, pools, this.reservedNow());
    if (desired && statusDiffers(subnet.status, desired)) await this.write(key, SPIDER_SUBNET, name, desired);
  }

  private noteOmittedList(pool: PoolRecord, desired: PoolStatusFields): void {
    const name = pool.metadata.name;
    if (desired.allocatedIPs !== null) {
      this.listOmitted.delete(name);
      return;
    }
    if (this.listOmitted.has(name)) return;
    this.listOmitted.add(name);
    const message =
      `status.allocatedIPs is left out: ${desired.allocatedIPCount} addresses would make it larger than ${ALLOCATED_IPS_MAX_BYTES / 1024} KiB, ` +
      `and etcd refuses objects over 1.5 MiB; allocatedIPCount stays exact, and the claims list every address: kubectl get ipclaims -l ${POOL_LABEL}=${name}`;
    this.log.warn({ pool: name, allocated: desired.allocatedIPCount }, message);
    this.options.recordEvent?.({ involved: { apiVersion: apiVersionOf(SPIDER_IPPOOL), kind: SPIDER_IPPOOL.kind, name, ...(pool.metadata.uid ? { uid: pool.metadata.uid } : {}) }, type: 'Normal', reason: 'AllocatedIPsOmitted', message })
      .catch((error: unknown) => this.log.debug({ err: error, pool: name }, 'recording the AllocatedIPsOmitted event failed'));
  }

  private async write(key: Key, kind: ResourceKind, name: string, desired: PoolStatusFields | SubnetStatusFields): Promise<void> {
    const wait = this.spacing.delayFor(key);
    if (wait > 0) {
      this.queue.addAfter(key, wait);
      return;
    }
    try {
      await this.api.patchClusterCustomObjectStatus(
        { group: kind.group, version: kind.version, plural: kind.plural, name, body: { status: desired } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (apiStatus(error) === 404) return;
      throw new Error(`writing the status of ${kind.kind} ${name}: ${(error as Error).message}`, { cause: error });
    }
    this.spacing.wrote(key);
    this.log.debug({ key, allocated: desired.allocatedIPCount, total: desired.totalIPCount }, 'status written');
  }
}
