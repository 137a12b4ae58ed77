// Node-loss release, pure: a stateless pod terminating where nothing will ever stop
// it gives its addresses back once seen terminating for its grace period (plus the
// delay), by mode; a StatefulSet ordinal never; nodes without conditions, unknown
// nodes in out-of-service mode and pods still running (a sidecar or a debug container
// included) keep their claims.
import t from 'tap';
import { podState, type PodState } from '../../../reconciler/claim-binding.js';
import { judgeClaimRelease, releaseEvent, type ReleaseInputs } from '../../../reconciler/claim-release.js';
import { judgeNodeLoss, nodeState, type NodeLossPolicy, type NodeState } from '../../../reconciler/node-loss.js';
import type { IPClaim } from '../../../ipam/ip-claim.js';
import { NodeRecord, PodRecord } from '../../../reconciler/resources.js';

const pod = (extra: Partial<PodState> = {}): PodState => ({
  namespace: 'default',
  name: 'web-1',
  uid: 'u1',
  node: 'node-2',
  terminating: true,
  finished: false,
  graceSeconds: 30,
  containersStopped: false,
  ...extra,
});
const NOT_READY: NodeState = { name: 'node-2', ready: 'Unknown', outOfService: false };
const READY: NodeState = { name: 'node-2', ready: 'True', outOfService: false };
const DEFAULT: NodeLossPolicy = { mode: 'not-ready', delayMs: 0 };
const STRICT: NodeLossPolicy = { mode: 'out-of-service', delayMs: 0 };

t.test('released past the grace period on a NotReady, gone or out-of-service node', async (t) => {
  t.same(judgeNodeLoss({ pod: pod(), node: NOT_READY, terminatingForMs: 10_000, policy: DEFAULT }), { action: 'wait', inMs: 20_000 }, 'within its grace period: wait');
  t.match(judgeNodeLoss({ pod: pod(), node: NOT_READY, terminatingForMs: 30_000, policy: DEFAULT }), { action: 'release', reason: 'node-not-ready', why: 'pod default/web-1 is terminating and node node-2 is NotReady (Ready: Unknown), 30 s after its deletion (grace period)' });
  t.match(judgeNodeLoss({ pod: pod(), node: { ...NOT_READY, ready: 'False' }, terminatingForMs: 31_000, policy: DEFAULT }), { action: 'release', reason: 'node-not-ready' });
  t.match(judgeNodeLoss({ pod: pod(), node: undefined, terminatingForMs: 31_000, policy: DEFAULT }), { action: 'release', reason: 'node-gone' });
  t.match(judgeNodeLoss({ pod: pod(), node: { ...READY, outOfService: true }, terminatingForMs: 31_000, policy: DEFAULT }), { action: 'release', reason: 'node-out-of-service' });
  t.same(judgeNodeLoss({ pod: pod(), node: NOT_READY, terminatingForMs: 31_000, policy: { mode: 'not-ready', delayMs: 60_000 } }), { action: 'wait', inMs: 59_000 }, 'the delay adds to the grace period');
  t.same(judgeNodeLoss({ pod: pod({ graceSeconds: 0 }), node: NOT_READY, terminatingForMs: 0, policy: DEFAULT }).action, 'release', 'grace 0: at once');
  t.same(judgeNodeLoss({ pod: pod({ graceSeconds: undefined as unknown as number }), node: NOT_READY, terminatingForMs: 29_000, policy: DEFAULT }).action, 'wait', 'no grace period said: 30 s');
});

t.test('mode out-of-service: only the operator\'s taint (or a stopped pod) releases', async (t) => {
  t.same(judgeNodeLoss({ pod: pod(), node: NOT_READY, terminatingForMs: 3_600_000, policy: STRICT }), { action: 'keep' });
  t.same(judgeNodeLoss({ pod: pod(), node: undefined, terminatingForMs: 3_600_000, policy: STRICT }), { action: 'keep' }, 'a gone node: the pod GC deletes its pods');
  t.match(judgeNodeLoss({ pod: pod(), node: { ...NOT_READY, outOfService: true }, terminatingForMs: 31_000, policy: STRICT }), { action: 'release', reason: 'node-out-of-service' });
  t.match(judgeNodeLoss({ pod: pod({ containersStopped: true }), node: READY, terminatingForMs: 31_000, policy: STRICT }), { action: 'release', reason: 'pod-containers-stopped' });
});

t.test('kept: a Ready node, a node without conditions, a pod not terminating, still running containers', async (t) => {
  t.same(judgeNodeLoss({ pod: pod(), node: READY, terminatingForMs: 3_600_000, policy: DEFAULT }), { action: 'keep' }, 'its kubelet will stop it');
  const bare = nodeState(NodeRecord.parse({ metadata: { name: 'node-2' } }));
  t.same(bare, { name: 'node-2', outOfService: false });
  t.same(judgeNodeLoss({ pod: pod(), node: bare, terminatingForMs: 3_600_000, policy: DEFAULT }), { action: 'keep' }, 'a node without conditions is not taken for lost');
  t.same(judgeNodeLoss({ pod: pod({ terminating: false }), node: NOT_READY, terminatingForMs: 3_600_000, policy: DEFAULT }), { action: 'keep' }, 'not deleted: it may come back');
  t.same(judgeNodeLoss({ pod: pod({ node: undefined as unknown as string }), node: undefined, terminatingForMs: 3_600_000, policy: DEFAULT }), { action: 'keep' }, 'never scheduled');
  const tainted = nodeState(NodeRecord.parse({ metadata: { name: 'n' }, spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] }, status: { conditions: [{ type: 'Ready', status: 'False' }] } }));
  t.same(tainted, { name: 'n', ready: 'False', outOfService: true });
});

