// Underpin's view of the cluster's underlay, read by webhook and reconciler alike:
// subnets, pools, reserved IPs and the claims on addresses, one cache per resource,
// indexed for the questions both ask. Each object is kept once, as its record; the
// views admission reads (address blocks, addresses in use) are derived from it on
// demand and remembered per record, so a claim costs its record and nothing more.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { AddressInUse, BlockHolder, ReservedHolder } from '../ipam/address-conflicts.js';
import { addressToClaimName, type Address, type IPFamily } from '../ipam/address.js';
import { AUTO_POOL_LABEL } from '../ipam/auto-pool.js';
import { heldBySpiderpool, readPoolAllocations } from '../ipam/adoption/spiderpool-records.js';
import { canonicalCidr } from '../ipam/cidr.js';
import { IPClaim, claimInUse } from '../ipam/ip-claim.js';
import type { PoolView } from '../ipam/pool-candidates.js';
import { RangeSet } from '../ipam/range-set.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { readReservedIPs } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';
import { readUnderlayBlock, type UnderlaySpec } from '../ipam/underlay-block.js';
import type { UnderlayContext } from '../ipam/underlay-admission.js';
import type { SubnetForDefaults } from '../ipam/underlay-defaults.js';
import { FreshRead } from './fresh-read.js';
import { holderKey, stillPending, type KnownHolders, type PendingHolder } from './pending-holders.js';
import { customObjectSource, listWatch, type InformerLog } from './list-watch.js';
import { ResourceCache } from './resource-cache.js';
import { IP_CLAIM, SPIDER_IPPOOL, SPIDER_RESERVED_IP, SPIDER_SUBNET, customObject } from './resources.js';
import { ClaimRecord, PoolRecord, ReservedIPRecord, SubnetRecord } from './underlay-records.js';

export interface HolderView {
  kind: BlockHolder['kind'];
  name: string;
  uid?: string;
  spec: UnderlaySpec;
  /** Absent when the stored object's addresses do not parse (it predates the webhook). */
  holder?: BlockHolder;
}

/** A claim as StatefulSet retention reads it. */
export interface ClaimView {
  name: string;
  inUse: AddressInUse;
  spec: IPClaim['spec'];
  bound: boolean;
}

function holderView(kind: BlockHolder['kind'], object: { metadata: { name: string; uid?: string | undefined }; spec: UnderlaySpec }): HolderView {
  const { name, uid } = object.metadata;
  const block = readUnderlayBlock(object.spec).block;
  return { kind, name, ...(uid ? { uid } : {}), spec: object.spec, ...(block ? { holder: { kind, name, cidr: block.cidr, usable: block.usable } } : {}) };
}

function poolView(record: SpiderIPPool & { metadata: { name: string } }): PoolView | undefined {
  const block = readUnderlayBlock(record.spec).block;
  if (!block) return undefined;
  const { name, labels, resourceVersion, deletionTimestamp } = record.metadata;
  return { name, spec: record.spec, block, deleting: Boolean(deletionTimestamp), labels: labels ?? {}, ...(resourceVersion ? { resourceVersion } : {}) };
}

/** A derived view, computed once per record (a changed object is a new record). */
function remembered<R extends object, V>(derive: (record: R) => V): (record: R) => V {
  const views = new WeakMap<R, V>();
  return (record) => {
    if (views.has(record)) return views.get(record) as V;
    const view = derive(record);
    views.set(record, view);
    return view;
  };
}

/** How long a deleted pool's or subnet's uid is remembered (ledger entries expire after 30 s). */
const GONE_KEPT_MS = 5 * 60_000;

const BY_POOL = 'pool';
const BY_BINDING = 'binding';
const BY_STATEFULSET = 'statefulset';
const BY_CIDR = 'cidr';

const namespaced = (namespace: string, name: string) => `${namespace}/${name}`;

function byCidr(object: { spec: { subnet?: string | null } }): string[] {
  const cidr = object.spec.subnet ? canonicalCidr(object.spec.subnet) : undefined;
  return cidr ? [cidr] : [];
}

export class UnderlayCache {
  readonly subnets: ResourceCache<SubnetRecord>;
  readonly pools: ResourceCache<PoolRecord>;
  readonly reserved: ResourceCache<ReservedIPRecord>;
  readonly claims: ResourceCache<IPClaim>;

