// SpiderIPPool.status and SpiderSubnet.status, derived from the objects alone (pools,
// subnets, reserved IPs, claims). Pure; the status controller writes what differs.
//
// Shapes follow upstream Spiderpool v2beta1: allocatedIPs and controlledIPPools are
// JSON-encoded strings. Counts are numbers of addresses; a range too large for a JSON
// number (an IPv6 /64) is reported as Number.MAX_SAFE_INTEGER, which int64 holds.
import { compareAddresses, parseAddress, type IPFamily } from '../ipam/address.js';
import { AUTO_POOL_LABEL } from '../ipam/auto-pool.js';
import { RangeSet } from '../ipam/range-set.js';
import { readReservedIPs } from '../ipam/spider-reserved-ip.js';
import { readUnderlayBlock, type UnderlayBlock } from '../ipam/underlay-block.js';
import type { IPClaim } from '../ipam/ip-claim.js';
import type { PoolRecord, ReservedIPRecord, SubnetRecord } from '../kube/underlay-records.js';

export type ReservedSets = Readonly<Record<IPFamily, RangeSet>>;

/** Every SpiderReservedIP's addresses, by family; unreadable ones are skipped (the webhook refuses them). */
export function reservedSets(records: Iterable<ReservedIPRecord>): ReservedSets {
  let v4 = RangeSet.empty(4);
  let v6 = RangeSet.empty(6);
  for (const record of records) {
    const read = readReservedIPs(record.spec);
    if (!read.set) continue;
    if (read.family === 4) v4 = v4.union(read.set);
    else v6 = v6.union(read.set);
  }
  return { 4: v4, 6: v6 };
}

