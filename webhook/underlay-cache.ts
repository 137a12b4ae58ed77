// What the webhook knows of the cluster's underlay: subnets, pools, reserved IPs
// and the claims on addresses, kept by informers and indexed for admission.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AddressInUse, BlockHolder, ReservedHolder } from '../ipam/address-conflicts.js';
import { IPClaim, claimedAddress } from '../ipam/ip-claim.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { SpiderReservedIP, readReservedIPs } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';
import { readUnderlayBlock, type UnderlaySpec } from '../ipam/underlay-block.js';
import type { SubnetForDefaults } from '../ipam/underlay-defaults.js';
import type { UnderlayContext } from '../ipam/underlay-admission.js';
import { IPCLAIMS, ResourceInformer, SPIDER_IPPOOLS, SPIDER_RESERVED_IPS, SPIDER_SUBNETS } from './resource-informer.js';

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

interface ClaimView {
  name: string;
  inUse: AddressInUse;
}

export class UnderlayCache {
  readonly subnets: ResourceInformer<SpiderSubnet, HolderView>;
  readonly pools: ResourceInformer<SpiderIPPool, HolderView>;
  readonly reserved: ResourceInformer<SpiderReservedIP, ReservedHolder>;
  readonly claims: ResourceInformer<IPClaim, ClaimView>;
  /** pool name → claim name → the address in use */
  private readonly claimsByPool = new Map<string, Map<string, AddressInUse>>();

  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, log: Logger) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.subnets = new ResourceInformer(kubeConfig, SPIDER_SUBNETS, SpiderSubnet, holderView('SpiderSubnet'), log);
    this.pools = new ResourceInformer(kubeConfig, SPIDER_IPPOOLS, SpiderIPPool, holderView('SpiderIPPool'), log);
    this.reserved = new ResourceInformer(kubeConfig, SPIDER_RESERVED_IPS, SpiderReservedIP, (r) => {
      const set = readReservedIPs(r.spec).set;
      return set ? { name: r.metadata.name ?? '', set } : undefined;
    }, log);
    this.claims = new ResourceInformer(kubeConfig, IPCLAIMS, IPClaim, (claim) => {
      const address = claimedAddress(claim);
      if (!address) return undefined;
      const pod = claim.status?.podName ? `${claim.spec.namespace}/${claim.status.podName}` : undefined;
      return { name: claim.metadata.name ?? '', inUse: { address, pool: claim.spec.pool, ...(pod ? { pod } : {}) } };
    }, log);
    this.claims.onChange((name, view) => this.indexClaim(name, view));
  }

  private readonly poolOfClaim = new Map<string, string>();

  private indexClaim(name: string, view: ClaimView | undefined): void {
    const previousPool = this.poolOfClaim.get(name);
    if (previousPool !== undefined) this.claimsByPool.get(previousPool)?.delete(name);
    if (!view) {
      this.poolOfClaim.delete(name);
      return;
    }
    this.poolOfClaim.set(name, view.inUse.pool);
    let byName = this.claimsByPool.get(view.inUse.pool);
    if (!byName) this.claimsByPool.set(view.inUse.pool, (byName = new Map()));
    byName.set(name, view.inUse);
  }

  async start(): Promise<void> {
    await Promise.all([this.subnets.start(), this.pools.start(), this.reserved.start(), this.claims.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.subnets.stop(), this.pools.stop(), this.reserved.stop(), this.claims.stop()]);
  }

  get hasSynced(): boolean {
    return this.subnets.hasSynced && this.pools.hasSynced && this.reserved.hasSynced && this.claims.hasSynced;
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
      inUse: (pool) => [...(this.claimsByPool.get(pool)?.values() ?? [])],
    };
  }

  subnetsForDefaults(): SubnetForDefaults[] {
    return [...this.subnets.values()].map((v) => ({ name: v.name, ...(v.uid ? { uid: v.uid } : {}), spec: v.spec }));
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
