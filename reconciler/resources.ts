// The API objects the reconciler reads beside the underlay (kube/underlay-records.ts),
// as zod schemas applied at the edge: only the fields a controller relies on are
// checked, so a newer CRD version with extra fields never stops the reconciler.
import { z } from 'zod';
import { IPClaim } from '../ipam/ip-claim.js';
import { ADDRESSES_IN_USE_FINALIZER, LEGACY_SPIDERPOOL_FINALIZER, OwnerReference } from '../ipam/object-meta.js';
import { describeIssues } from '../kube/resource-cache.js';
import type { ResourceKind } from '../kube/resources.js';

/**
 * The finalizers this controller owns on SpiderIPPools and SpiderSubnets: the one
 * Underpin's webhook adds, and Spiderpool's own on objects migrated from it. Both mean
 * "addresses may be in use" and are removed together once none is.
 */
export const POOL_FINALIZERS: readonly string[] = [ADDRESSES_IN_USE_FINALIZER, LEGACY_SPIDERPOOL_FINALIZER];

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

// The pool-deletion guard's projection of the IPClaim schema (ipam/ip-claim.ts): only
// metadata.name and spec.pool must be sound. A claim with anything else missing or
// damaged still holds its address, and must still block the deletion of its pool.
const claim = IPClaim.shape;
const lenient = <T extends z.ZodType>(field: T) => field.nullish().catch(undefined);
export const IPClaimObject = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({
    pool: claim.spec.shape.pool,
    address: lenient(claim.spec.shape.address),
    namespace: lenient(claim.spec.shape.namespace),
    bindingID: lenient(claim.spec.shape.bindingID),
  }),
  status: z.looseObject({ podName: lenient(z.string()) }).nullish().catch(undefined),
});
export type IPClaimObject = z.infer<typeof IPClaimObject>;

// ---- the fuller views the claim, status and endpoint controllers read ----

/**
 * An RFC 3339 time. Objects from a watch carry strings; client-node's typed list calls
 * (pods, StatefulSets) turn them into Dates. Both become the string.
 */
const Timestamp = z.union([z.string(), z.date().transform((date) => date.toISOString())]);

const FullMeta = z.looseObject({
  name: z.string().min(1),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: Timestamp.nullish(),
  deletionTimestamp: Timestamp.nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
  ownerReferences: z.array(OwnerReference).nullish(),
});

const NamespacedMeta = FullMeta.extend({ namespace: z.string().min(1) });


// Pods and StatefulSets are kept as the few fields the controllers read (z.object
// drops the rest: containers, the pod template, conditions), not as whole objects.

/** A container's state, as far as node-loss release asks: has it stopped, does it run? */
const ContainerStatus = z.object({ state: z.object({ terminated: z.object({}).nullish(), running: z.object({}).nullish() }).nullish() });

/** A pod carrying a binding (label underpin.dev/binding-id). */
export const PodRecord = z.object({
  metadata: NamespacedMeta.extend({ uid: z.string().min(1), deletionGracePeriodSeconds: z.number().nullish() }),
  spec: z.object({ nodeName: z.string().nullish() }).nullish(),
  status: z
    .object({
      phase: z.string().nullish(),
      containerStatuses: z.array(ContainerStatus).nullish(),
      // Sidecars (restartable init containers) and debug containers run beside the others, on the same network.
      initContainerStatuses: z.array(ContainerStatus).nullish(),
      ephemeralContainerStatuses: z.array(ContainerStatus).nullish(),
    })
    .nullish(),
});
export type PodRecord = z.infer<typeof PodRecord>;

/** A node, as node-loss release reads it: its Ready condition and its taints. */
export const NodeRecord = z.object({
  metadata: z.object({ name: z.string().min(1) }),
  spec: z
    .object({
      taints: z.array(z.object({ key: z.string(), effect: z.string().nullish() })).nullish(),
      // SpiderCoordinator's status lists them (podCIDRType cluster).
      podCIDRs: z.array(z.string()).nullish(),
      podCIDR: z.string().nullish(),
    })
    .nullish(),
  status: z.object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish() }).nullish(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;

export const StatefulSetRecord = z.object({
  metadata: NamespacedMeta,
  spec: z.object({
    // The API defaults it to 1; absent only from clients that skip defaulting.
    replicas: z.number().int().nonnegative().nullish(),
    ordinals: z.looseObject({ start: z.number().int().nonnegative().nullish() }).nullish(),
  }),
});
export type StatefulSetRecord = z.infer<typeof StatefulSetRecord>;

/** A ReplicaSet as far as a denied pod creation shows: wanted and made pods, and its ReplicaFailure condition. */
export const ReplicaSetRecord = z.object({
  metadata: NamespacedMeta,
  spec: z.object({ replicas: z.number().int().nonnegative().nullish() }),
  status: z
    .object({
      replicas: z.number().int().nonnegative().nullish(),
      conditions: z.array(z.object({ type: z.string(), status: z.string(), message: z.string().nullish() })).nullish(),
    })
    .nullish(),
});
export type ReplicaSetRecord = z.infer<typeof ReplicaSetRecord>;

const SpiderStatus = z.looseObject({}).nullish();

export const EndpointRecord = z.looseObject({
  metadata: NamespacedMeta,
  status: SpiderStatus,
});
export type EndpointRecord = z.infer<typeof EndpointRecord>;

/** A line for the log that says which object is malformed and how. */
export function describeMalformed(kind: ResourceKind, raw: unknown, error: z.ZodError): string {
  const name = (raw as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return `${kind.kind} ${typeof name === 'string' ? name : '(unnamed)'} is malformed, skipped: ${describeIssues(error)}`;
}
