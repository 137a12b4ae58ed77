// When may a terminating SpiderIPPool or SpiderSubnet lose its finalizer? Pure
// functions of the object and the claims: the controller around them only fetches
// inputs and carries out the verdict.
import { compareAddresses, parseAddress } from '../ipam/address.js';
import { POOL_FINALIZERS, type IPClaimObject, type SpiderIPPoolObject, type SpiderSubnetObject } from './resources.js';

/** One address that keeps a pool or subnet from being deleted, and who holds it. */
export interface AddressInUse {
  address: string;
  pool: string;
  /** Namespace of the pod, when the claim says. */
  namespace?: string;
  /** Name of the pod, once the reconciler has bound the claim to it. */
  pod?: string;
  bindingID?: string;
}

export type DeletionVerdict =
  /** Not terminating, or our finalizers are already gone: nothing to do. */
  | 'nothing-to-do'
  | 'remove-finalizer'
  | { wait: true; inUse: AddressInUse[] };

interface Terminable {
  metadata: { deletionTimestamp?: string | null; finalizers?: string[] | null };
}

function awaitsUs(object: Terminable): boolean {
  const finalizers = object.metadata.finalizers ?? [];
  return object.metadata.deletionTimestamp != null && POOL_FINALIZERS.some((f) => finalizers.includes(f));
}

function inUseBy(claim: IPClaimObject): AddressInUse {
  const use: AddressInUse = { address: claim.spec.address ?? claim.metadata.name, pool: claim.spec.pool };
  if (claim.spec.namespace != null) use.namespace = claim.spec.namespace;
  if (claim.status?.podName != null) use.pod = claim.status.podName;
  if (claim.spec.bindingID != null) use.bindingID = claim.spec.bindingID;
  return use;
}

/** Numeric address order (10.6.0.9 before 10.6.0.10), IPv4 before IPv6, odd text last. */
function compareInUse(a: AddressInUse, b: AddressInUse): number {
  const pa = parseAddress(a.address);
  const pb = parseAddress(b.address);
  if (pa.ok && pb.ok) return compareAddresses(pa.value, pb.value) || a.pool.localeCompare(b.pool);
  if (pa.ok !== pb.ok) return pa.ok ? -1 : 1;
  return a.address.localeCompare(b.address);
}

function verdictFor(claims: readonly IPClaimObject[]): DeletionVerdict {
  if (claims.length === 0) return 'remove-finalizer';
  return { wait: true, inUse: claims.map(inUseBy).sort(compareInUse) };
}

/** A terminating pool keeps its finalizer while any claim names it in spec.pool. */
export function judgePoolDeletion(pool: SpiderIPPoolObject, claims: readonly IPClaimObject[]): DeletionVerdict {
  if (!awaitsUs(pool)) return 'nothing-to-do';
  return verdictFor(claims.filter((claim) => claim.spec.pool === pool.metadata.name));
}

/**
 * A terminating subnet keeps its finalizer while any claim belongs to a pool of that
 * subnet. Pools and subnets are matched on the spec.subnet text: the webhook stores
 * CIDRs in canonical form, so equal networks are equal strings.
 */
export function judgeSubnetDeletion(
  subnet: SpiderSubnetObject,
  pools: readonly SpiderIPPoolObject[],
  claims: readonly IPClaimObject[],
): DeletionVerdict {
  if (!awaitsUs(subnet)) return 'nothing-to-do';
  const poolsOfSubnet = new Set(pools.filter((pool) => pool.spec.subnet === subnet.spec.subnet).map((pool) => pool.metadata.name));
  return verdictFor(claims.filter((claim) => poolsOfSubnet.has(claim.spec.pool)));
}

const MAX_LISTED = 10;

function holder(use: AddressInUse): string {
  if (use.pod !== undefined) return use.namespace !== undefined ? `${use.namespace}/${use.pod}` : use.pod;
  // Claims are made at admission, before a generateName pod has a name.
  const where = use.namespace !== undefined ? ` in ${use.namespace}` : '';
  const binding = use.bindingID !== undefined ? ` (binding ${use.bindingID})` : '';
  return `a pod${where} not started yet${binding}`;
}

/**
 * The message of the DeletionWaiting Event: how many addresses, which, held by whom,
 * and what to do. Long lists are cut so the Event stays readable.
 */
export function describeDeletionWait(inUse: readonly AddressInUse[], options: { showPool?: boolean } = {}): string {
  const n = inUse.length;
  const listed = inUse
    .slice(0, MAX_LISTED)
    .map((use) => `${use.address}${options.showPool ? ` in pool ${use.pool}` : ''} by ${holder(use)}`);
  if (n > MAX_LISTED) listed.push(`and ${n - MAX_LISTED} more`);
  const what = n === 1 ? '1 address' : `${n} addresses`;
  const fix = n === 1 ? 'delete that pod to release it' : 'delete those pods to release them';
  const where = options.showPool ? ' in its pools' : '';
  return `deletion waits for ${what} in use${where} (${listed.join(', ')}); ${fix}`;
}
