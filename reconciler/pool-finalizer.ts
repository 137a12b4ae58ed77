// Controller: lets a terminating SpiderIPPool or SpiderSubnet go once none of its
// addresses is claimed, by removing the finalizer the webhook put on it
// (`underpin.dev/addresses-in-use`, and Spiderpool's `spiderpool.spidernet.io` on
// migrated objects). Until then it says why in a DeletionWaiting Event.
//
// Driven by informers on pools, subnets and claims: a change to any of them queues
// the pools and subnets it can unblock; a periodic resync re-queues every
// terminating one, as a safety net and to repeat the Event. The verdict comes from
// deletion-guard.ts; this file only gathers inputs and carries verdicts out.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeDeletionWait, judgePoolDeletion, judgeSubnetDeletion, type DeletionVerdict } from './deletion-guard.js';
import { EventThrottle, type EventToRecord } from './events.js';
import { removeFinalizersPatch } from './finalizer-patch.js';
import type { ListWatch } from '../kube/list-watch.js';
import {
  describeMalformed,
  IP_CLAIM,
  IPClaimObject,
  SPIDER_IPPOOL,
  SPIDER_SUBNET,
  POOL_FINALIZERS,
  SpiderIPPoolObject,
  SpiderSubnetObject,
  type ResourceKind,
} from './resources.js';
import { WorkQueue } from './work-queue.js';
import { apiStatus } from '../kube/api-status.js';

export const DELETION_WAITING_REASON = 'DeletionWaiting';

export interface PoolFinalizerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  recordEvent: (event: EventToRecord) => Promise<void>;
  /** How often every terminating pool and subnet is re-checked. */
  resyncMs: number;
  /** At most one DeletionWaiting Event per object per this interval (default 60 s). */
  eventIntervalMs?: number;
  /** List+watches of pools, subnets and claims, shared with the other controllers. */
  informers: { pools: ListWatch; subnets: ListWatch; claims: ListWatch };
}

type Key = `${'SpiderIPPool' | 'SpiderSubnet'}/${string}`;

export class PoolFinalizerController {
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly pools: ListWatch;
  private readonly subnets: ListWatch;
  private readonly claims: ListWatch;
  private readonly queue: WorkQueue;
  private readonly throttle: EventThrottle;
  private readonly reportedMalformed = new Set<string>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private stopped = false;

