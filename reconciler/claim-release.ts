// Claim garbage collection: when may an IPClaim's address go back to its pool? Pure:
// the controller passes the claim, the pods carrying its binding id, the StatefulSet
// it was made for (if any) and the time; it confirms a release against the API before
// carrying it out.
//
// A claim is kept while a pod carries its binding id — also while that pod is
// terminating: its containers may still use the address until the pod is gone; unless
// nothing will ever confirm it gone (its node is lost, or its kubelet stopped it and a
// finalizer holds it: node-loss.ts). With no pod left:
// - a StatefulSet claim is kept while the set exists and its ordinal is within the
//   set's replicas, so the ordinal's next pod gets the address back; released when
//   the set is gone or scaled below the ordinal;
// - a claim that was bound (status.podUID), or whose pod the controller saw deleted
//   before it could bind the claim, is released: its pod was deleted;
// - a claim whose pod finished (Succeeded/Failed) is released;
// - a claim whose pod never appeared is released once it is older than the orphan
//   TTL: admission passed, but the pod create failed after the webhook (another
//   webhook denied it, a quota, a timeout).
import type { EventToRecord } from './events.js';
import { isStatefulSetClaim, podHoldsClaim, type PodState } from './claim-binding.js';
import type { IPClaim } from '../ipam/ip-claim.js';
import type { StatefulSetRecord } from './resources.js';
import { IP_CLAIM, apiVersionOf } from '../kube/resources.js';
import { judgeNodeLoss, NODE_LOSS_REASONS, type NodeLossPolicy, type NodeLossReason, type NodeState } from './node-loss.js';

export type ReleaseReason = 'pod-deleted' | 'pod-finished' | 'pod-never-created' | 'statefulset-deleted' | 'statefulset-scaled-down' | 'not-in-binding' | NodeLossReason;
export const RELEASE_REASONS: readonly ReleaseReason[] = ['pod-deleted', 'pod-finished', 'pod-never-created', 'statefulset-deleted', 'statefulset-scaled-down', 'not-in-binding', ...NODE_LOSS_REASONS];

export type KeepReason = 'pod-exists' | 'pod-terminating' | 'statefulset-ordinal-in-range' | 'awaiting-pod';

export interface StatefulSetState {
  namespace: string;
  name: string;
  replicas: number;
  /** spec.ordinals.start: ordinals run from it to start + replicas - 1. */
  ordinalStart: number;
  deleting: boolean;
}

export function statefulSetState(record: StatefulSetRecord): StatefulSetState {
  return {
    namespace: record.metadata.namespace,
    name: record.metadata.name,
    replicas: record.spec.replicas ?? 1,
    ordinalStart: record.spec.ordinals?.start ?? 0,
    deleting: record.metadata.deletionTimestamp != null,
  };
}

export type ReleaseVerdict =
  | { action: 'keep'; why: KeepReason; recheckInMs?: number }
  | { action: 'release'; reason: ReleaseReason; message: string; pod?: { namespace: string; name: string; uid?: string } };

export interface ReleaseInputs {
  claim: IPClaim;
  /** Pods carrying the claim's binding id (other namespaces are ignored). */
  pods: readonly PodState[];
  /** The StatefulSet named by spec.owner of a StatefulSet claim, if it exists. */
  statefulSet: StatefulSetState | undefined;
  /**
   * A pod carrying the binding id was seen deleted (a watch event) — it may have come
   * and gone before the claim was bound. Binding ids are random per pod, so no other
   * pod will ever carry this one (StatefulSet ids are stable, but those claims follow
   * their set's rules above).
   */
  podSeenDeleted?: boolean;
  nowMs: number;
  orphanTtlMs: number;
  /** How long the caller has seen this claim, on its own clock (asked only of a claim that may be an orphan). */
  claimSeenForMs?: () => number;
  /** Judge terminating pods for node loss (absent: a terminating pod always keeps its claims). */
  nodeLoss?: {
    policy: NodeLossPolicy;
    /** The node as the API shows it; undefined when there is no such Node. */
    node(name: string): NodeState | undefined;
    /** How long this process has seen the pod terminating. */
    terminatingForMs(pod: PodState): number;
  };
}

