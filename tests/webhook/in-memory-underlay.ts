// An UnderlayAdmissionState over plain objects, for testing the webhook's
// handlers without a cluster (as host-local tests its allocator with a fake store).
import type { AddressInUse, BlockHolder, ReservedHolder } from '../../ipam/address-conflicts.js';
import type { RangeSet } from '../../ipam/range-set.js';
import { readReservedIPs } from '../../ipam/spider-reserved-ip.js';
import { readUnderlayBlock, type UnderlaySpec } from '../../ipam/underlay-block.js';
import type { Verdict } from '../../ipam/underlay-admission.js';
import type { SubnetForDefaults } from '../../ipam/underlay-defaults.js';
import type { UnderlayAdmissionState } from '../../webhook/spider-resources.js';
import type { PendingHolder } from '../../kube/pending-holders.js';

interface Stored {
  metadata: { name: string; uid?: string };
  spec: UnderlaySpec;
}

export class InMemoryUnderlay implements UnderlayAdmissionState {
  hasSynced = true;
  subnets: Stored[] = [];
  pools: Stored[] = [];
  reserved: { metadata: { name: string }; spec: { ips: string[] } }[] = [];
  inUse: AddressInUse[] = [];
  /** What admit() recorded, as the ledger would. */
  recorded: PendingHolder[] = [];

  private holders(): BlockHolder[] {
    const toHolder = (kind: BlockHolder['kind']) => (o: Stored) => {
      const block = readUnderlayBlock(o.spec).block;
      return block ? [{ kind, name: o.metadata.name, cidr: block.cidr, usable: block.usable }] : [];
    };
    return [...this.subnets.flatMap(toHolder('SpiderSubnet')), ...this.pools.flatMap(toHolder('SpiderIPPool'))];
  }

  context(pending: readonly PendingHolder[] = []) {
    const reserved: ReservedHolder[] = this.reserved.flatMap((r) => {
      const set = readReservedIPs(r.spec).set;
      return set ? [{ name: r.metadata.name, set }] : [];
    });
    return {
      holders: [...this.holders(), ...pending.map(({ uid: _uid, recordedAt: _at, ...holder }) => holder)],
      reserved,
      inUse: (pool: string) => this.inUse.filter((u) => u.pool === pool),
    };
  }

  /** Nothing here lags: the API's view is the same objects. */
  async contextFromAPI() {
    return (pending: readonly PendingHolder[]) => this.context(pending);
  }

  async subnetsForDefaults(): Promise<SubnetForDefaults[]> {
    return this.subnets.map((s) => ({ name: s.metadata.name, ...(s.metadata.uid ? { uid: s.metadata.uid } : {}), spec: s.spec }));
  }

  /** Fences fenceRemoval() recorded and not lifted, by request id. */
  fences = new Map<string, { pool: string; removed: RangeSet }>();

  async fenceRemoval(request: { id: string; pool: string; removed: RangeSet; dryRun: boolean }) {
    if (!request.dryRun) this.fences.set(request.id, { pool: request.pool, removed: request.removed });
    const inUse = this.inUse.filter((u) => u.pool === request.pool && request.removed.containsAddress(u.address));
    return { inUse, lift: async () => void this.fences.delete(request.id) };
  }

  async admit(decide: (pending: PendingHolder[]) => Verdict, options: { dryRun?: boolean; uid?: string }): Promise<Verdict> {
    const verdict = decide([...this.recorded]);
    if (verdict.allowed && verdict.holder && !options.dryRun) this.recorded.push({ ...verdict.holder, ...(options.uid ? { uid: options.uid } : {}), recordedAt: Date.now() });
    return verdict;
  }
}
