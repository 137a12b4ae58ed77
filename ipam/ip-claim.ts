// IPClaim (underpin.dev/v1alpha1): one object per allocated address, named from
// the address. Creating it is the lock on the address.
import { z } from 'zod';
import { claimNameToAddress, parseAddress, type Address } from './address.js';
import type { AddressInUse } from './address-conflicts.js';
import { ObjectMeta } from './object-meta.js';

export const IPCLAIM_API_VERSION = 'underpin.dev/v1alpha1';

/** Reserved by the webhook; Bound once the reconciler saw its pod; Released on the way out. */
export const ClaimPhase = z.enum(['Reserved', 'Bound', 'Released']);
export type ClaimPhase = z.infer<typeof ClaimPhase>;

/**
 * The one schema of a stored IPClaim: the webhook's cache, the reconciler and the
 * CNI plugin all read claims through it (the reconciler's pool-deletion guard through
 * a lenient projection of it, see reconciler/resources.ts).
 */
export const IPClaim = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('IPClaim').optional(),
  metadata: ObjectMeta.extend({ name: z.string().min(1), creationTimestamp: z.string().nullish() }),
  spec: z.looseObject({
    address: z.string().min(1),
    family: z.union([z.literal(4), z.literal(6)]),
    pool: z.string().min(1),
    interface: z.string(),
    namespace: z.string().min(1),
    bindingID: z.string().min(1),
    owner: z.looseObject({ apiVersion: z.string().nullish(), kind: z.string(), name: z.string(), uid: z.string().nullish() }).nullish(),
    statefulSetOrdinal: z.number().int().nonnegative().nullish(),
  }),
  status: z
    .looseObject({
      phase: ClaimPhase.nullish(),
      podName: z.string().nullish(),
      podUID: z.string().nullish(),
      node: z.string().nullish(),
      reservedAt: z.string().nullish(),
      boundAt: z.string().nullish(),
    })
    .nullish(),
});
export type IPClaim = z.infer<typeof IPClaim>;

/** The address a claim locks: its name must encode its spec.address, or it locks nothing. */
function claimedAddress(claim: IPClaim): Address | undefined {
  const fromName = claimNameToAddress(claim.metadata.name);
  const fromSpec = parseAddress(claim.spec.address, claim.spec.family);
  if (!fromName.ok || !fromSpec.ok || fromName.value.value !== fromSpec.value.value) return undefined;
  return fromSpec.value;
}

/** What a claim holds, as admission judges it: its address, pool and (once known) `namespace/pod`; undefined when it locks nothing. */
export function claimInUse(claim: IPClaim): AddressInUse | undefined {
  const address = claimedAddress(claim);
  if (!address) return undefined;
  const pod = claim.status?.podName ? `${claim.spec.namespace}/${claim.status.podName}` : undefined;
  return { address, pool: claim.spec.pool, ...(pod ? { pod } : {}) };
}
