// What the webhook knows of the cluster's underlay: subnets, pools, reserved IPs
// and the claims on addresses, kept by informers and indexed for admission.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AddressInUse, BlockHolder, ReservedHolder } from '../ipam/address-conflicts.js';
import type { Address, IPFamily } from '../ipam/address.js';
import { ObjectMeta } from '../ipam/object-meta.js';
import type { PoolView } from '../ipam/pool-candidates.js';
import { AUTO_POOL_LABEL } from '../ipam/auto-pool.js';
import { RangeSet } from '../ipam/range-set.js';
import { IPClaim, claimInUse } from '../ipam/ip-claim.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { SpiderReservedIP, readReservedIPs } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';
import { readUnderlayBlock, type UnderlaySpec } from '../ipam/underlay-block.js';
import type { SubnetForDefaults } from '../ipam/underlay-defaults.js';
import type { UnderlayContext } from '../ipam/underlay-admission.js';
import { foundOrUndefined } from './api-status.js';
import { FreshRead } from './fresh-read.js';
import { customObjectSource, listWatch, namespaceSource, type ListWatch, type ListWatchSource } from './list-watch.js';
import { IPCLAIMS, NETWORK_ATTACHMENT_DEFINITIONS, ResourceInformer, SPIDER_IPPOOLS, SPIDER_RESERVED_IPS, SPIDER_SUBNETS } from './resource-informer.js';

const Namespace = z.looseObject({ metadata: ObjectMeta });
type Namespace = z.infer<typeof Namespace>;
const NetworkAttachmentDefinition = z.looseObject({ metadata: ObjectMeta, spec: z.looseObject({ config: z.string().optional() }).optional() });
type NetworkAttachmentDefinition = z.infer<typeof NetworkAttachmentDefinition>;

export interface HolderView {
  name: string;
  uid?: string;
  spec: UnderlaySpec;
  /** Absent when the stored object does not parse (it predates the webhook). */
  holder?: BlockHolder;
}

function holderView(kind: BlockHolder['kind']) {
  return (object: { metadata: { name?: string; uid?: string }; spec: UnderlaySpec }): HolderView => {
    const name = object.metadata.name ?? '';
    const block = readUnderlayBlock(object.spec).block;
    return {
      name,
      ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
      spec: object.spec,
      ...(block ? { holder: { kind, name, cidr: block.cidr, usable: block.usable } } : {}),
    };
  };
}

export interface ClaimView {
  name: string;
  inUse: AddressInUse;
  spec: IPClaim['spec'];
  bound: boolean;
}

export interface NamespaceView {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A NetworkAttachmentDefinition as pod admission needs it: does Underpin do its IPAM, with which default pools? */
export interface NetworkView {
  key: string;
  underpinIPAM?: { ipv4: string[]; ipv6: string[] };
}

const UNDERPIN_IPAM_TYPES = new Set(['underpin', 'spiderpool']);

function networkView(nad: NetworkAttachmentDefinition): NetworkView {
  const key = `${nad.metadata.namespace ?? ''}/${nad.metadata.name ?? ''}`;
  const ipam = findIPAM(nad.spec?.config);
  if (!ipam || !UNDERPIN_IPAM_TYPES.has(String(ipam.type))) return { key };
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { key, underpinIPAM: { ipv4: names(ipam.default_ipv4_ippool), ipv6: names(ipam.default_ipv6_ippool) } };
}

/** The IPAM section of a CNI config or conflist (first plugin that has one). */
function findIPAM(config: string | undefined): Record<string, unknown> | undefined {
  if (!config) return undefined;
  let json: { ipam?: Record<string, unknown>; plugins?: { ipam?: Record<string, unknown> }[] };
  try {
    json = JSON.parse(config);
  } catch {
    return undefined; // not ours to judge; Multus reports it
  }
  return json.ipam ?? json.plugins?.find((p) => p.ipam)?.ipam;
}

export interface PoolEntry extends HolderView {
  /** Absent when the stored pool does not parse. */
  pool?: PoolView;
}

function poolEntry(object: SpiderIPPool): PoolEntry {
  const view = holderView('SpiderIPPool')(object);
  const block = readUnderlayBlock(object.spec).block;
  if (!block) return view;
  const { labels, resourceVersion, deletionTimestamp } = object.metadata;
  return {
    ...view,
    pool: {
      name: view.name,
      spec: object.spec,
      block,
      deleting: Boolean(deletionTimestamp),
      labels: labels ?? {},
      ...(resourceVersion ? { resourceVersion } : {}),
    },
  };
}

export interface SharedListWatches {
  subnets?: ListWatch;
  pools?: ListWatch;
  reserved?: ListWatch;
  claims?: ListWatch;
}

export class UnderlayCache {
  readonly subnets: ResourceInformer<SpiderSubnet, HolderView>;
  readonly pools: ResourceInformer<SpiderIPPool, PoolEntry>;
  readonly namespaces: ResourceInformer<Namespace, NamespaceView>;
  readonly networks: ResourceInformer<NetworkAttachmentDefinition, NetworkView>;
  readonly reserved: ResourceInformer<SpiderReservedIP, ReservedHolder>;
  readonly claims: ResourceInformer<IPClaim, ClaimView>;
  /** pool name → claim name → the address in use */
  private readonly claimsByPool = new Map<string, Map<string, AddressInUse>>();

