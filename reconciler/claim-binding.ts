// Claim binder: which pod holds an IPClaim, and the status the claim should show.
// Pure: the controller passes the claim, the pods that carry its binding id in its
// namespace, and the time; it writes what comes back.
//
// The webhook creates a claim before the pod exists (a generateName pod has no name
// nor UID at admission), so the claim starts with no status. Once a pod with label
// `underpin.dev/binding-id` = spec.bindingID appears in spec.namespace, the claim
// becomes Bound to that pod (name, UID, node once scheduled). A claim whose pod has
// not appeared shows Reserved — after a short grace, because the pod almost always
// appears within milliseconds and one status write per claim is enough.
import { parseAddress, formatAddress } from '../ipam/address.js';
import { bindingAddresses, readPodBinding } from '../ipam/binding.js';
import type { IPClaim } from '../ipam/ip-claim.js';
import type { PodRecord } from './resources.js';

export interface ClaimStatus {
  phase: 'Reserved' | 'Bound';
  podName?: string;
  podUID?: string;
  node?: string;
  reservedAt?: string;
  boundAt?: string;
}

/** A pod as the claim rules see it. */
export interface PodState {
  namespace: string;
  name: string;
  uid: string;
  /** spec.nodeName, once scheduled. */
  node?: string;
  /** deletionTimestamp is set: it still runs (or may) until it is gone. */
  terminating: boolean;
  /** Succeeded or Failed: its containers never run again, its sandbox is torn down. */
  finished: boolean;
  /** metadata.deletionGracePeriodSeconds of a terminating pod: how long its kubelet has to stop it. */
  graceSeconds?: number;
  /** Its kubelet reported every container terminated, and no sidecar or debug container running (a finalizer may still hold the pod). */
  containersStopped: boolean;
  phase?: string;
  /**
   * The addresses its `underpin.dev/binding` annotation names, canonical, without
   * prefix length; absent when the annotation is missing or unreadable (the pod is then
   * taken to hold every claim of its binding id, the safe side).
   */
  boundAddresses?: readonly string[];
}

export function podState(pod: PodRecord): PodState {
  const phase = pod.status?.phase ?? undefined;
  const node = pod.spec?.nodeName;
  const binding = readPodBinding(pod.metadata.annotations);
  const boundAddresses = binding?.ok ? bindingAddresses(binding.value)?.map(formatAddress) : undefined;
  return {
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    ...(node ? { node } : {}),
    terminating: pod.metadata.deletionTimestamp != null,
    finished: phase === 'Succeeded' || phase === 'Failed',
    ...(pod.metadata.deletionGracePeriodSeconds != null ? { graceSeconds: pod.metadata.deletionGracePeriodSeconds } : {}),
    containersStopped: containersStopped(pod.status),
    ...(phase ? { phase } : {}),
    ...(boundAddresses ? { boundAddresses } : {}),
  };
}

/**
 * Nothing of the pod runs any more: every container terminated, and no init container
 * running — a sidecar (restartPolicy Always) is stopped after the containers it
 * serves, so for a while it is the one still using the address — nor an ephemeral
 * (debug) container.
 */
function containersStopped(status: PodRecord['status']): boolean {
  const containers = status?.containerStatuses ?? [];
  if (containers.length === 0 || !containers.every((c) => c.state?.terminated != null)) return false;
  return [...(status?.initContainerStatuses ?? []), ...(status?.ephemeralContainerStatuses ?? [])].every((c) => c.state?.running == null);
}

/** `10.6.0.5`, `fd00::5`: the form claims are compared in. */
function canonicalAddress(text: string): string {
  const parsed = parseAddress(text.split('/')[0] ?? '');
  return parsed.ok ? formatAddress(parsed.value) : text;
}

/**
 * Whether the pod's binding names the claim's address. A pod carrying the claim's
 * binding id may still hold other addresses: a StatefulSet ordinal (stable id) whose
 * pool annotation changed got new ones, and the old claim is left from its earlier pod.
 */
export function podHoldsClaim(pod: PodState, claim: IPClaim): boolean {
  return pod.boundAddresses === undefined || pod.boundAddresses.includes(canonicalAddress(claim.spec.address));
}

