// The allocator: for each NIC and IP family of a pod, an address from the first
// candidate pool that has one free, locked through a ClaimStore. It never knows where
// claims live (the API, a dry run's record, a test's map): the caller picks the
// store, and gives back what the allocator made when it denies the pod later.
import { familyName, type Address, type IPFamily } from './address.js';
import { chooseFreeAddress } from './choose-address.js';
import type { ClaimRequest, ClaimStore, ReservedClaim } from './claim-store.js';
import { poolSourceName, type InterfaceRequest } from './pod-network-request.js';
import { poolCandidates, type CandidateContext, type PoolView } from './pool-candidates.js';
import type { RangeSet } from './range-set.js';
import { err, ok, type Result } from './result.js';
import { retainedAddress, type OrdinalClaim } from './statefulset-retention.js';

export const FAMILIES = [
  [4, 'ipv4'],
  [6, 'ipv6'],
] as const;

/** What the allocator reads of the cluster: caches, and the API where a cache may lag. */
export interface AllocatorView {
  reservedSet(family: IPFamily): RangeSet;
  /** Claimed already, as far as this process knows (its cache, and its own claims in flight). */
  isClaimed(address: Address): boolean;
  claimsInPool(pool: string): number;
  /** Every pool, read from the API now: asked before calling a pool unknown, which may have been created a moment ago. */
  poolsFromAPI(): Promise<PoolView[]>;
  /** The addresses of `family` that pool updates in flight remove; asked after a claim was made, so it sees every removal recorded before it. */
  addressesLeavingPool(pool: string, family: IPFamily): Promise<RangeSet>;
}

export interface AllocatorBackend {
  view: AllocatorView;
  store: ClaimStore;
}

/** What every claim of the pod records, besides its address, pool and interface. */
export type PodClaim = Omit<ClaimRequest, 'address' | 'pool' | 'interface'>;

export interface PodAllocationRequest {
  /** The pod's Underpin NICs, each with the pools to try per family. */
  nics: readonly InterfaceRequest[];
  pools: ReadonlyMap<string, PoolView>;
  /** The pod as pool selection sees it; each NIC adds its network. */
  selection: Omit<CandidateContext, 'network'>;
  claim: PodClaim;
  /** A StatefulSet ordinal's claims from its earlier pod: their addresses come back. */
  retained: readonly OrdinalClaim[];
}

/**
 * Why a NIC gets no address: a pool it names does not exist, none of the pools it
 * names may serve it (family, affinity, disabled…), or those that may are full. Only
 * the last can change without the pod changing: a workload is warned of it, not refused.
 */
export interface AllocationDenial {
  reason: 'unknown-pool' | 'no-usable-pool' | 'pool-exhausted';
  message: string;
}

export interface Allocation {
  nic: InterfaceRequest;
  family: IPFamily;
  pool: PoolView;
  address: Address;
  /** The claim made for it; none for a StatefulSet claim kept from the ordinal's earlier pod (not ours to roll back). */
  claim?: ReservedClaim;
}

/**
 * One address per NIC and family, the jobs run in parallel. On a denial (the error)
 * or a failure (thrown), every claim made is given back first: the caller holds
 * claims only for the allocations it gets.
 */
export async function allocatePod(request: PodAllocationRequest, backend: AllocatorBackend): Promise<Result<Allocation[], AllocationDenial>> {
  const jobs = request.nics.flatMap((nic) => FAMILIES.filter(([, key]) => nic[key].length > 0).map(([family]) => allocateNic(request, nic, family, backend)));
  const results = await Promise.allSettled(jobs);
  const made = results.flatMap((r) => (r.status === 'fulfilled' && r.value.ok ? [r.value.value] : []));
  // The first job that failed, in NIC order, answers for all.
  for (const r of results) {
    if (r.status === 'fulfilled' && r.value.ok) continue;
    await releaseAllocations(made, backend.store);
    if (r.status === 'rejected') throw r.reason;
    if (!r.value.ok) return r.value;
  }
  return ok(made);
}

/** Gives back the claims made for `allocations`; a release that fails leaves its claim to the orphan TTL. */
export async function releaseAllocations(allocations: readonly Allocation[], store: ClaimStore): Promise<void> {
  await Promise.allSettled(allocations.flatMap((a) => (a.claim ? [store.release(a.claim.address, a.claim.uid)] : [])));
}

