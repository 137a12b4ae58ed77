// IPClaim (underpin.dev/v1alpha1): one object per allocated address, named from
// the address. Creating it is the lock on the address.
import { z } from 'zod';
import { claimNameToAddress, parseAddress, type Address } from './address.js';
import { ObjectMeta } from './object-meta.js';

export const IPCLAIM_API_VERSION = 'underpin.dev/v1alpha1';

export const IPClaim = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('IPClaim').optional(),
  metadata: ObjectMeta,
  spec: z.looseObject({
    address: z.string(),
    family: z.union([z.literal(4), z.literal(6)]),
    pool: z.string(),
    interface: z.string(),
    namespace: z.string(),
    bindingID: z.string(),
    owner: z.looseObject({ apiVersion: z.string().optional(), kind: z.string(), name: z.string(), uid: z.string().optional() }).nullish(),
    statefulSetOrdinal: z.number().int().nullish(),
  }),
  status: z
    .looseObject({
      phase: z.string().nullish(),
      podName: z.string().nullish(),
      podUID: z.string().nullish(),
      node: z.string().nullish(),
    })
    .nullish(),
});
export type IPClaim = z.infer<typeof IPClaim>;

/** The address a claim locks: its name must encode its spec.address, or it locks nothing. */
export function claimedAddress(claim: IPClaim): Address | undefined {
  const fromName = claimNameToAddress(claim.metadata.name ?? '');
  const fromSpec = parseAddress(claim.spec.address, claim.spec.family);
  if (!fromName.ok || !fromSpec.ok || fromName.value.value !== fromSpec.value.value) return undefined;
  return fromSpec.value;
}
