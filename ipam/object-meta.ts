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

/** The finalizer Spiderpool puts on pools and subnets; Underpin uses the same name. */
export const SPIDERPOOL_FINALIZER = 'spiderpool.spidernet.io';