async function allocateNic(request: PodAllocationRequest, nic: InterfaceRequest, family: IPFamily, backend: AllocatorBackend): Promise<Result<Allocation, AllocationDenial>> {
  const names = nic[family === 4 ? 'ipv4' : 'ipv6'];
  const ctx: CandidateContext = { ...request.selection, ...(nic.network ? { network: nic.network } : {}) };
  let candidates = poolCandidates(names, family, request.pools, ctx);
  if (candidates.unknown.length > 0 || candidates.pools.length === 0) {
    // Applied together with the pod (one kubectl apply), a pool can reach us before
    // its watch event: look at the API before denying for want of one.
    const live = await backend.view.poolsFromAPI();
    candidates = poolCandidates(names, family, new Map([...request.pools, ...live.map((p) => [p.name, p] as const)]), ctx);
  }
  if (candidates.unknown.length > 0) {
    const which = candidates.unknown.map((n) => `"${n}"`).join(', ');
    return err({ reason: 'unknown-pool', message: `${familyName(family)} pool ${which} for interface ${nic.interface} does not exist (named by ${poolSourceName(nic)}); create it or fix the name` });
  }
  const kept = retainedAddress(request.retained, { interface: nic.interface, family, candidates: candidates.pools });
  if (kept) return ok({ nic, family, ...kept });
  const full: string[] = [];
  for (const pool of candidates.pools) {
    const claim = await claimInPool({ pool, family, claim: { ...request.claim, pool: pool.name, interface: nic.interface }, seed: `${request.claim.bindingID}/${nic.interface}` }, backend);
    if (claim) return ok({ nic, family, pool, address: claim.address, claim });
    // No free address left means all are in use, though the claim cache may not show this replica's newest claims yet.
    const total = capacity(pool, family, backend.view);
    const claims = BigInt(backend.view.claimsInPool(pool.name));
    full.push(poolFullMessage(pool.name, family, claims > total ? claims : total, total));
  }
  const skipped = candidates.skipped.map((s) => `${s.pool} ${s.reason}`);
  const why = [...full, ...skipped].join('; ') || `no pool matches ${names.join(', ')}`;
  const message = `no ${familyName(family)} address for interface ${nic.interface}: ${why}; ${full.length > 0 ? 'free an address or add addresses to the pool' : `fix ${poolSourceName(nic)}`}`;
  return err({ reason: full.length > 0 ? 'pool-exhausted' : 'no-usable-pool', message });
}

function poolFullMessage(pool: string, family: IPFamily, inUse: bigint, total: bigint): string {
  return `${pool} has no free ${familyName(family)} address (${inUse} of ${total} in use)`;
}

const POOL_FULL = /(?:^|[\s:;])([a-z0-9][-a-z0-9.]*) has no free IPv[46] address \(/g;

/**
 * The pools a denial (or a controller's copy of it, as a ReplicaSet's ReplicaFailure
 * condition carries it) names as out of addresses: what a release in them may cure.
 */
export function poolsReportedFull(message: string): string[] {
  return [...new Set([...message.matchAll(POOL_FULL)].map((m) => m[1]!))];
}

function capacity(pool: PoolView, family: IPFamily, view: AllocatorView): bigint {
  return pool.block.usable.difference(view.reservedSet(family)).count();
}

export interface PoolClaim {
  pool: PoolView;
  family: IPFamily;
  claim: Omit<ClaimRequest, 'address'>;
  /** Where in the pool the search starts (see chooseFreeAddress). */
  seed: string;
}

/**
 * Claims a free address of the pool; undefined when the pool is full. A lost race
 * (claimed by another replica first) takes the next address; a claim on an address a
 * pool update is removing is given back, and the search goes on in what stays.
 */
export async function claimInPool({ pool, family, claim, seed }: PoolClaim, { view, store }: AllocatorBackend): Promise<ReservedClaim | undefined> {
  let available = pool.block.usable.difference(view.reservedSet(family));
  const lost = new Set<bigint>();
  for (;;) {
    const address = chooseFreeAddress(available, (a) => lost.has(a.value) || view.isClaimed(a), seed);
    if (!address) return undefined;
    const reserved = await store.reserve({ ...claim, address });
    if (!reserved) {
      lost.add(address.value);
      continue;
    }
    try {
      const leaving = await view.addressesLeavingPool(pool.name, family);
      if (!leaving.containsAddress(address)) return reserved;
      await store.release(reserved.address, reserved.uid);
      available = available.difference(leaving);
    } catch (error) {
      // Nobody else knows of this claim yet: give it back before failing.
      await store.release(reserved.address, reserved.uid).catch(() => undefined);
      throw error;
    }
  }
}
