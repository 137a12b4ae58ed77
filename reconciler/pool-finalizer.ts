// Controller: lets a terminating SpiderIPPool or SpiderSubnet go once none of its
// addresses is claimed, by removing the finalizer the webhook put on it
// (`underpin.dev/addresses-in-use`, and Spiderpool's `spiderpool.spidernet.io` on
// migrated objects). Until then it says why in a DeletionWaiting Event.
//
// Driven by the underlay caches (pools, subnets, claims): a change to any of them queues
// the pools and subnets it can unblock; a periodic resync re-queues every
// terminating one, as a safety net and to repeat the Event. The verdict comes from
// deletion-guard.ts; this file only gathers inputs and carries verdicts out.
import { heldBySpiderpool } from '../ipam/adoption/spiderpool-records.js';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeDeletionWait, judgePoolDeletion, judgeSubnetDeletion, type DeletionVerdict } from './deletion-guard.js';
import { EventThrottle, type EventToRecord } from './events.js';
import { removeFinalizersPatch } from './finalizer-patch.js';
import { describeMalformed, IPClaimObject, POOL_FINALIZERS, SpiderIPPoolObject, SpiderSubnetObject } from './resources.js';
import { IP_CLAIM, SPIDER_IPPOOL, SPIDER_SUBNET, type ResourceKind } from '../kube/resources.js';
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
  /** The process's underlay caches, shared with the other controllers. */
  underlay: UnderlayCache;
}

type Key = `${'SpiderIPPool' | 'SpiderSubnet'}/${string}`;

export class PoolFinalizerController {
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly underlay: UnderlayCache;
  private readonly queue: WorkQueue;
  private readonly throttle: EventThrottle;
  private readonly reportedMalformed = new Set<string>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private stopped = false;

  constructor(private readonly options: PoolFinalizerOptions) {
    this.log = options.log.child({ controller: 'pool-finalizer' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.underlay = options.underlay;
    this.throttle = new EventThrottle(options.eventIntervalMs ?? 60_000);
    this.queue = new WorkQueue((key) => this.reconcile(key as Key), {
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `reconciling ${key} failed; retrying`),
    });
  }

  async start(): Promise<void> {
    const { pools, subnets, claims } = this.underlay;
    pools.onChange((name, pool, previous) => this.onPoolChange(name, pool ?? previous, pool === undefined));
    subnets.onChange((name, subnet) => this.onSubnetChange(name, subnet));
    claims.onChange((_, claim, previous) => this.onClaimChange((claim ?? previous)?.spec.pool));
    await this.underlay.start();
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
    await this.underlay.stop();
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
    for (const pool of this.underlay.pools.values()) if (pool.metadata.deletionTimestamp) this.queue.add(`SpiderIPPool/${pool.metadata.name}`);
    for (const subnet of this.underlay.subnets.values()) if (subnet.metadata.deletionTimestamp) this.queue.add(`SpiderSubnet/${subnet.metadata.name}`);
  }

  /** The pool itself if terminating, and the terminating subnets it may belong to. */
  private enqueueForPool(poolName: string, subnetText?: string): void {
    const pool = this.underlay.pools.get(poolName);
    if (pool?.metadata.deletionTimestamp) this.queue.add(`SpiderIPPool/${poolName}`);
    const subnet = subnetText ?? pool?.spec.subnet;
    if (subnet === undefined) return;
    for (const candidate of this.underlay.subnets.values()) {
      if (candidate.metadata.deletionTimestamp && candidate.spec.subnet === subnet) this.queue.add(`SpiderSubnet/${candidate.metadata.name}`);
    }
  }

  private onPoolChange(name: string, pool: { spec: { subnet: string } } | undefined, deleted: boolean): void {
    if (deleted) this.throttle.forget(`SpiderIPPool/${name}`);
    if (this.synced) this.enqueueForPool(name, pool?.spec.subnet);
  }

  private onSubnetChange(name: string, subnet: { metadata: { deletionTimestamp?: string | null } } | undefined): void {
    if (!subnet) this.throttle.forget(`SpiderSubnet/${name}`);
    else if (this.synced && subnet.metadata.deletionTimestamp) this.queue.add(`SpiderSubnet/${name}`);
  }

  // Deleted claims are what unblock; added or changed ones are queued too, so that a
  // pending Event reflects them. Both are no-ops for pools that are not terminating.
  private onClaimChange(pool: string | undefined): void {
    if (this.synced && pool !== undefined) this.enqueueForPool(pool);
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
    const pool = this.underlay.pools.get(name);
    // Spiderpool's records, not claims, say what is in use until adoption releases the pool.
    if (!pool || heldBySpiderpool(pool.metadata)) return;
    // The cache holds only well-formed claims: a removal is confirmed on a lenient fresh read.
    const verdict = judgePoolDeletion(pool, this.underlay.claimsOfPool(name));
    if (verdict === 'nothing-to-do') return;
    const confirmed =
      verdict === 'remove-finalizer' ? judgePoolDeletion(pool, await this.listLive(IP_CLAIM, IPClaimObject)) : verdict;
    await this.carryOut(SPIDER_IPPOOL, pool.metadata, confirmed, false);
  }

  private async reconcileSubnet(name: string): Promise<void> {
    const subnet = this.underlay.subnets.get(name);
    if (!subnet || heldBySpiderpool(subnet.metadata)) return;
    const verdict = judgeSubnetDeletion(subnet, [...this.underlay.pools.values()], [...this.underlay.claims.values()]);
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