/** A claim the webhook made for a StatefulSet ordinal: kept across that ordinal's pods. */
export function isStatefulSetClaim(claim: IPClaim): boolean {
  return claim.spec.owner?.kind === 'StatefulSet' && claim.spec.statefulSetOrdinal != null;
}

/**
 * The pod holding the claim, among the pods carrying its binding id in its namespace:
 * the one it is bound to already if that one still runs, else the first live one.
 * Finished pods hold nothing. Normally there is at most one candidate: a binding id is
 * random per pod, and a StatefulSet ordinal's pods share one name, so never coexist.
 */
export function holderOf(claim: IPClaim, pods: readonly PodState[]): PodState | undefined {
  const candidates = pods.filter((pod) => !pod.finished && pod.namespace === claim.spec.namespace && podHoldsClaim(pod, claim));
  const current = claim.status?.podUID;
  return candidates.find((pod) => pod.uid === current) ?? [...candidates].sort((a, b) => a.name.localeCompare(b.name))[0];
}

export type StatusDecision =
  | { kind: 'unchanged' }
  | { kind: 'write'; status: ClaimStatus }
  /** Nothing to write yet; look again in `inMs`. */
  | { kind: 'later'; inMs: number };

/** How long a new claim may show no status while its pod is on the way. */
export const RESERVE_GRACE_MS = 2000;

/**
 * How long a new claim whose pod is not yet scheduled waits to be bound: the scheduler
 * almost always places the pod within it, and binding once with the node costs one
 * status write per claim instead of two (issue 17's writes per pod).
 */
export const SCHEDULE_GRACE_MS = 10_000;

const FIELDS = ['phase', 'podName', 'podUID', 'node', 'reservedAt', 'boundAt'] as const;

function sameStatus(current: IPClaim['status'], desired: ClaimStatus): boolean {
  return FIELDS.every((field) => (current?.[field] ?? undefined) === desired[field]);
}

function createdMs(claim: IPClaim): number | undefined {
  const text = claim.metadata.creationTimestamp;
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The status to write, if any. `holder` is holderOf(claim, pods). A claim that lost
 * its pod is not this function's business unless it is a StatefulSet claim kept for
 * its ordinal (then Reserved again, keeping the ordinal's pod name): every other such
 * claim is released by the garbage collector, and a status someone else wrote is left
 * alone.
 */
export function decideClaimStatus(claim: IPClaim, holder: PodState | undefined, nowMs: number, graceMs = RESERVE_GRACE_MS): StatusDecision {
  const current = claim.status ?? undefined;
  const now = new Date(nowMs).toISOString();
  const created = claim.metadata.creationTimestamp ?? undefined;
  const reservedAt = current?.reservedAt ?? created ?? now;
  if (holder) {
    const sameHolder = current?.podUID === holder.uid;
    if (!holder.node && !current?.phase) {
      const born = createdMs(claim);
      if (born !== undefined && nowMs - born < SCHEDULE_GRACE_MS) return { kind: 'later', inMs: SCHEDULE_GRACE_MS - (nowMs - born) };
    }
    const desired: ClaimStatus = {
      phase: 'Bound',
      podName: holder.name,
      podUID: holder.uid,
      ...(holder.node ? { node: holder.node } : {}),
      reservedAt,
      boundAt: sameHolder && current?.boundAt ? current.boundAt : now,
    };
    return sameStatus(current, desired) ? { kind: 'unchanged' } : { kind: 'write', status: desired };
  }
  if (!current?.phase) {
    const born = createdMs(claim);
    if (born !== undefined && nowMs - born < graceMs) return { kind: 'later', inMs: graceMs - (nowMs - born) };
    return { kind: 'write', status: { phase: 'Reserved', reservedAt } };
  }
  if (current.phase === 'Bound' && isStatefulSetClaim(claim)) {
    // The ordinal's pod is gone; its successor (same name) gets the address back.
    return { kind: 'write', status: { phase: 'Reserved', reservedAt, ...(current.podName ? { podName: current.podName } : {}) } };
  }
  return { kind: 'unchanged' };
}