  private readonly api: CustomObjectsApi;
  private readonly core: CoreV1Api;

  /** `shared`: list+watches another component already runs (the reconciler's caches), used instead of new ones. */
  constructor(kubeConfig: KubeConfig, log: Logger, shared: SharedListWatches = {}) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    const watch = (source: ListWatchSource) => listWatch(kubeConfig, source, log);
    this.subnets = new ResourceInformer(shared.subnets ?? watch(customObjectSource(kubeConfig, SPIDER_SUBNETS)), SpiderSubnet, holderView('SpiderSubnet'), log);
    this.pools = new ResourceInformer(shared.pools ?? watch(customObjectSource(kubeConfig, SPIDER_IPPOOLS)), SpiderIPPool, poolEntry, log);
    this.namespaces = new ResourceInformer(watch(namespaceSource(kubeConfig)), Namespace, (ns) => ({
      name: ns.metadata.name ?? '',
      labels: ns.metadata.labels ?? {},
      annotations: ns.metadata.annotations ?? {},
    }), log);
    this.networks = new ResourceInformer(watch(customObjectSource(kubeConfig, NETWORK_ATTACHMENT_DEFINITIONS)), NetworkAttachmentDefinition, networkView, log);
    this.reserved = new ResourceInformer(shared.reserved ?? watch(customObjectSource(kubeConfig, SPIDER_RESERVED_IPS)), SpiderReservedIP, (r) => {
      const set = readReservedIPs(r.spec).set;
      return set ? { name: r.metadata.name ?? '', set } : undefined;
    }, log);
    this.claims = new ResourceInformer(shared.claims ?? watch(customObjectSource(kubeConfig, IPCLAIMS)), IPClaim, (claim) => {
      const inUse = claimInUse(claim);
      if (!inUse) return undefined;
      return {
        name: claim.metadata.name,
        inUse,
        spec: claim.spec,
        bound: Boolean(claim.status?.podUID),
      };
    }, log);
    this.claims.onChange((name, view, previous) => this.indexClaim(name, view, previous));
    this.pools.onChange(() => (this.poolMap = undefined));
  }

  private poolMap: Map<string, PoolView> | undefined;

  /** Pools that parse, by name (rebuilt lazily after any pool changes). */
  poolViews(): ReadonlyMap<string, PoolView> {
    if (!this.poolMap) {
      this.poolMap = new Map();
      for (const entry of this.pools.values()) if (entry.pool) this.poolMap.set(entry.name, entry.pool);
    }
    return this.poolMap;
  }

  /** Every reserved address of a family, as one set. */
  reservedSet(family: IPFamily): RangeSet {
    let set = RangeSet.empty(family);
    for (const r of this.reserved.values()) if (r.set.family === family) set = set.union(r.set);
    return set;
  }

  /** Is there a claim on this address (in any pool)? */
  isClaimed(address: Address): boolean {
    return this.claimedByFamily[address.family].has(address.value);
  }

  private readonly claimedByFamily: Record<IPFamily, Set<bigint>> = { 4: new Set(), 6: new Set() };

  // Read-through for objects applied together with the pods that use them (one
  // `kubectl apply -f dir/`): the pod's review can come before the watch event.

  /** A namespace from the cache, or from the API when the cache has not seen it yet. */
  namespaceOrRead(name: string): Promise<NamespaceView | undefined> {
    return this.namespaces.getOrRead(name, () => foundOrUndefined(this.core.readNamespace({ name })));
  }