  private readonly api: CustomObjectsApi;
  private readonly subnetView = remembered((record: SubnetRecord) => holderView('SpiderSubnet', record));
  private readonly poolHolder = remembered((record: PoolRecord) => holderView('SpiderIPPool', record));
  private readonly reservedHolder = remembered((record: ReservedIPRecord): ReservedHolder | undefined => {
    const set = readReservedIPs(record.spec).set;
    return set ? { name: record.metadata.name, set } : undefined;
  });
  private readonly poolViewOf = remembered(poolView);
  private poolMap: Map<string, PoolView> | undefined;
  /** Claimed addresses by family: allocation asks for each address it walks, in pools of tens of thousands of claims. */
  private readonly claimed: Record<IPFamily, Set<bigint>> = { 4: new Set(), 6: new Set() };
  /**
   * Addresses Spiderpool's records give pods, in pools it still holds (adoption has
   * not released them): in use from the first second of the install, counted per
   * address since two pools' records may name one.
   */
  private readonly spiderpoolHeld: Record<IPFamily, Map<bigint, number>> = { 4: new Map(), 6: new Map() };
  private readonly spiderpoolRecords = remembered((record: PoolRecord): AddressInUse[] =>
    heldBySpiderpool(record.metadata)
      ? readPoolAllocations(record.metadata.name, record.status?.allocatedIPs).records.map((r) => ({ address: r.address, pool: r.pool, pod: `${r.namespace}/${r.podName}` }))
      : [],
  );
  /** Uids of pools and subnets seen deleted, with when: their admission-ledger entries stop counting. */
  private readonly gone = new Map<string, number>();

