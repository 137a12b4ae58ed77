import t from 'tap';
import type { PodState } from '../../../reconciler/claim-binding.js';
import { judgeClaimRelease, releaseEvent, statefulSetState, type ReleaseInputs, type StatefulSetState } from '../../../reconciler/claim-release.js';
import type { IPClaim } from '../../../ipam/ip-claim.js';
import { StatefulSetRecord } from '../../../reconciler/resources.js';

const CREATED_MS = Date.parse('2025-01-01T00:00:00Z');
const TTL = 120_000;

interface ClaimOptions {
  status?: IPClaim['status'];
  sts?: number;
  owner?: { apiVersion?: string; kind: string; name: string; uid?: string };
}

function claim(options: ClaimOptions = {}): IPClaim {
  const owner = options.sts !== undefined ? { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid' } : options.owner;
  return {
    metadata: { name: '10.6.0.5', uid: 'c-1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      address: '10.6.0.5',
      family: 4,
      pool: 'p1',
      interface: 'eth0',
      namespace: 'default',
      bindingID: 'b1',
      ...(owner ? { owner } : {}),
      ...(options.sts !== undefined ? { statefulSetOrdinal: options.sts } : {}),
    },
    ...(options.status ? { status: options.status } : {}),
  };
}

const pod = (extra: Partial<PodState> = {}): PodState => ({ namespace: 'default', name: 'web-1', uid: 'u1', terminating: false, finished: false, containersStopped: false, ...extra });
const set = (replicas: number, extra: Partial<StatefulSetState> = {}): StatefulSetState => ({ namespace: 'default', name: 'db', replicas, ordinalStart: 0, deleting: false, ...extra });
const bound = { phase: 'Bound' as const, podName: 'web-1', podUID: 'u1' };

function judge(c: IPClaim, rest: Partial<Omit<ReleaseInputs, 'claim'>> = {}) {
  return judgeClaimRelease({ claim: c, pods: [], statefulSet: undefined, nowMs: CREATED_MS + 1000, orphanTtlMs: TTL, ...rest });
}

t.test('kept while a pod carries the binding id, also while it terminates', async (t) => {
  t.same(judge(claim({ status: bound }), { pods: [pod()] }), { action: 'keep', why: 'pod-exists' });
  t.same(judge(claim({ status: bound }), { pods: [pod({ terminating: true })] }), { action: 'keep', why: 'pod-terminating' });
  t.same(judge(claim(), { pods: [pod()], nowMs: CREATED_MS + 10 * TTL }), { action: 'keep', why: 'pod-exists' }, 'bound or not, old or not');
  t.same(judge(claim({ sts: 5 }), { pods: [pod({ name: 'db-5' })], statefulSet: set(1) }), { action: 'keep', why: 'pod-exists' }, 'a scaled-down ordinal waits for its pod to go');
});

t.test("a bound claim whose pod is gone is released, naming the pod", async (t) => {
  t.same(judge(claim({ status: bound })), {
    action: 'release',
    reason: 'pod-deleted',
    message: 'released 10.6.0.5 (pool p1, interface eth0): pod default/web-1 was deleted',
    pod: { namespace: 'default', name: 'web-1', uid: 'u1' },
  });
  t.same(judge(claim({ status: bound }), { pods: [pod({ namespace: 'other' })] }).action, 'release', 'a pod with that id elsewhere does not count');
});

t.test('a finished pod gives its address back', async (t) => {
  const verdict = judge(claim({ status: bound }), { pods: [pod({ finished: true, phase: 'Succeeded' })] });
  t.same(verdict, {
    action: 'release',
    reason: 'pod-finished',
    message: 'released 10.6.0.5 (pool p1, interface eth0): pod default/web-1 finished (Succeeded)',
    pod: { namespace: 'default', name: 'web-1', uid: 'u1' },
  });
});

t.test('a claim whose pod never appeared waits for the TTL, then is released', async (t) => {
  t.same(judge(claim(), { nowMs: CREATED_MS + 30_000 }), { action: 'keep', why: 'awaiting-pod', recheckInMs: 90_000 });
  t.same(judge(claim(), { nowMs: CREATED_MS + TTL }), {
    action: 'release',
    reason: 'pod-never-created',
    message: 'released 10.6.0.5 (pool p1, interface eth0): no pod with binding id b1 appeared in namespace default within 120 s of admission; the pod create failed after the webhook',
  });
  const reserved = claim({ status: { phase: 'Reserved', reservedAt: '2025-01-01T00:00:00Z' } });
  t.equal(judge(reserved, { nowMs: CREATED_MS + TTL + 1 }).action, 'release', 'Reserved is the same');
  const noTime = claim();
  delete noTime.metadata.creationTimestamp;
  t.equal(judge(noTime).action, 'release', 'no creation time: as old as can be');
  t.same(judge(claim(), { nowMs: CREATED_MS + 2000, orphanTtlMs: 3000 }), { action: 'keep', why: 'awaiting-pod', recheckInMs: 1000 }, 'the TTL is an input');
});

t.test('a claim whose pod was seen deleted before it was bound is released at once', async (t) => {
  t.same(judge(claim(), { podSeenDeleted: true }), {
    action: 'release',
    reason: 'pod-deleted',
    message: 'released 10.6.0.5 (pool p1, interface eth0): the pod with binding id b1 in default was deleted',
  });
  t.same(judge(claim(), { podSeenDeleted: true, pods: [pod()] }), { action: 'keep', why: 'pod-exists' }, 'a live pod still wins');
  t.same(judge(claim({ sts: 0 }), { podSeenDeleted: true, statefulSet: set(1) }), { action: 'keep', why: 'statefulset-ordinal-in-range' }, 'an ordinal keeps its address across its pods');
});

t.test('a claim bound by hand (name, no UID) is judged by the TTL', async (t) => {
  t.equal(judge(claim({ status: { phase: 'Bound', podName: 'web-1' } })).action, 'keep');
  t.equal(judge(claim({ status: { phase: 'Bound', podName: 'web-1' } }), { nowMs: CREATED_MS + TTL }).action, 'release');
});

t.test('StatefulSet claims are kept for ordinals in range, even with no pod', async (t) => {
  t.same(judge(claim({ sts: 0, status: bound }), { statefulSet: set(1), nowMs: CREATED_MS + 10 * TTL }), { action: 'keep', why: 'statefulset-ordinal-in-range' });
  t.same(judge(claim({ sts: 2 }), { statefulSet: set(3) }), { action: 'keep', why: 'statefulset-ordinal-in-range' });
  t.same(judge(claim({ sts: 5 }), { statefulSet: set(2, { ordinalStart: 4 }) }), { action: 'keep', why: 'statefulset-ordinal-in-range' }, 'spec.ordinals.start');
});

t.test('StatefulSet claims are released when the set is scaled below the ordinal', async (t) => {
  const status = { phase: 'Reserved' as const, podName: 'db-2' };
  t.same(judge(claim({ sts: 2, status }), { statefulSet: set(2) }), {
    action: 'release',
    reason: 'statefulset-scaled-down',
    message: 'released 10.6.0.5 (pool p1, interface eth0) of StatefulSet default/db ordinal 2: the StatefulSet has 2 replicas now (ordinals 0-1)',
    pod: { namespace: 'default', name: 'db-2' },
  });
  t.match(judge(claim({ sts: 0 }), { statefulSet: set(0) }), { reason: 'statefulset-scaled-down', message: /has 0 replicas now \(no ordinals\)$/ });
  t.match(judge(claim({ sts: 3 }), { statefulSet: set(1, { ordinalStart: 5 }) }), { reason: 'statefulset-scaled-down', message: /has 1 replica now \(ordinal 5\)$/ });
});

t.test('StatefulSet claims are released when the set is gone or going', async (t) => {
  t.match(judge(claim({ sts: 0, status: bound })), { action: 'release', reason: 'statefulset-deleted', message: /of StatefulSet default\/db ordinal 0: the StatefulSet is gone$/ });
  t.match(judge(claim({ sts: 0 }), { statefulSet: set(3, { deleting: true }) }), { reason: 'statefulset-deleted' });
  t.match(judge(claim({ sts: 0 }), { statefulSet: set(3, { name: 'other' }) }), { reason: 'statefulset-deleted' }, 'another set is not the owner');
});

t.test('statefulSetState defaults replicas to 1 and the first ordinal to 0', async (t) => {
  t.same(statefulSetState(StatefulSetRecord.parse({ metadata: { name: 'db', namespace: 'ns' }, spec: {} })), { namespace: 'ns', name: 'db', replicas: 1, ordinalStart: 0, deleting: false });
  const parsed = StatefulSetRecord.parse({ metadata: { name: 'db', namespace: 'ns', deletionTimestamp: new Date() }, spec: { replicas: 4, ordinals: { start: 2 } } });
  t.same(statefulSetState(parsed), { namespace: 'ns', name: 'db', replicas: 4, ordinalStart: 2, deleting: true });
});

t.test('which releases are worth an Event, and on what', async (t) => {
  const deleted = judge(claim({ status: bound }));
  if (deleted.action !== 'release') throw new Error('expected a release');
  t.equal(releaseEvent(claim({ status: bound }), deleted), undefined, 'a deleted pod is the ordinary case');

  const finished = judge(claim({ status: bound }), { pods: [pod({ finished: true, phase: 'Failed' })] });
  if (finished.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(claim({ status: bound }), finished), {
    type: 'Normal',
    reason: 'AddressReleased',
    message: 'released 10.6.0.5 (pool p1, interface eth0): pod default/web-1 finished (Failed)',
    involved: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u1' },
  });

  const scaled = judge(claim({ sts: 1, status: { phase: 'Reserved', podName: 'db-1' } }), { statefulSet: set(1) });
  if (scaled.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(claim({ sts: 1 }), scaled)?.involved, { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'db-1' }, 'on the pod of the ordinal');

  const neverBound = claim({ sts: 1 });
  const scaledUnbound = judge(neverBound, { statefulSet: set(1) });
  if (scaledUnbound.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(neverBound, scaledUnbound)?.involved, { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db', uid: 'sts-uid' }, 'no pod known: on the set');

  const goneUnbound = judge(neverBound);
  if (goneUnbound.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(neverBound, goneUnbound)?.involved, { apiVersion: 'underpin.dev/v1alpha1', kind: 'IPClaim', name: '10.6.0.5', uid: 'c-1' }, 'the set is gone: on the claim');

  const rsClaim = claim({ owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f', uid: 'rs-uid' } });
  const orphan = judge(rsClaim, { nowMs: CREATED_MS + TTL });
  if (orphan.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(rsClaim, orphan)?.involved, { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'default', name: 'web-7d9f', uid: 'rs-uid' }, 'a pod never created: on its workload');
  const bare = judge(claim(), { nowMs: CREATED_MS + TTL });
  if (bare.action !== 'release') throw new Error('expected a release');
  t.same(releaseEvent(claim(), bare)?.involved, { apiVersion: 'underpin.dev/v1alpha1', kind: 'IPClaim', name: '10.6.0.5', uid: 'c-1' }, 'no workload: on the claim');
});

t.test("a claim the binding id's live pod does not name is released (an earlier binding of a StatefulSet ordinal)", async (t) => {
  const repinned = pod({ name: 'db-0', uid: 'u9', boundAddresses: ['10.7.0.9'] });
  const verdict = judge(claim({ sts: 0, status: { phase: 'Reserved', podName: 'db-0' } }), { pods: [repinned], statefulSet: set(3) });
  t.same(verdict, {
    action: 'release',
    reason: 'not-in-binding',
    message:
      'released 10.6.0.5 (pool p1, interface eth0): pod default/db-0 carries binding id b1 but was given other addresses (10.7.0.9); this claim is left from an earlier pod of the same binding',
    pod: { namespace: 'default', name: 'db-0', uid: 'u9' },
  });
  t.equal(releaseEvent(claim({ sts: 0 }), verdict as Extract<typeof verdict, { action: 'release' }>)?.involved.kind, 'Pod', 'the Event goes on the pod');
  t.same(judge(claim({ sts: 0 }), { pods: [pod({ name: 'db-0', boundAddresses: ['10.6.0.5', '10.7.0.9'] })], statefulSet: set(3) }), { action: 'keep', why: 'pod-exists' }, 'named: kept');
  t.same(judge(claim({ status: bound }), { pods: [pod()] }), { action: 'keep', why: 'pod-exists' }, 'no readable binding: kept, the safe side');
  t.same(judge(claim({ status: bound }), { pods: [pod({ boundAddresses: ['10.7.0.9'] }), pod({ name: 'web-2', uid: 'u2', boundAddresses: ['10.6.0.5'] })] }), { action: 'keep', why: 'pod-exists' }, 'one of several pods names it');
});

t.test('a clock minutes ahead does not make a claim a moment old an orphan', async (t) => {
  // By the server's timestamp the claim is 10 TTLs old; this process has seen it for 1 s.
  t.same(judge(claim(), { nowMs: CREATED_MS + 10 * TTL, claimSeenForMs: () => 1000 }), { action: 'keep', why: 'awaiting-pod', recheckInMs: TTL - 1000 });
  t.equal(judge(claim(), { nowMs: CREATED_MS + 10 * TTL, claimSeenForMs: () => TTL }).action, 'release', 'seen for the TTL: released');
  t.equal(judge(claim(), { nowMs: CREATED_MS + 1000, claimSeenForMs: () => 10 * TTL }).action, 'keep', 'a clock behind: the server age still counts');
});
