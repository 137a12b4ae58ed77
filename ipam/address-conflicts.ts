// The rules between Spider* objects: which addresses a pool or subnet may hold
// given the others. Pure: callers pass what exists (and what is being admitted
// concurrently) as BlockHolders.
import { formatAddress, type Address } from './address.js';
import { cidrsOverlap, type Cidr } from './cidr.js';
import { problem, type FieldProblem } from './field-problem.js';
import type { RangeSet } from './range-set.js';
import type { UnderlayBlock } from './underlay-block.js';

export type HolderKind = 'SpiderIPPool' | 'SpiderSubnet';

/** A pool or subnet as other objects see it: its network and its usable addresses. */
export interface BlockHolder {
  kind: HolderKind;
  name: string;
  cidr: Cidr;
  usable: RangeSet;
}

export interface ReservedHolder {
  name: string;
  set: RangeSet;
}

/** An address some pod holds (an IPClaim). */
export interface AddressInUse {
  address: Address;
  pool: string;
  /** `namespace/name` of the pod, when known. */
  pod?: string;
}

const LIST_LIMIT = 5;

/** `a, b, c and 4 more` — keeps one-line messages one line. */
export function listSome(items: readonly string[], limit = LIST_LIMIT): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
}

function describe(set: RangeSet): string {
  return listSome(set.toStrings());
}

/** "is" for one address, "are" for more: messages read as sentences. */
function isOrAre(set: RangeSet): string {
  return set.count() === 1n ? 'is' : 'are';
}

/** Holders of the same family, other than the object itself. */
function others(holders: readonly BlockHolder[], kind: HolderKind, name: string, self: UnderlayBlock): BlockHolder[] {
  return holders.filter((h) => h.cidr.family === self.family && !(h.kind === kind && h.name === name));
}

/**
 * A pool must not share an address with another pool, must use exactly the CIDR of
 * any pool or subnet whose network overlaps its own, and must stay inside the
 * SpiderSubnet of its CIDR.
 */
export function poolConflicts(name: string, pool: UnderlayBlock, holders: readonly BlockHolder[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const other of others(holders, 'SpiderIPPool', name, pool)) {
    if (other.cidr.text !== pool.cidr.text) {
      if (cidrsOverlap(other.cidr, pool.cidr)) {
        problems.push(
          problem('spec.subnet', `${pool.cidr.text} overlaps ${other.kind} ${other.name} (${other.cidr.text}); pools of one network must use the same spec.subnet, here ${other.cidr.text}`),
        );
      }
      continue;
    }
    if (other.kind === 'SpiderIPPool') {
      const shared = pool.usable.intersection(other.usable);
      if (!shared.isEmpty) {
        problems.push(problem('spec.ips', `${describe(shared)} ${isOrAre(shared)} already in SpiderIPPool ${other.name}; an address can be in one pool only — remove them from spec.ips or add them to spec.excludeIPs`));
      }
    } else {
      const outside = pool.usable.difference(other.usable);
      if (!outside.isEmpty) {
        problems.push(
          problem('spec.ips', `${describe(outside)} ${isOrAre(outside)} not in SpiderSubnet ${other.name} (spec.ips ${describe(other.usable) || 'empty'}); a pool of ${pool.cidr.text} must take its addresses from that subnet`),
        );
      }
    }
  }
  return problems;
}

/**
 * A subnet must not overlap another subnet of its family, and every pool of its
 * CIDR must stay inside it; pools of an overlapping but different CIDR conflict.
 */
export function subnetConflicts(name: string, subnet: UnderlayBlock, holders: readonly BlockHolder[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const other of others(holders, 'SpiderSubnet', name, subnet)) {
    if (!cidrsOverlap(other.cidr, subnet.cidr)) continue;
    if (other.kind === 'SpiderSubnet') {
      problems.push(problem('spec.subnet', `${subnet.cidr.text} overlaps SpiderSubnet ${other.name} (${other.cidr.text}); subnets must not overlap`));
    } else if (other.cidr.text !== subnet.cidr.text) {
      problems.push(problem('spec.subnet', `${subnet.cidr.text} overlaps SpiderIPPool ${other.name} (${other.cidr.text}); a pool inside a subnet must use the subnet's CIDR`));
    } else {
      const outside = other.usable.difference(subnet.usable);
      if (!outside.isEmpty) {
        problems.push(problem('spec.ips', `SpiderIPPool ${other.name} holds ${describe(outside)}, which are outside spec.ips (or in spec.excludeIPs); keep them in the subnet or shrink the pool first`));
      }
    }
  }
  return problems;
}

/**
 * `spec.subnet` never changes: claims and pods depend on it. `spec.ipVersion` is
 * the subnet's family, so it cannot change without the subnet changing (and a
 * mismatch between the two is reported on its own).
 */
export function immutableFieldProblems(before: UnderlayBlock, after: UnderlayBlock): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (before.cidr.text !== after.cidr.text) problems.push(problem('spec.subnet', `is immutable (was ${before.cidr.text}); create a new object instead`));
  return problems;
}

/** Addresses an update would remove from a pool while pods hold them. */
export function removedInUseProblems(field: string, after: RangeSet, inUse: readonly AddressInUse[]): FieldProblem[] {
  const removed = inUse.filter((u) => u.address.family === after.family && !after.containsAddress(u.address));
  if (removed.length === 0) return [];
  const items = removed.map((u) => `${formatAddress(u.address)}${u.pod ? ` (${u.pod})` : ''}`);
  return [problem(field, `would remove ${listSome(items)}, in use by pods; delete those pods first, then remove the addresses`)];
}

/** Warnings (not denials) for addresses a SpiderReservedIP keeps from being handed out. */
export function reservedWarnings(usable: RangeSet, reserved: readonly ReservedHolder[]): string[] {
  const warnings: string[] = [];
  for (const r of reserved) {
    if (r.set.family !== usable.family) continue;
    const shared = usable.intersection(r.set);
    if (!shared.isEmpty) warnings.push(`${describe(shared)} ${isOrAre(shared)} reserved by SpiderReservedIP ${r.name}: kept in spec.ips, never handed out`);
  }
  return warnings;
}
