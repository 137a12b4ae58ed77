// Node loss: when may the address of a pod that is terminating, but will never be
// confirmed gone, go back to its pool? A pod deleted on a dead node stays Terminating
// for ever (no kubelet confirms), and so would its claims; a Deployment on pools of
// replicas + 1 could then replace one lost pod, not more. Pure: the controller passes
// the pod, its node as the API shows it, and how long this process has seen the pod
// terminating (a local clock: a reconciler whose clock is minutes ahead of the API
// server's must not cut the grace period short).
//
// Released, once the pod has been seen terminating for its grace period plus the
// configured delay:
// - its kubelet reported every container terminated, sidecars and debug containers
//   included (a finalizer holds the pod): the network is not in use, whatever the node;
// - its node is tainted node.kubernetes.io/out-of-service: the operator says it is down;
// - mode `not-ready` (the default, as Spiderpool's): its node is NotReady or Unknown,
//   or gone. The risk: a node cut off from the control plane, not dead, still runs
//   the pod with the address while its replacement gets it; mode `out-of-service`
//   waits for the operator's taint instead.
// StatefulSet ordinals are never released here: their claims are kept for the
// ordinal's next pod, which the StatefulSet controller makes only once the old pod is
// gone (force-deleted, or by the pod GC after the out-of-service taint).
import type { NODE_LOSS_RELEASE_MODES } from '../kube/underpin-config.js';
import type { PodState } from './claim-binding.js';

export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';

/** The setting nodeLossRelease. */
export type NodeLossMode = (typeof NODE_LOSS_RELEASE_MODES)[number];

export interface NodeLossPolicy {
  mode: NodeLossMode;
  /** Waited beyond the pod's grace period. */
  delayMs: number;
}

export const DEFAULT_NODE_LOSS_POLICY: NodeLossPolicy = { mode: 'not-ready', delayMs: 0 };

/** A node as the rules read it; undefined: there is no such Node object. */
export interface NodeState {
  name: string;
  /** The Ready condition's status: True, False, Unknown, or absent (no conditions yet). */
  ready?: string;
  outOfService: boolean;
}

export type NodeLossReason = 'pod-containers-stopped' | 'node-out-of-service' | 'node-not-ready' | 'node-gone';
export const NODE_LOSS_REASONS: readonly NodeLossReason[] = ['pod-containers-stopped', 'node-out-of-service', 'node-not-ready', 'node-gone'];

export type NodeLossVerdict = { action: 'keep' } | { action: 'wait'; inMs: number } | { action: 'release'; reason: NodeLossReason; why: string };

/** Kubernetes' default terminationGracePeriodSeconds, for a terminating pod that does not say. */
const DEFAULT_GRACE_SECONDS = 30;

export interface NodeLossInputs {
  pod: PodState;
  /** The pod's node; undefined when the Node object does not exist. */
  node: NodeState | undefined;
  /** How long this process has seen the pod terminating. */
  terminatingForMs: number;
  policy: NodeLossPolicy;
}

export function nodeState(record: { metadata: { name: string }; spec?: { taints?: { key: string }[] | null } | null; status?: { conditions?: { type: string; status: string }[] | null } | null }): NodeState {
  const ready = record.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return { name: record.metadata.name, ...(ready ? { ready } : {}), outOfService: record.spec?.taints?.some((t) => t.key === OUT_OF_SERVICE_TAINT) ?? false };
}

/** Why nothing will ever stop the pod's use of its address, if so: the release reason and its words. */
function lost(pod: PodState, node: NodeState | undefined, mode: NodeLossMode): { reason: NodeLossReason; why: string } | undefined {
  if (pod.containersStopped) return { reason: 'pod-containers-stopped', why: `its kubelet reported every container terminated${pod.node ? ` on node ${pod.node}` : ''}` };
  if (!pod.node) return undefined; // never scheduled: the API deletes it without a kubelet
  if (node?.outOfService) return { reason: 'node-out-of-service', why: `node ${pod.node} is tainted ${OUT_OF_SERVICE_TAINT}` };
  if (mode !== 'not-ready') return undefined;
  if (!node) return { reason: 'node-gone', why: `node ${pod.node} no longer exists` };
  if (node.ready !== undefined && node.ready !== 'True') return { reason: 'node-not-ready', why: `node ${pod.node} is NotReady (Ready: ${node.ready})` };
  return undefined;
}

export function judgeNodeLoss({ pod, node, terminatingForMs, policy }: NodeLossInputs): NodeLossVerdict {
  if (!pod.terminating || pod.finished) return { action: 'keep' };
  const cause = lost(pod, node, policy.mode);
  if (!cause) return { action: 'keep' };
  const graceMs = (pod.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  const remaining = graceMs + policy.delayMs - terminatingForMs;
  if (remaining > 0) return { action: 'wait', inMs: remaining };
  const waited = Math.round((graceMs + policy.delayMs) / 1000);
  return { action: 'release', reason: cause.reason, why: `pod ${pod.namespace}/${pod.name} is terminating and ${cause.why}, ${waited} s after its deletion (grace period${policy.delayMs > 0 ? ' and nodeLossReleaseDelaySeconds' : ''})` };
}
