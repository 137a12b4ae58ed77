// Application auto pools: one SpiderIPPool per application, interface and family,
// carved from a SpiderSubnet and sized to the application (`N`, or replicas + N).
// Pure: what the subnet holds, what other pools hold and what is in use come in as
// arguments; the plan says which addresses the pool should hold.
import { familyName, type IPFamily } from './address.js';
import { cidrLabelValue, type Cidr } from './cidr.js';
import type { IPNumber } from './pod-annotations.js';
import { RangeSet } from './range-set.js';
import type { IPRange } from './range.js';

export const AUTO_POOL_LABEL = {
  ownerSubnet: 'ipam.spidernet.io/owner-spider-subnet',
  appGV: 'ipam.spidernet.io/owner-application-gv',
  appKind: 'ipam.spidernet.io/owner-application-kind',
  appNamespace: 'ipam.spidernet.io/owner-application-namespace',
  appName: 'ipam.spidernet.io/owner-application-name',
  appUID: 'ipam.spidernet.io/owner-application-uid',
  interface: 'ipam.spidernet.io/interface',
  ipVersion: 'ipam.spidernet.io/ip-version',
  reclaim: 'ipam.spidernet.io/ippool-reclaim',
  cidr: 'ipam.spidernet.io/ippool-cidr',
} as const;

/** The application an auto pool belongs to. */
export interface AppRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

const MAX_NAME = 253;

/** The application name as a label value: at most 63 characters, ending in a letter or digit. */
export function appNameLabel(name: string): string {
  return name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '');
}

/** `auto{4|6}-{app}-{nic}-{5 chars of the app UID}`, the app part shortened to fit a name. */
export function autoPoolName(family: IPFamily, app: AppRef, nic: string): string {
  const suffix = `-${nic}-${app.uid.replace(/-/g, '').slice(0, 5).toLowerCase()}`;
  const prefix = `auto${family}-`;
  const appPart = app.name.slice(0, MAX_NAME - prefix.length - suffix.length).replace(/[.-]+$/, '');
  return `${prefix}${appPart}${suffix}`;
}

export function autoPoolLabels(family: IPFamily, app: AppRef, nic: string, subnet: string, cidr: Cidr, reclaim: boolean): Record<string, string> {
  return {
    [AUTO_POOL_LABEL.ownerSubnet]: subnet,
    // A label value cannot hold '/': Spiderpool writes the group-version as apps_v1.
    [AUTO_POOL_LABEL.appGV]: app.apiVersion.replace('/', '_'),
    [AUTO_POOL_LABEL.appKind]: app.kind,
    [AUTO_POOL_LABEL.appNamespace]: app.namespace,
    [AUTO_POOL_LABEL.appName]: appNameLabel(app.name),
    [AUTO_POOL_LABEL.appUID]: app.uid,
    [AUTO_POOL_LABEL.interface]: nic,
    [AUTO_POOL_LABEL.ipVersion]: familyName(family),
    [AUTO_POOL_LABEL.reclaim]: String(reclaim),
    [AUTO_POOL_LABEL.cidr]: cidrLabelValue(cidr),
  };
}

/** How many addresses the pool should hold. */
export function desiredPoolSize(ipNumber: IPNumber, replicas: number): number {
  return ipNumber.kind === 'fixed' ? ipNumber.count : replicas + ipNumber.count;
}

export interface AutoPoolInputs {
  family: IPFamily;
  /** The SpiderSubnet's name and usable addresses (ips − excludeIPs). */
  subnetName: string;
  subnetUsable: RangeSet;
  /** Every SpiderReservedIP address of the family. */
  reserved: RangeSet;
  /** Addresses of every other pool of the subnet's network. */
  otherPools: RangeSet;
  /** The pool's addresses now (empty for a new pool). */
  current: RangeSet;
  /** Addresses of the pool that pods hold. */
  inUse: RangeSet;
  size: number;
}

export type AutoPoolPlan =
  | { ok: true; ips: RangeSet; added: bigint; removed: bigint; /** set when in-use addresses kept it above size */ shortOfShrink?: number }
  | { ok: false; error: string };

/**
 * Grow with the lowest free addresses of the subnet; shrink by dropping free
 * addresses, highest first, never one in use (the pool then stays larger, and
 * says by how much).
 */
export function planAutoPool(inputs: AutoPoolInputs): AutoPoolPlan {
  const { family, current, inUse, size } = inputs;
  const have = current.count();
  const want = BigInt(size);
  if (want === have) return { ok: true, ips: current, added: 0n, removed: 0n };
  if (want > have) {
    const free = inputs.subnetUsable.difference(inputs.reserved).difference(inputs.otherPools).difference(current);
    const needed = want - have;
    if (free.count() < needed) {
      return {
        ok: false,
        error: `SpiderSubnet ${inputs.subnetName} has ${free.count()} free ${familyName(family)} address${free.count() === 1n ? '' : 'es'}, but ${needed} more ${needed === 1n ? 'is' : 'are'} needed (pool size ${size}); add addresses to the subnet's spec.ips, free some, or lower ipam.spidernet.io/ippool-ip-number`,
      };
    }
    const added = RangeSet.fromAddresses(family, free.firstN(Number(needed)));
    return { ok: true, ips: current.union(added), added: needed, removed: 0n };
  }
  // Shrink: the free addresses of the pool, highest first.
  const removable = current.difference(inUse);
  let toRemove = have - want;
  const removed: IPRange[] = [];
  for (let i = removable.ranges.length - 1; i >= 0 && toRemove > 0n; i--) {
    const r = removable.ranges[i]!;
    const size = r.last - r.first + 1n;
    const take = size < toRemove ? size : toRemove;
    removed.push({ family, first: r.last - take + 1n, last: r.last });
    toRemove -= take;
  }
  const removedSet = RangeSet.fromRanges(family, removed);
  return {
    ok: true,
    ips: current.difference(removedSet),
    added: 0n,
    removed: removedSet.count(),
    ...(toRemove > 0n ? { shortOfShrink: Number(toRemove) } : {}),
  };
}

/** An application as a pod can name it without reading other objects. */
export interface AppIdentity {
  kind: string;
  namespace: string;
  name: string;
}

/** The auto pool of an application's NIC and family, found by its labels. */
export function findAutoPool<P extends { labels: Readonly<Record<string, string>>; deleting: boolean }>(
  pools: Iterable<P>,
  app: AppIdentity,
  nic: string,
  family: IPFamily,
): P | undefined {
  let found: P | undefined;
  for (const pool of pools) {
    const l = pool.labels;
    if (
      l[AUTO_POOL_LABEL.appKind] === app.kind &&
      l[AUTO_POOL_LABEL.appNamespace] === app.namespace &&
      l[AUTO_POOL_LABEL.appName] === appNameLabel(app.name) &&
      l[AUTO_POOL_LABEL.interface] === nic &&
      l[AUTO_POOL_LABEL.ipVersion] === familyName(family)
    ) {
      // A pool of a deleted application of the same name may linger while its pods go.
      if (!found || (found.deleting && !pool.deleting)) found = pool;
    }
  }
  return found;
}
