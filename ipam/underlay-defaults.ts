// Defaulting of Spider* objects, as the mutating webhook applies it: canonical
// CIDRs and merged ranges, ipVersion, labels, and for a pool of a SpiderSubnet's
// network its gateway, routes and VLAN, an owner reference and a label naming it.
// Fields that do not parse are left as written, so validation can quote them.
import { canonicalCidr, cidrLabelValue, parseCidr } from './cidr.js';
import { ADDRESSES_IN_USE_FINALIZER, type ObjectMeta, type OwnerReference } from './object-meta.js';
import { parseRangeList } from './range-set.js';
import type { SpiderIPPool } from './spider-ippool.js';
import type { SpiderReservedIP } from './spider-reserved-ip.js';
import type { SpiderSubnet, SpiderSubnetSpec } from './spider-subnet.js';
import type { UnderlaySpec } from './underlay-block.js';

export const LABEL_IPPOOL_CIDR = 'ipam.spidernet.io/ippool-cidr';
export const LABEL_SUBNET_CIDR = 'ipam.spidernet.io/subnet-cidr';
export const LABEL_OWNER_SUBNET = 'ipam.spidernet.io/owner-spider-subnet';
export const SPIDERPOOL_API_VERSION = 'spiderpool.spidernet.io/v2beta1';

/** A SpiderSubnet as defaulting needs it. */
export interface SubnetForDefaults {
  name: string;
  uid?: string;
  spec: SpiderSubnetSpec;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Canonical subnet and ranges, ipVersion from the subnet. Mutates `spec`. */
function canonicaliseUnderlay(spec: UnderlaySpec): void {
  const cidr = parseCidr(spec.subnet);
  if (!cidr.ok) return;
  spec.subnet = cidr.value.text;
  spec.ipVersion ??= cidr.value.family;
  for (const field of ['ips', 'excludeIPs'] as const) {
    const texts = spec[field];
    if (!texts || texts.length === 0) continue;
    const parsed = parseRangeList(texts, cidr.value.family);
    // Overlapping ips are an error to report, not something to merge away.
    if (parsed.ok && (field === 'excludeIPs' || parsed.value.overlaps.length === 0)) spec[field] = parsed.value.set.toStrings();
  }
}

function withLabel(metadata: ObjectMeta, key: string, value: string): void {
  metadata.labels = { ...(metadata.labels ?? {}), [key]: value };
}

function withFinalizer(metadata: ObjectMeta): void {
  if (metadata.deletionTimestamp) return; // no new finalizers on an object being deleted
  const finalizers = metadata.finalizers ?? [];
  if (!finalizers.includes(ADDRESSES_IN_USE_FINALIZER)) metadata.finalizers = [...finalizers, ADDRESSES_IN_USE_FINALIZER];
}

function withOwner(metadata: ObjectMeta, owner: OwnerReference): void {
  const refs = metadata.ownerReferences ?? [];
  if (refs.some((r) => r.uid === owner.uid)) return;
  const hasController = refs.some((r) => r.controller);
  metadata.ownerReferences = [...refs, { ...owner, controller: !hasController }];
}

export function defaultSpiderSubnet(subnet: SpiderSubnet): SpiderSubnet {
  const out = clone(subnet);
  canonicaliseUnderlay(out.spec);
  const cidr = parseCidr(out.spec.subnet);
  if (cidr.ok) withLabel(out.metadata, LABEL_SUBNET_CIDR, cidrLabelValue(cidr.value));
  withFinalizer(out.metadata);
  return out;
}

export function defaultSpiderIPPool(pool: SpiderIPPool, subnets: readonly SubnetForDefaults[]): SpiderIPPool {
  const out = clone(pool);
  canonicaliseUnderlay(out.spec);
  withFinalizer(out.metadata);
  const cidr = parseCidr(out.spec.subnet);
  if (!cidr.ok) return out;
  withLabel(out.metadata, LABEL_IPPOOL_CIDR, cidrLabelValue(cidr.value));

  const owner = subnets.find((s) => canonicalCidr(s.spec.subnet) === cidr.value.text);
  if (!owner) return out;
  // A pool of a subnet's network inherits what it leaves unset.
  if (!out.spec.gateway && owner.spec.gateway) out.spec.gateway = owner.spec.gateway;
  if ((out.spec.routes == null || out.spec.routes.length === 0) && owner.spec.routes?.length) out.spec.routes = clone(owner.spec.routes);
  if (out.spec.vlan == null && owner.spec.vlan != null) out.spec.vlan = owner.spec.vlan;
  withLabel(out.metadata, LABEL_OWNER_SUBNET, owner.name);
  if (owner.uid) {
    withOwner(out.metadata, { apiVersion: SPIDERPOOL_API_VERSION, kind: 'SpiderSubnet', name: owner.name, uid: owner.uid, blockOwnerDeletion: true });
  }
  return out;
}

export function defaultSpiderReservedIP(reserved: SpiderReservedIP): SpiderReservedIP {
  const out = clone(reserved);
  const texts = out.spec.ips ?? [];
  if (texts.length === 0) return out;
  const parsed = parseRangeList(texts, out.spec.ipVersion ?? undefined);
  if (!parsed.ok) return out;
  out.spec.ipVersion ??= parsed.value.family;
  out.spec.ips = parsed.value.set.toStrings();
  return out;
}