function what(claim: IPClaim): string {
  return `${claim.spec.address} (pool ${claim.spec.pool}, interface ${claim.spec.interface})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function ordinalRange(set: StatefulSetState): string {
  if (set.replicas === 0) return 'no ordinals';
  if (set.replicas === 1) return `ordinal ${set.ordinalStart}`;
  return `ordinals ${set.ordinalStart}-${set.ordinalStart + set.replicas - 1}`;
}

export function judgeClaimRelease(inputs: ReleaseInputs): ReleaseVerdict {
  const { claim } = inputs;
  const namespace = claim.spec.namespace;
  const pods = inputs.pods.filter((pod) => pod.namespace === namespace);
  const live = pods.filter((pod) => !pod.finished);
  const holders = live.filter((pod) => podHoldsClaim(pod, claim));
  if (holders.length > 0) {
    if (!holders.every((pod) => pod.terminating)) return { action: 'keep', why: 'pod-exists' };
    return judgeTerminatingHolders(inputs, holders);
  }
  const other = live[0];
  if (other) {
    // Binding ids are never reused but by a StatefulSet ordinal's next pod, admitted
    // only once its predecessor is gone: a live pod with the id and other addresses
    // means this claim belongs to an earlier binding that will not come back.
    return {
      action: 'release',
      reason: 'not-in-binding',
      message: `released ${what(claim)}: pod ${namespace}/${other.name} carries binding id ${claim.spec.bindingID} but was given other addresses (${other.boundAddresses?.join(', ') || 'none'}); this claim is left from an earlier pod of the same binding`,
      pod: { namespace, name: other.name, uid: other.uid },
    };
  }

  const lastPod = claim.status?.podName
    ? { namespace, name: claim.status.podName, ...(claim.status.podUID ? { uid: claim.status.podUID } : {}) }
    : undefined;
  const withPod = (verdict: Omit<Extract<ReleaseVerdict, { action: 'release' }>, 'pod'>, pod = lastPod): ReleaseVerdict =>
    pod ? { ...verdict, pod } : verdict;

  if (isStatefulSetClaim(claim)) {
    const owner = claim.spec.owner!;
    const ordinal = claim.spec.statefulSetOrdinal!;
    const setName = `StatefulSet ${namespace}/${owner.name}`;
    const set = inputs.statefulSet;
    if (!set || set.deleting || set.namespace !== namespace || set.name !== owner.name) {
      return withPod({ action: 'release', reason: 'statefulset-deleted', message: `released ${what(claim)} of ${setName} ordinal ${ordinal}: the StatefulSet is gone` });
    }
    if (ordinal < set.ordinalStart || ordinal >= set.ordinalStart + set.replicas) {
      return withPod({
        action: 'release',
        reason: 'statefulset-scaled-down',
        message: `released ${what(claim)} of ${setName} ordinal ${ordinal}: the StatefulSet has ${set.replicas} replica${set.replicas === 1 ? '' : 's'} now (${ordinalRange(set)})`,
      });
    }
    return { action: 'keep', why: 'statefulset-ordinal-in-range' };
  }

  const finished = pods.find((pod) => pod.finished);
  if (finished) {
    return withPod(
      { action: 'release', reason: 'pod-finished', message: `released ${what(claim)}: pod ${namespace}/${finished.name} finished (${finished.phase ?? 'completed'})` },
      { namespace, name: finished.name, uid: finished.uid },
    );
  }
  if (claim.status?.podUID || inputs.podSeenDeleted) {
    const pod = claim.status?.podName ? `pod ${namespace}/${claim.status.podName}` : `the pod with binding id ${claim.spec.bindingID} in ${namespace}`;
    return withPod({ action: 'release', reason: 'pod-deleted', message: `released ${what(claim)}: ${pod} was deleted` });
  }
  const born = claim.metadata.creationTimestamp ? Date.parse(claim.metadata.creationTimestamp) : Number.NaN;
  // By the API server's clock and, when the caller keeps one, by how long it has seen
  // the claim itself: a clock minutes ahead must not make a claim a moment old an orphan.
  const serverAgeMs = Number.isNaN(born) ? Number.POSITIVE_INFINITY : inputs.nowMs - born;
  const ageMs = Math.min(serverAgeMs, inputs.claimSeenForMs?.() ?? Number.POSITIVE_INFINITY);
  if (ageMs < inputs.orphanTtlMs) return { action: 'keep', why: 'awaiting-pod', recheckInMs: inputs.orphanTtlMs - ageMs };
  return withPod({
    action: 'release',
    reason: 'pod-never-created',
    message: `released ${what(claim)}: no pod with binding id ${claim.spec.bindingID} appeared in namespace ${namespace} within ${seconds(inputs.orphanTtlMs)} of admission; the pod create failed after the webhook`,
  });
}

/** Every pod holding the claim is terminating: kept, unless nothing will ever stop any of them (node loss). */
function judgeTerminatingHolders({ claim, nodeLoss }: ReleaseInputs, holders: readonly PodState[]): ReleaseVerdict {
  // A StatefulSet ordinal keeps its address for its next pod, whatever became of this one.
  if (!nodeLoss || isStatefulSetClaim(claim)) return { action: 'keep', why: 'pod-terminating' };
  const verdicts = holders.map((pod) => judgeNodeLoss({ pod, node: pod.node ? nodeLoss.node(pod.node) : undefined, terminatingForMs: nodeLoss.terminatingForMs(pod), policy: nodeLoss.policy }));
  const first = verdicts[0];
  if (first?.action === 'release' && verdicts.every((v) => v.action === 'release')) {
    const pod = holders[0]!;
    return { action: 'release', reason: first.reason, message: `released ${what(claim)}: ${first.why}; its replacement may take the address`, pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid } };
  }
  if (verdicts.some((v) => v.action === 'keep')) return { action: 'keep', why: 'pod-terminating' };
  const waits = verdicts.flatMap((v) => (v.action === 'wait' ? [v.inMs] : []));
  return { action: 'keep', why: 'pod-terminating', recheckInMs: Math.min(...waits) };
}

export const ADDRESS_RELEASED_REASON = 'AddressReleased';

/**
 * The Event a release is worth, or undefined. A pod deleted and its address freed is
 * the ordinary case and says nothing new; the others do: a finished pod's address,
 * a StatefulSet ordinal's address given up, an admission whose pod never came. Each
 * goes on the pod when one is known, else on the workload, else on the claim.
 */
export function releaseEvent(claim: IPClaim, verdict: Extract<ReleaseVerdict, { action: 'release' }>): EventToRecord | undefined {
  if (verdict.reason === 'pod-deleted') return undefined;
  const base = { type: 'Normal' as const, reason: ADDRESS_RELEASED_REASON, message: verdict.message };
  if (verdict.pod) {
    return { ...base, involved: { apiVersion: 'v1', kind: 'Pod', namespace: verdict.pod.namespace, name: verdict.pod.name, ...(verdict.pod.uid ? { uid: verdict.pod.uid } : {}) } };
  }
  const owner = claim.spec.owner;
  if (owner?.apiVersion && verdict.reason !== 'statefulset-deleted') {
    return { ...base, involved: { apiVersion: owner.apiVersion, kind: owner.kind, namespace: claim.spec.namespace, name: owner.name, ...(owner.uid ? { uid: owner.uid } : {}) } };
  }
  return {
    ...base,
    involved: { apiVersion: apiVersionOf(IP_CLAIM), kind: IP_CLAIM.kind, name: claim.metadata.name, ...(claim.metadata.uid ? { uid: claim.metadata.uid } : {}) },
  };
}