  constructor(private readonly options: PoolFinalizerOptions) {
    this.log = options.log.child({ controller: 'pool-finalizer' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.pools = options.informers.pools;
    this.subnets = options.informers.subnets;
    this.claims = options.informers.claims;
    this.throttle = new EventThrottle(options.eventIntervalMs ?? 60_000);
    this.queue = new WorkQueue((key) => this.reconcile(key as Key), {
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `reconciling ${key} failed; retrying`),
    });
  }

  async start(): Promise<void> {
    this.pools.onChange((event, raw) => this.onPoolChange(event, raw));
    this.subnets.onChange((event, raw) => this.onSubnetChange(event, raw));
    this.claims.onChange((_, raw) => this.onClaimChange(raw));
    await Promise.all([this.pools.start(), this.subnets.start(), this.claims.start()]);
    if (this.stopped) return;
    // Events before this point described the initial lists; one full pass covers them.
    this.synced = true;
    this.log.info('caches synced');
    this.enqueueAllTerminating();
    this.resyncTimer = setInterval(() => this.enqueueAllTerminating(), this.options.resyncMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    await this.queue.stop();
    await Promise.all([this.pools.stop(), this.subnets.stop(), this.claims.stop()]);
  }

  // ---- inputs, validated at the edge ----

  private parse<T>(kind: ResourceKind, schema: z.ZodType<T>, raw: unknown): T | undefined {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    const meta = (raw as KubernetesObject | undefined)?.metadata;
    const once = `${kind.kind}/${meta?.name}/${meta?.resourceVersion}`;
    if (!this.reportedMalformed.has(once)) {
      if (this.reportedMalformed.size > 10_000) this.reportedMalformed.clear();
      this.reportedMalformed.add(once);
      this.log.warn(describeMalformed(kind, raw, parsed.error));
    }
    return undefined;
  }

  private parseAll<T>(kind: ResourceKind, schema: z.ZodType<T>, raws: readonly unknown[]): T[] {
    return raws.flatMap((raw) => {
      const parsed = this.parse(kind, schema, raw);
      return parsed === undefined ? [] : [parsed];
    });
  }

  /** A fresh, consistent read: the caches may lag a claim created a moment ago. */
  private async listLive<T>(kind: ResourceKind, schema: z.ZodType<T>): Promise<T[]> {
    const list = (await this.api.listClusterCustomObject({ group: kind.group, version: kind.version, plural: kind.plural })) as { items?: unknown[] };
    return this.parseAll(kind, schema, list.items ?? []);
  }

  // ---- what to re-check when something changes ----

  private enqueueAllTerminating(): void {
    for (const raw of this.pools.list()) if (raw.metadata?.deletionTimestamp) this.queue.add(`SpiderIPPool/${raw.metadata.name}`);
    for (const raw of this.subnets.list()) if (raw.metadata?.deletionTimestamp) this.queue.add(`SpiderSubnet/${raw.metadata.name}`);
  }

  /** The pool itself if terminating, and the terminating subnets it may belong to. */
  private enqueueForPool(poolName: string, subnetText?: string): void {
    const pool = this.pools.get(poolName);
    if (pool?.metadata?.deletionTimestamp) this.queue.add(`SpiderIPPool/${poolName}`);
    const subnet = subnetText ?? (pool as { spec?: { subnet?: unknown } } | undefined)?.spec?.subnet;
    if (typeof subnet !== 'string') return;
    for (const raw of this.subnets.list()) {
      const candidate = raw as { metadata?: { name?: string; deletionTimestamp?: unknown }; spec?: { subnet?: unknown } };
      if (candidate.metadata?.deletionTimestamp && candidate.spec?.subnet === subnet) this.queue.add(`SpiderSubnet/${candidate.metadata.name}`);
    }
  }

  private onPoolChange(event: 'add' | 'update' | 'delete', raw: KubernetesObject): void {
    const name = raw.metadata?.name;
    if (!name) return;
    if (event === 'delete') this.throttle.forget(`SpiderIPPool/${name}`);
    if (!this.synced) return;
    const subnet = (raw as { spec?: { subnet?: unknown } }).spec?.subnet;
    this.enqueueForPool(name, typeof subnet === 'string' ? subnet : undefined);
  }

  private onSubnetChange(event: 'add' | 'update' | 'delete', raw: KubernetesObject): void {
    const name = raw.metadata?.name;
    if (!name) return;
    if (event === 'delete') this.throttle.forget(`SpiderSubnet/${name}`);
    else if (this.synced && raw.metadata?.deletionTimestamp) this.queue.add(`SpiderSubnet/${name}`);
  }

  // Deleted claims are what unblock; added or changed ones are queued too, so that a
  // pending Event reflects them. Both are no-ops for pools that are not terminating.
  private onClaimChange(raw: KubernetesObject): void {
    if (!this.synced) return;
    const pool = (raw as { spec?: { pool?: unknown } }).spec?.pool;
    if (typeof pool === 'string') this.enqueueForPool(pool);
  }

  // ---- one object ----

  private async reconcile(key: Key): Promise<void> {
    const slash = key.indexOf('/');
    const kindName = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (kindName === 'SpiderIPPool') await this.reconcilePool(name);
    else await this.reconcileSubnet(name);
  }

  private async reconcilePool(name: string): Promise<void> {
    const pool = this.parse(SPIDER_IPPOOL, SpiderIPPoolObject, this.pools.get(name));
    if (!pool) return;
    const verdict = judgePoolDeletion(pool, this.parseAll(IP_CLAIM, IPClaimObject, this.claims.list()));
    if (verdict === 'nothing-to-do') return;
    const confirmed =
      verdict === 'remove-finalizer' ? judgePoolDeletion(pool, await this.listLive(IP_CLAIM, IPClaimObject)) : verdict;
    await this.carryOut(SPIDER_IPPOOL, pool.metadata, confirmed, false);
  }

  private async reconcileSubnet(name: string): Promise<void> {
    const subnet = this.parse(SPIDER_SUBNET, SpiderSubnetObject, this.subnets.get(name));
    if (!subnet) return;
    const pools = this.parseAll(SPIDER_IPPOOL, SpiderIPPoolObject, this.pools.list());
    const claims = this.parseAll(IP_CLAIM, IPClaimObject, this.claims.list());
    const verdict = judgeSubnetDeletion(subnet, pools, claims);
    if (verdict === 'nothing-to-do') return;
    const confirmed =
      verdict === 'remove-finalizer'
        ? judgeSubnetDeletion(subnet, await this.listLive(SPIDER_IPPOOL, SpiderIPPoolObject), await this.listLive(IP_CLAIM, IPClaimObject))
        : verdict;
    await this.carryOut(SPIDER_SUBNET, subnet.metadata, confirmed, true);
  }

  private async carryOut(
    kind: ResourceKind,
    metadata: { name: string; uid?: string; resourceVersion?: string; finalizers?: string[] | null },
    verdict: DeletionVerdict,
    showPool: boolean,
  ): Promise<void> {
    if (verdict === 'nothing-to-do') return;
    const key = `${kind.kind}/${metadata.name}`;
    if (verdict === 'remove-finalizer') return this.removeFinalizers(kind, metadata);
    this.log.debug({ key, inUse: verdict.inUse.length }, 'deletion waits for addresses in use');
    if (!this.throttle.tryTake(key)) return;
    const event: EventToRecord = {
      involved: { apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, name: metadata.name },
      // Warning, not Normal: the deletion the user asked for is stuck until they act.
      type: 'Warning',
      reason: DELETION_WAITING_REASON,
      message: describeDeletionWait(verdict.inUse, { showPool }),
    };
    if (metadata.uid !== undefined) event.involved.uid = metadata.uid;
    if (metadata.resourceVersion !== undefined) event.involved.resourceVersion = metadata.resourceVersion;
    try {
      await this.options.recordEvent(event);
      this.log.info({ key, message: event.message }, 'deletion waiting');
    } catch (error) {
      // An Event is advice; failing to write it must not stall the controller.
      this.log.warn({ key, err: error }, 'could not record the DeletionWaiting event');
    }
  }

  private async removeFinalizers(kind: ResourceKind, metadata: { name: string; uid?: string; finalizers?: string[] | null }): Promise<void> {
    const patch = removeFinalizersPatch(metadata, POOL_FINALIZERS);
    if (!patch) return;
    try {
      await this.api.patchClusterCustomObject(
        { group: kind.group, version: kind.version, plural: kind.plural, name: metadata.name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      this.log.info({ key: `${kind.kind}/${metadata.name}`, removed: POOL_FINALIZERS.filter((f) => metadata.finalizers?.includes(f)) }, 'no address in use: finalizer removed');
    } catch (error) {
      if (apiStatus(error) === 404) return; // already gone
      // A failed `test` means our copy was stale: the queue retries on fresher data.
      throw new Error(`removing the finalizer from ${kind.kind} ${metadata.name}: ${(error as Error).message}`, { cause: error });
    }
  }
}
