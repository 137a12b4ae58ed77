// The records the underlay caches keep, one schema per resource for webhook and
// reconciler alike: the domain's schema of each Spider* object (ipam/), plus the
// status the reconciler keeps and the metadata both read.
import { z } from 'zod';
import { IPClaim } from '../ipam/ip-claim.js';
import { ObjectMeta } from '../ipam/object-meta.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { SpiderReservedIP } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';

const RecordMeta = ObjectMeta.extend({ name: z.string().min(1), creationTimestamp: z.string().nullish() });

const counts = { allocatedIPCount: z.number().nullish(), totalIPCount: z.number().nullish() };

export const PoolRecord = SpiderIPPool.extend({
  metadata: RecordMeta,
  status: z.looseObject({ ...counts, allocatedIPs: z.string().nullish() }).nullish(),
});
export type PoolRecord = z.infer<typeof PoolRecord>;

export const SubnetRecord = SpiderSubnet.extend({
  metadata: RecordMeta,
  status: z.looseObject({ ...counts, controlledIPPools: z.string().nullish() }).nullish(),
});
export type SubnetRecord = z.infer<typeof SubnetRecord>;

export const ReservedIPRecord = SpiderReservedIP.extend({ metadata: RecordMeta });
export type ReservedIPRecord = z.infer<typeof ReservedIPRecord>;

/** Strings many claims repeat (pool, namespace, owner…), kept once. Bounded: a cache, not a registry. */
const sharedStrings = new Map<string, string>();
const SHARED_STRINGS_LIMIT = 100_000;

function shared<S extends string | null | undefined>(text: S): S {
  if (typeof text !== 'string') return text;
  const known = sharedStrings.get(text);
  if (known !== undefined) return known as S;
  if (sharedStrings.size >= SHARED_STRINGS_LIMIT) sharedStrings.clear();
  sharedStrings.set(text, text);
  return text;
}

/** The object without its undefined or null fields (each would still take a slot). */
function definedOnly<O extends object>(object: O): O {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value != null)) as O;
}

/**
 * A claim as the caches keep it, for the tens of thousands a cluster holds: the
 * fields of the IPClaim schema and nothing more (no labels, generation or unknown
 * fields), with the strings claims repeat shared between them.
 */
export const ClaimRecord = IPClaim.transform((claim): IPClaim => {
  const { name, uid, resourceVersion, creationTimestamp, deletionTimestamp, finalizers } = claim.metadata;
  const { spec, status } = claim;
  return {
    metadata: {
      name,
      ...(uid !== undefined ? { uid } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      ...(creationTimestamp != null ? { creationTimestamp } : {}),
      ...(deletionTimestamp != null ? { deletionTimestamp } : {}),
      ...(finalizers?.length ? { finalizers } : {}),
    },
    spec: {
      address: spec.address,
      family: spec.family,
      pool: shared(spec.pool),
      interface: shared(spec.interface),
      namespace: shared(spec.namespace),
      bindingID: spec.bindingID,
      ...(spec.owner
        ? { owner: { apiVersion: shared(spec.owner.apiVersion), kind: shared(spec.owner.kind), name: shared(spec.owner.name), uid: shared(spec.owner.uid) } }
        : {}),
      ...(spec.statefulSetOrdinal != null ? { statefulSetOrdinal: spec.statefulSetOrdinal } : {}),
    },
    ...(status ? { status: definedOnly({ ...status, phase: shared(status.phase), node: shared(status.node) }) } : {}),
  };
});