  constructor(kubeConfig: KubeConfig, log: InformerLog) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    const source = (resource: typeof SPIDER_IPPOOL) => listWatch(kubeConfig, customObjectSource(kubeConfig, resource), log);
    this.subnets = new ResourceCache(source(SPIDER_SUBNET), SubnetRecord, SPIDER_SUBNET.kind, log).addIndex(BY_CIDR, byCidr);
    this.pools = new ResourceCache(source(SPIDER_IPPOOL), PoolRecord, SPIDER_IPPOOL.kind, log).addIndex(BY_CIDR, byCidr);
    this.reserved = new ResourceCache(source(SPIDER_RESERVED_IP), ReservedIPRecord, SPIDER_RESERVED_IP.kind, log);
    this.claims = new ResourceCache(source(IP_CLAIM), ClaimRecord, IP_CLAIM.kind, log)
      .addIndex(BY_POOL, (claim) => [claim.spec.pool])
      .addIndex(BY_BINDING, (claim) => [namespaced(claim.spec.namespace, claim.spec.bindingID)])
      .addIndex(BY_STATEFULSET, (claim) => (claim.spec.owner?.kind === 'StatefulSet' ? [namespaced(claim.spec.namespace, claim.spec.owner.name)] : []));
    this.pools.onChange(() => (this.poolMap = undefined));
    const rememberGone = (_: string, current: { metadata: { uid?: string | undefined } } | undefined, previous: { metadata: { uid?: string | undefined } } | undefined) => {
      if (current || !previous?.metadata.uid) return;
      const now = Date.now();
      this.gone.set(previous.metadata.uid, now);
      // Ledger entries live for seconds; a tombstone is kept well past that and then dropped.
      for (const [uid, at] of this.gone) if (now - at > GONE_KEPT_MS) this.gone.delete(uid);
    };
    this.pools.onChange(rememberGone);
    this.pools.onChange((_, current, previous) => {
      for (const held of previous ? this.spiderpoolRecords(previous) : []) {
        const counts = this.spiderpoolHeld[held.address.family];
        const left = (counts.get(held.address.value) ?? 1) - 1;
        if (left > 0) counts.set(held.address.value, left);
        else counts.delete(held.address.value);
      }
      for (const held of current ? this.spiderpoolRecords(current) : []) {
        const counts = this.spiderpoolHeld[held.address.family];
        counts.set(held.address.value, (counts.get(held.address.value) ?? 0) + 1);
      }
    });
    this.subnets.onChange(rememberGone);
    this.claims.onChange((_, claim, previous) => {
      const before = previous && claimInUse(previous);
      if (before) this.claimed[before.address.family].delete(before.address.value);
      const now = claim && claimInUse(claim);
      if (now) this.claimed[now.address.family].add(now.address.value);
    });
  }

  private get all() {
    return [this.subnets, this.pools, this.reserved, this.claims] as const;
  }

  async start(): Promise<void> {
    await Promise.all(this.all.map((cache) => cache.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((cache) => cache.stop()));
  }

  get hasSynced(): boolean {
    return this.all.every((cache) => cache.hasSynced);
  }

  // ---- subnets, pools and reserved IPs as admission reads them ----

  subnet(name: string): HolderView | undefined {
    const record = this.subnets.get(name);
    return record && this.subnetView(record);
  }

  /** Pools that parse, by name (rebuilt lazily after any pool changes). */
  poolViews(): ReadonlyMap<string, PoolView> {
    if (!this.poolMap) {
      this.poolMap = new Map();
      for (const record of this.pools.values()) {
        const view = this.poolViewOf(record);
        if (view) this.poolMap.set(view.name, view);
      }
    }
    return this.poolMap;
  }

  private reservedHolders(): ReservedHolder[] {
    return [...this.reserved.values()].flatMap((record) => this.reservedHolder(record) ?? []);
  }

  /** The SpiderReservedIP holding this address, if one does. */
  reservedBy(address: Address): string | undefined {
    return this.reservedHolders().find((r) => r.set.family === address.family && r.set.containsAddress(address))?.name;
  }

  /** Every reserved address of a family, as one set. */
  reservedSet(family: IPFamily): RangeSet {
    let set = RangeSet.empty(family);
    for (const r of this.reservedHolders()) if (r.set.family === family) set = set.union(r.set);
    return set;
  }

  /** The admission context, plus `pending` holders admitted elsewhere but maybe not yet seen here. */
  context(pending: readonly PendingHolder[] = []): UnderlayContext {
    const views = [...[...this.subnets.values()].map(this.subnetView), ...[...this.pools.values()].map(this.poolHolder)];
    return this.contextOf(views, pending, false);
  }

  /**
   * The admission context with pools and subnets read from the API now, for confirming
   * a denial: a pool deleted a moment ago may still be in the cache, and a ledger entry
   * whose object is not in the API (and is not being created) holds nothing.
   */
  async contextFromAPI(): Promise<(pending: readonly PendingHolder[]) => UnderlayContext> {
    const [subnets, pools] = await Promise.all([this.listRecords(SPIDER_SUBNET, SubnetRecord), this.listRecords(SPIDER_IPPOOL, PoolRecord)]);
    const views = [...subnets.map((r) => holderView('SpiderSubnet', r)), ...pools.map((r) => holderView('SpiderIPPool', r))];
    return (pending) => this.contextOf(views, pending, true);
  }

  private contextOf(views: readonly HolderView[], pending: readonly PendingHolder[], fresh: boolean): UnderlayContext {
    const holders = new Map<string, BlockHolder>();
    const uids = new Map<string, string | undefined>();
    for (const view of views) {
      if (view.holder) holders.set(holderKey(view), view.holder);
      uids.set(holderKey(view), view.uid);
    }
    const known: KnownHolders = { uids, gone: new Set(this.gone.keys()), fresh, now: Date.now() };
    // A pending entry may be newer than the cache (an update in flight): keep both views' addresses.
    for (const p of pending) {
      if (!stillPending(p, known)) continue;
      const { uid: _uid, recordedAt: _at, ...entry } = p;
      const cached = holders.get(holderKey(entry));
      holders.set(holderKey(entry), cached && cached.cidr.text === entry.cidr.text ? { ...entry, usable: cached.usable.union(entry.usable) } : entry);
    }
    return { holders: [...holders.values()], reserved: this.reservedHolders(), inUse: (pool) => this.inUse(pool) };
  }

  private async listRecords<S extends z.ZodType<{ metadata: { name: string; uid?: string | undefined }; spec: UnderlaySpec }>>(resource: typeof SPIDER_IPPOOL, schema: S): Promise<z.infer<S>[]> {
    const list = (await this.api.listClusterCustomObject(customObject(resource))) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = schema.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    });
  }

  subnetsForDefaults(): SubnetForDefaults[] {
    return [...this.subnets.values()].map((r) => ({ name: r.metadata.name, ...(r.metadata.uid ? { uid: r.metadata.uid } : {}), spec: r.spec }));
  }

  /** Pools and subnets whose spec.subnet is this network. */
  poolsInNetwork(cidr: string): PoolRecord[] {
    return this.pools.byIndex(BY_CIDR, cidr);
  }

  subnetsOfNetwork(cidr: string): SubnetRecord[] {
    return this.subnets.byIndex(BY_CIDR, cidr);
  }

  // ---- claims ----

  /** Is there a claim on this address (in any pool), or a record of Spiderpool's not yet adopted? */
  isClaimed(address: Address): boolean {
    return this.claimed[address.family].has(address.value) || this.spiderpoolHeld[address.family].has(address.value);
  }

  /** The claim on this address, if any. */
  claimAt(address: Address): IPClaim | undefined {
    return this.claims.get(addressToClaimName(address));
  }

  /** The addresses pods hold from a pool: its claims, and what Spiderpool recorded while it holds the pool. */
  inUse(pool: string): AddressInUse[] {
    const claimed = this.claims.byIndex(BY_POOL, pool).flatMap((claim) => claimInUse(claim) ?? []);
    const record = this.pools.get(pool);
    const held = record ? this.spiderpoolRecords(record).filter((h) => !this.claimed[h.address.family].has(h.address.value)) : [];
    return held.length ? [...claimed, ...held] : claimed;
  }

  /** Does Spiderpool still hold this pool (its finalizer is on it: adoption has not released it)? */
  heldBySpiderpool(pool: string): boolean {
    const record = this.pools.get(pool);
    return record ? heldBySpiderpool(record.metadata) : false;
  }

  /** Whether the pool has an address a pod could be given: more usable, unreserved addresses than claims. */
  hasFreeAddress(pool: string): boolean {
    const view = this.poolViews().get(pool);
    if (!view) return false;
    const usable = view.block.usable.difference(this.reservedSet(view.block.cidr.family));
    return usable.count() > BigInt(this.claimCount(pool));
  }

  /** How many claims a pool has (for denial messages). */
  claimCount(pool: string): number {
    return this.claims.countByIndex(BY_POOL, pool);
  }

  claimsOfPool(pool: string): IPClaim[] {
    return this.claims.byIndex(BY_POOL, pool);
  }

  claimsWithBinding(namespace: string, bindingID: string): IPClaim[] {
    return this.claims.byIndex(BY_BINDING, namespaced(namespace, bindingID));
  }

  claimsOfStatefulSet(namespace: string, name: string): IPClaim[] {
    return this.claims.byIndex(BY_STATEFULSET, namespaced(namespace, name));
  }

  /** Claims of a StatefulSet's ordinal, kept across pod restarts. */
  claimsOfOrdinal(namespace: string, statefulSet: string, ordinal: number): ClaimView[] {
    return this.claimsOfStatefulSet(namespace, statefulSet).flatMap((claim) => {
      const inUse = claim.spec.statefulSetOrdinal === ordinal ? claimInUse(claim) : undefined;
      return inUse ? [{ name: claim.metadata.name, inUse, spec: claim.spec, bound: Boolean(claim.status?.podUID) }] : [];
    });
  }

  // ---- fresh reads, for objects applied a moment ago that the watch has not brought yet ----

  /** Every pool, read from the API now; callers that ask while a read waits to be sent share it. */
  poolsFromAPI(): Promise<PoolView[]> {
    return this.allPools.read();
  }

  private readonly allPools = new FreshRead(() => this.listPools());

  /** Auto pools of a namespace's applications, read from the API now. */
  autoPoolsFromAPI(namespace: string): Promise<PoolView[]> {
    return this.listPools(`${AUTO_POOL_LABEL.appNamespace}=${namespace}`);
  }

  private async listPools(labelSelector?: string): Promise<PoolView[]> {
    const list = (await this.api.listClusterCustomObject({ ...customObject(SPIDER_IPPOOL), ...(labelSelector ? { labelSelector } : {}) })) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = PoolRecord.safeParse(item);
      return (parsed.success && poolView(parsed.data)) || [];
    });
  }

  /** Subnets read from the API now, for when the cache may lag a subnet created a moment ago. */
  async subnetsFromAPI(): Promise<SubnetForDefaults[]> {
    const list = (await this.api.listClusterCustomObject(customObject(SPIDER_SUBNET))) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = SpiderSubnet.safeParse(item);
      if (!parsed.success) return [];
      const { name = '', uid } = parsed.data.metadata;
      return [{ name, ...(uid ? { uid } : {}), spec: parsed.data.spec }];
    });
  }
}
