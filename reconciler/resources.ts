// The API objects the reconciler reads, as loose zod schemas applied at the edge:
// only the fields a controller relies on are checked, everything else passes
// through, so a newer CRD version with extra fields never stops the reconciler.
import { z } from 'zod';
import { ADDRESSES_IN_USE_FINALIZER, LEGACY_SPIDERPOOL_FINALIZER } from '../ipam/object-meta.js';

export interface ResourceKind {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const SPIDER_IPPOOL: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools', kind: 'SpiderIPPool' };
export const SPIDER_SUBNET: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidersubnets', kind: 'SpiderSubnet' };
export const IP_CLAIM: ResourceKind = { group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims', kind: 'IPClaim' };

/**
 * The finalizers this controller owns on SpiderIPPools and SpiderSubnets: the one
 * Underpin's webhook adds, and Spiderpool's own on objects migrated from it. Both mean
 * "addresses may be in use" and are removed together once none is.
 */
export const POOL_FINALIZERS: readonly string[] = [ADDRESSES_IN_USE_FINALIZER, LEGACY_SPIDERPOOL_FINALIZER];

/** Path of a cluster-scoped custom resource collection, as informers want it. */
export function collectionPath(kind: ResourceKind): string {
  return `/apis/${kind.group}/${kind.version}/${kind.plural}`;
}

const ObjectMeta = z.looseObject({
  name: z.string().min(1),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  // Present (any RFC 3339 string) once deletion was requested.
  deletionTimestamp: z.string().nullish(),
  finalizers: z.array(z.string()).nullish(),
});

export const SpiderIPPoolObject = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({ subnet: z.string().min(1) }),
});
export type SpiderIPPoolObject = z.infer<typeof SpiderIPPoolObject>;

export const SpiderSubnetObject = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({ subnet: z.string().min(1) }),
});
export type SpiderSubnetObject = z.infer<typeof SpiderSubnetObject>;

// Only metadata.name and spec.pool are required: a claim with anything else missing
// still holds its address, and must still block the deletion of its pool.
export const IPClaimObject = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({
    pool: z.string().min(1),
    address: z.string().nullish(),
    namespace: z.string().nullish(),
    bindingID: z.string().nullish(),
  }),
  status: z.looseObject({ podName: z.string().nullish() }).nullish(),
});
export type IPClaimObject = z.infer<typeof IPClaimObject>;

/** A line for the log that says which object is malformed and how. */
export function describeMalformed(kind: ResourceKind, raw: unknown, error: z.ZodError): string {
  const name = (raw as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  const issues = error.issues.map((issue) => `${issue.path.map(String).join('.') || '(object)'}: ${issue.message}`).join('; ');
  return `${kind.kind} ${typeof name === 'string' ? name : '(unnamed)'} is malformed, skipped: ${issues}`;
}