export function countOf(set: RangeSet): number {
  const n = set.count();
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** Addresses a pool or subnet can hand out: ips − excludeIPs − reserved IPs. */
export function usableAddresses(block: UnderlayBlock, reserved: ReservedSets): RangeSet {
  return block.usable.difference(reserved[block.family]);
}

/** One entry of SpiderIPPool.status.allocatedIPs (upstream keys, plus node). */
export interface AllocatedIP {
  interface: string;
  /** `namespace/name`, once the pod is known. */
  pod?: string;
  podUid?: string;
  node?: string;
}

export interface PoolStatusFields {
  allocatedIPCount: number;
  totalIPCount: number;
  /**
   * JSON: address → AllocatedIP, in address order; null (removed by the merge patch)
   * when it would be larger than ALLOCATED_IPS_MAX_BYTES.
   */
  allocatedIPs: string | null;
}

/**
 * The largest allocatedIPs written. etcd refuses an object over 1.5 MiB
 * (--max-request-bytes), and the record is some 130 bytes an address: a pool past
 * about 8,000 bound addresses could never have its status written again, counts
 * included. Past this size the list is left out and the counts stay exact; the
 * claims are the record (`kubectl get ipclaims -l underpin.dev/pool=NAME`).
 */
export const ALLOCATED_IPS_MAX_BYTES = 1024 * 1024;
/** The shortest entry there is (`"1.2.3.4":{"interface":""},`): more claims than budget / this can never fit. */
const SHORTEST_ENTRY_BYTES = 28;

export interface SubnetStatusFields {
  allocatedIPCount: number;
  totalIPCount: number;
  /** JSON: pool name → { ips, application? }, in name order. */
  controlledIPPools: string;
}

function allocation(claim: IPClaim): AllocatedIP {
  const status = claim.status ?? undefined;
  return {
    interface: claim.spec.interface,
    ...(status?.podName ? { pod: `${claim.spec.namespace}/${status.podName}` } : {}),
    ...(status?.podUID ? { podUid: status.podUID } : {}),
    ...(status?.node ? { node: status.node } : {}),
  };
}

/**
 * The pool's status; undefined when its spec cannot be read (the webhook refuses such
 * pools; one written before Underpin is left alone). Every claim naming the pool
 * counts — bound, or reserved for a pod on its way or a StatefulSet ordinal — because
 * each one is an address the pool cannot hand out again.
 */
export function poolStatusFor(pool: PoolRecord, claims: readonly IPClaim[], reserved: ReservedSets, maxBytes = ALLOCATED_IPS_MAX_BYTES): PoolStatusFields | undefined {
  const { block } = readUnderlayBlock(pool.spec);
  if (!block) return undefined;
  const mine = claims.filter((claim) => claim.spec.pool === pool.metadata.name);
  const totalIPCount = countOf(usableAddresses(block, reserved));
  // Counted by address, as the list is keyed: claims that name one address count once.
  const count = new Set(mine.map((claim) => claim.spec.address)).size;
  return { allocatedIPCount: count, totalIPCount, allocatedIPs: count * SHORTEST_ENTRY_BYTES > maxBytes ? null : allocatedIPsText(mine, maxBytes) };
}

/** The JSON map in address order, or null past maxBytes. Each address is parsed once: a 200,000-claim pool sorts in milliseconds, not seconds. */
function allocatedIPsText(claims: readonly IPClaim[], maxBytes: number): string | null {
  const keyed = claims.map((claim) => ({ claim, address: parseAddress(claim.spec.address) }));
  keyed.sort((a, b) => {
    if (a.address.ok && b.address.ok) return compareAddresses(a.address.value, b.address.value);
    if (a.address.ok !== b.address.ok) return a.address.ok ? -1 : 1;
    return a.claim.spec.address.localeCompare(b.claim.spec.address);
  });
  const allocated: Record<string, AllocatedIP> = {};
  for (const { claim } of keyed) allocated[claim.spec.address] = allocation(claim);
  const text = JSON.stringify(allocated);
  return text.length > maxBytes ? null : text;
}

/** Upstream's application key of an auto pool: `{group}_{version}_{kind}_{namespace}_{name}`. */
export function applicationOf(labels: Readonly<Record<string, string>> | null | undefined): string | undefined {
  const gv = labels?.[AUTO_POOL_LABEL.appGV];
  const kind = labels?.[AUTO_POOL_LABEL.appKind];
  const namespace = labels?.[AUTO_POOL_LABEL.appNamespace];
  const name = labels?.[AUTO_POOL_LABEL.appName];
  if (!gv || !kind || !namespace || !name) return undefined;
  return `${gv}_${kind}_${namespace}_${name}`;
}

/** The pools in the subnet's network (same CIDR), by canonical CIDR text. */
export function poolsOfSubnet(subnet: SubnetRecord, pools: Iterable<PoolRecord>): PoolRecord[] {
  const { block } = readUnderlayBlock(subnet.spec);
  if (!block) return [];
  const out: PoolRecord[] = [];
  for (const pool of pools) {
    const poolBlock = readUnderlayBlock(pool.spec).block;
    if (poolBlock && poolBlock.cidr.text === block.cidr.text) out.push(pool);
  }
  return out.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * The subnet's status, as upstream's: its usable addresses, the pools in its network
 * with the addresses each holds (ips − excludeIPs) and, for auto pools, the
 * application; allocatedIPCount counts those addresses — what the subnet has handed
 * to pools, so ALLOCATED-IP-COUNT against TOTAL-IP-COUNT says how much room is left
 * to carve pools. What pods hold is each pool's own allocatedIPCount.
 */
export function subnetStatusFor(subnet: SubnetRecord, pools: Iterable<PoolRecord>, reserved: ReservedSets): SubnetStatusFields | undefined {
  const { block } = readUnderlayBlock(subnet.spec);
  if (!block) return undefined;
  const controlled: Record<string, { ips: string[]; application?: string }> = {};
  let handedOut = RangeSet.empty(block.family);
  for (const pool of poolsOfSubnet(subnet, pools)) {
    const poolBlock = readUnderlayBlock(pool.spec).block!;
    const application = applicationOf(pool.metadata.labels);
    const ips = poolBlock.ips.difference(poolBlock.excluded);
    controlled[pool.metadata.name] = { ips: ips.toStrings(), ...(application ? { application } : {}) };
    handedOut = handedOut.union(ips);
  }
  return {
    allocatedIPCount: countOf(handedOut),
    totalIPCount: countOf(usableAddresses(block, reserved)),
    controlledIPPools: JSON.stringify(controlled),
  };
}

/** Whether the stored status differs from the desired fields (absent fields differ). */
export function statusDiffers(current: Readonly<Record<string, unknown>> | null | undefined, desired: PoolStatusFields | SubnetStatusFields): boolean {
  // null is a field the merge patch removes: absent is as wanted.
  return Object.entries(desired).some(([field, value]) => (current?.[field] ?? null) !== value);
}
