// The part of Kubernetes ObjectMeta that Underpin reads or writes.
import { z } from 'zod';

export const OwnerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReference>;

export const ObjectMeta = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
  finalizers: z.array(z.string()).nullish(),
  ownerReferences: z.array(OwnerReference).nullish(),
  deletionTimestamp: z.string().nullish(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/**
 * Keeps a pool or subnet while its addresses are in use. Domain-qualified with a
 * path, as the API server asks; Spiderpool's own `spiderpool.spidernet.io` on
 * objects migrated from it is honoured and removed the same way.
 */
export const ADDRESSES_IN_USE_FINALIZER = 'underpin.dev/addresses-in-use';
export const LEGACY_SPIDERPOOL_FINALIZER = 'spiderpool.spidernet.io';