  /** A NetworkAttachmentDefinition (`namespace/name`) from the cache, or from the API when the cache has not seen it yet. */
  networkOrRead(key: string): Promise<NetworkView | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    return this.networks.getOrRead(key, () => foundOrUndefined(this.api.getNamespacedCustomObject({ ...NETWORK_ATTACHMENT_DEFINITIONS, namespace, name })));
  }

  /** Every pool, read from the API now; callers that ask while a read waits to be sent share it. */
  poolsFromAPI(): Promise<PoolView[]> {
    return this.allPools.read();
  }

  private readonly allPools = new FreshRead(() => this.listPools());

  private async listPools(labelSelector?: string): Promise<PoolView[]> {
    const list = (await this.api.listClusterCustomObject({ ...SPIDER_IPPOOLS, ...(labelSelector ? { labelSelector } : {}) })) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = SpiderIPPool.safeParse(item);
      const pool = parsed.success ? poolEntry(parsed.data).pool : undefined;
      return pool ? [pool] : [];
    });
  }

  /** Claims of a StatefulSet's ordinal, kept across pod restarts. */
  claimsOfOrdinal(namespace: string, statefulSet: string, ordinal: number): ClaimView[] {
    const out: ClaimView[] = [];
    for (const claim of this.claims.values()) {
      const s = claim.spec;
      if (s.namespace === namespace && s.owner?.kind === 'StatefulSet' && s.owner.name === statefulSet && s.statefulSetOrdinal === ordinal) out.push(claim);
    }
    return out;
  }

  /** The addresses pods hold from a pool. */
  inUse(pool: string): AddressInUse[] {
    return [...(this.claimsByPool.get(pool)?.values() ?? [])];
  }

  /** How many claims a pool has (for denial messages). */
  claimsInPool(pool: string): number {
    return this.claimsByPool.get(pool)?.size ?? 0;
  }

  private indexClaim(name: string, view: ClaimView | undefined, previous: ClaimView | undefined): void {
    if (previous) {
      this.claimedByFamily[previous.inUse.address.family].delete(previous.inUse.address.value);
      this.claimsByPool.get(previous.inUse.pool)?.delete(name);
    }
    if (!view) return;
    this.claimedByFamily[view.inUse.address.family].add(view.inUse.address.value);
    let byName = this.claimsByPool.get(view.inUse.pool);
    if (!byName) this.claimsByPool.set(view.inUse.pool, (byName = new Map()));
    byName.set(name, view.inUse);
  }

  async start(): Promise<void> {
    await Promise.all([this.subnets.start(), this.pools.start(), this.reserved.start(), this.claims.start(), this.namespaces.start(), this.networks.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.subnets.stop(), this.pools.stop(), this.reserved.stop(), this.claims.stop(), this.namespaces.stop(), this.networks.stop()]);
  }

  get hasSynced(): boolean {
    return [this.subnets, this.pools, this.reserved, this.claims, this.namespaces, this.networks].every((i) => i.hasSynced);
  }

  /** The admission context, plus `pending` holders admitted elsewhere but maybe not yet seen here. */
  context(pending: readonly BlockHolder[] = []): UnderlayContext {
    const holders = new Map<string, BlockHolder>();
    const key = (h: BlockHolder) => `${h.kind}/${h.name}`;
    for (const view of [...this.subnets.values(), ...this.pools.values()]) if (view.holder) holders.set(key(view.holder), view.holder);
    // A pending entry may be newer than the cache (an update in flight): keep both views' addresses.
    for (const p of pending) {
      const cached = holders.get(key(p));
      holders.set(key(p), cached && cached.cidr.text === p.cidr.text ? { ...p, usable: cached.usable.union(p.usable) } : p);
    }
    return {
      holders: [...holders.values()],
      reserved: [...this.reserved.values()],
      inUse: (pool) => this.inUse(pool),
    };
  }

  subnetsForDefaults(): SubnetForDefaults[] {
    return [...this.subnets.values()].map((v) => ({ name: v.name, ...(v.uid ? { uid: v.uid } : {}), spec: v.spec }));
  }

  /** Auto pools of a namespace's applications, read from the API now. */
  autoPoolsFromAPI(namespace: string): Promise<PoolView[]> {
    return this.listPools(`${AUTO_POOL_LABEL.appNamespace}=${namespace}`);
  }

  /** Subnets read from the API now, for when the cache may lag a subnet created a moment ago. */
  async subnetsFromAPI(): Promise<SubnetForDefaults[]> {
    const list = (await this.api.listClusterCustomObject(SPIDER_SUBNETS)) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = SpiderSubnet.safeParse(item);
      if (!parsed.success) return [];
      const { name = '', uid } = parsed.data.metadata;
      return [{ name, ...(uid ? { uid } : {}), spec: parsed.data.spec }];
    });
  }
}