t.test('containers stopped: every container terminated, and no sidecar or debug container still running', async (t) => {
  const stopped = (status: object) =>
    podState(PodRecord.parse({ metadata: { name: 'web-1', namespace: 'default', uid: 'u1', deletionTimestamp: '2025-01-01T00:00:00Z' }, spec: { nodeName: 'node-2' }, status: { phase: 'Running', ...status } }));
  const terminated = { name: 'c', state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  const running = { name: 'c', state: { running: { startedAt: '2025-01-01T00:00:00Z' } } };
  t.equal(stopped({ containerStatuses: [terminated, terminated] }).containersStopped, true);
  t.equal(stopped({ containerStatuses: [terminated, running] }).containersStopped, false, 'one still runs');
  t.equal(stopped({}).containersStopped, false, 'nothing reported: nothing known');
  t.equal(stopped({ containerStatuses: [terminated], initContainerStatuses: [terminated, terminated] }).containersStopped, true, 'init containers done, the sidecar stopped too');
  t.equal(stopped({ containerStatuses: [terminated], initContainerStatuses: [{ name: 'sidecar', state: { waiting: { reason: 'PodInitializing' } } }] }).containersStopped, true, 'a container waiting does not run');

  // A sidecar is stopped after the containers it serves: meanwhile it still uses the address.
  const sidecar = stopped({ containerStatuses: [terminated], initContainerStatuses: [terminated, running] });
  t.equal(sidecar.containersStopped, false, 'a sidecar still runs');
  t.same(judgeNodeLoss({ pod: sidecar, node: READY, terminatingForMs: 31_000, policy: DEFAULT }), { action: 'keep' }, 'on a Ready node its kubelet will stop it: kept');
  const debug = stopped({ containerStatuses: [terminated], ephemeralContainerStatuses: [running] });
  t.equal(debug.containersStopped, false, 'a debug container still runs');
  t.same(judgeNodeLoss({ pod: debug, node: READY, terminatingForMs: 31_000, policy: DEFAULT }), { action: 'keep' });
});

const claim = (extra: Partial<IPClaim['spec']> = {}): IPClaim => ({
  metadata: { name: '10.6.0.5', uid: 'c-1', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { address: '10.6.0.5', family: 4, pool: 'p1', interface: 'eth0', namespace: 'default', bindingID: 'b1', ...extra },
  status: { phase: 'Bound', podName: 'web-1', podUID: 'u1' },
});

function judge(c: IPClaim, pods: PodState[], node: NodeState | undefined, terminatingForMs = 31_000, policy = DEFAULT) {
  const inputs: ReleaseInputs = { claim: c, pods, statefulSet: undefined, nowMs: Date.parse('2025-01-01T01:00:00Z'), orphanTtlMs: 120_000, nodeLoss: { policy, node: () => node, terminatingForMs: () => terminatingForMs } };
  return judgeClaimRelease(inputs);
}

t.test('the claim rules: a lost pod\'s claim is released with an Event on the pod; a StatefulSet ordinal\'s is kept', async (t) => {
  const verdict = judge(claim(), [pod()], NOT_READY);
  t.same(verdict, {
    action: 'release',
    reason: 'node-not-ready',
    message: 'released 10.6.0.5 (pool p1, interface eth0): pod default/web-1 is terminating and node node-2 is NotReady (Ready: Unknown), 30 s after its deletion (grace period); its replacement may take the address',
    pod: { namespace: 'default', name: 'web-1', uid: 'u1' },
  });
  if (verdict.action === 'release') t.match(releaseEvent(claim(), verdict), { reason: 'AddressReleased', involved: { kind: 'Pod', name: 'web-1' } });
  t.same(judge(claim(), [pod()], NOT_READY, 5_000), { action: 'keep', why: 'pod-terminating', recheckInMs: 25_000 }, 'rechecked when the grace period ends');
  const ordinal = claim({ owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, statefulSetOrdinal: 1 });
  t.same(judge(ordinal, [pod({ name: 'db-1' })], NOT_READY, 3_600_000), { action: 'keep', why: 'pod-terminating' }, 'kept for the ordinal\'s next pod');
  t.same(judge(claim(), [pod(), pod({ uid: 'u2', name: 'web-2', node: 'node-3' })], undefined).action, 'release', 'every holder lost');
  t.same(judge(claim(), [pod(), pod({ uid: 'u2', terminating: false })], NOT_READY), { action: 'keep', why: 'pod-exists' }, 'a live holder keeps it');
  t.same(judge(claim(), [pod({ namespace: 'other' })], NOT_READY).action, 'release', 'a pod of another namespace is not a holder (the claim\'s pod moved namespaces: pod-deleted rules)');
});
