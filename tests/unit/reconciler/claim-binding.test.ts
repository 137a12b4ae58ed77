import t from 'tap';
import { decideClaimStatus, holderOf, isStatefulSetClaim, podState, RESERVE_GRACE_MS, SCHEDULE_GRACE_MS, type PodState } from '../../../reconciler/claim-binding.js';
import type { IPClaim } from '../../../ipam/ip-claim.js';
import { PodRecord } from '../../../reconciler/resources.js';

const CREATED = '2025-01-01T00:00:00Z';
const CREATED_MS = Date.parse(CREATED);
const LATER = CREATED_MS + 60_000;

function claim(extra: { status?: IPClaim['status']; sts?: number; created?: string | null } = {}): IPClaim {
  return {
    metadata: { name: '10.6.0.5', uid: 'c-1', resourceVersion: '7', ...(extra.created === null ? {} : { creationTimestamp: extra.created ?? CREATED }) },
    spec: {
      address: '10.6.0.5',
      family: 4,
      pool: 'p1',
      interface: 'eth0',
      namespace: 'default',
      bindingID: 'b1',
      ...(extra.sts !== undefined ? { owner: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, statefulSetOrdinal: extra.sts } : {}),
    },
    ...(extra.status !== undefined ? { status: extra.status } : {}),
  };
}

function pod(name: string, uid: string, extra: Partial<PodState> = {}): PodState {
  return { namespace: 'default', name, uid, terminating: false, finished: false, containersStopped: false, ...extra };
}

t.test('podState reads a pod from a watch (strings) or from a typed list (Dates)', async (t) => {
  const fromWatch = PodRecord.parse({
    metadata: { name: 'web-1', namespace: 'default', uid: 'u1', deletionTimestamp: '2025-01-01T00:00:00Z' },
    spec: { nodeName: 'node-a' },
    status: { phase: 'Running' },
  });
  t.same(podState(fromWatch), { namespace: 'default', name: 'web-1', uid: 'u1', node: 'node-a', terminating: true, finished: false, containersStopped: false, phase: 'Running' });
  const fromList = PodRecord.parse({
    metadata: { name: 'job-1', namespace: 'ns', uid: 'u2', creationTimestamp: new Date(CREATED_MS) },
    spec: {},
    status: { phase: 'Succeeded' },
  });
  t.equal(fromList.metadata.creationTimestamp, '2025-01-01T00:00:00.000Z');
  t.same(podState(fromList), { namespace: 'ns', name: 'job-1', uid: 'u2', terminating: false, finished: true, containersStopped: false, phase: 'Succeeded' });
  t.same(podState(PodRecord.parse({ metadata: { name: 'p', namespace: 'ns', uid: 'u3' } })), { namespace: 'ns', name: 'p', uid: 'u3', terminating: false, finished: false, containersStopped: false });
});

t.test('StatefulSet claims are those with a StatefulSet owner and an ordinal', async (t) => {
  t.ok(isStatefulSetClaim(claim({ sts: 0 })));
  t.notOk(isStatefulSetClaim(claim()));
  const noOrdinal = claim({ sts: 0 });
  noOrdinal.spec.statefulSetOrdinal = null;
  t.notOk(isStatefulSetClaim(noOrdinal));
});

t.test('the holder: the bound pod while it lives, else the first live pod of its namespace', async (t) => {
  t.equal(holderOf(claim(), []), undefined);
  t.equal(holderOf(claim(), [pod('a', 'u1', { finished: true })]), undefined, 'a finished pod holds nothing');
  t.equal(holderOf(claim(), [pod('a', 'u1', { namespace: 'other' })]), undefined, 'a pod of another namespace holds nothing');
  t.equal(holderOf(claim({ status: { phase: 'Bound', podUID: 'u2' } }), [pod('a', 'u1'), pod('b', 'u2')])?.uid, 'u2');
  t.equal(holderOf(claim(), [pod('b', 'u2'), pod('a', 'u1')])?.uid, 'u1', 'by name, deterministic');
  t.equal(holderOf(claim(), [pod('a', 'u1', { terminating: true })])?.uid, 'u1', 'a terminating pod still holds it');
});

t.test('a pod appears: the claim becomes Bound with name, UID, node and times', async (t) => {
  const decision = decideClaimStatus(claim(), pod('web-1', 'u1', { node: 'node-a' }), LATER);
  t.same(decision, {
    kind: 'write',
    status: { phase: 'Bound', podName: 'web-1', podUID: 'u1', node: 'node-a', reservedAt: CREATED, boundAt: new Date(LATER).toISOString() },
  });
});

t.test('an unscheduled pod: bound once the scheduler placed it (one write), or without a node after the grace; scheduling adds it and keeps boundAt', async (t) => {
  t.same(decideClaimStatus(claim(), pod('web-1', 'u1'), CREATED_MS + 1500), { kind: 'later', inMs: SCHEDULE_GRACE_MS - 1500 }, 'a fresh claim waits for the node');
  t.equal(decideClaimStatus(claim(), pod('web-1', 'u1', { node: 'node-a' }), CREATED_MS + 1500).kind, 'write', 'scheduled within the grace: bound at once, with the node');
  const first = decideClaimStatus(claim(), pod('web-1', 'u1'), CREATED_MS + SCHEDULE_GRACE_MS);
  t.equal(first.kind, 'write');
  if (first.kind !== 'write') return;
  t.notOk('node' in first.status);
  const bound = claim({ status: { ...first.status } });
  t.same(decideClaimStatus(bound, pod('web-1', 'u1'), LATER + 5000), { kind: 'unchanged' }, 'nothing new: no write');
  t.same(decideClaimStatus(claim({ status: { phase: 'Reserved', reservedAt: CREATED } }), pod('web-1', 'u1'), CREATED_MS + 1500).kind, 'write', 'a claim Reserved already is bound at once, node or not');
  const scheduled = decideClaimStatus(bound, pod('web-1', 'u1', { node: 'node-b' }), LATER + 5000);
  t.same(scheduled, { kind: 'write', status: { ...first.status, node: 'node-b' } });
});

t.test('a StatefulSet ordinal re-created: bound to the new pod with a new boundAt', async (t) => {
  const old = claim({ sts: 0, status: { phase: 'Bound', podName: 'db-0', podUID: 'old', node: 'n1', reservedAt: CREATED, boundAt: CREATED } });
  const decision = decideClaimStatus(old, pod('db-0', 'new', { node: 'n2' }), LATER);
  t.same(decision, { kind: 'write', status: { phase: 'Bound', podName: 'db-0', podUID: 'new', node: 'n2', reservedAt: CREATED, boundAt: new Date(LATER).toISOString() } });
});

t.test('no pod yet: Reserved after a short grace, once', async (t) => {
  t.same(decideClaimStatus(claim(), undefined, CREATED_MS + 500), { kind: 'later', inMs: RESERVE_GRACE_MS - 500 });
  t.same(decideClaimStatus(claim(), undefined, CREATED_MS + RESERVE_GRACE_MS), { kind: 'write', status: { phase: 'Reserved', reservedAt: CREATED } });
  t.same(decideClaimStatus(claim({ status: { phase: 'Reserved', reservedAt: CREATED } }), undefined, LATER), { kind: 'unchanged' });
  t.same(decideClaimStatus(claim({ created: null }), undefined, LATER), { kind: 'write', status: { phase: 'Reserved', reservedAt: new Date(LATER).toISOString() } }, 'no creation time: now');
  t.same(decideClaimStatus(claim({ status: {} }), undefined, LATER), { kind: 'write', status: { phase: 'Reserved', reservedAt: CREATED } }, 'an empty status is no status');
});

t.test("a StatefulSet claim whose pod is gone is Reserved again, keeping the ordinal's pod name", async (t) => {
  const bound = claim({ sts: 2, status: { phase: 'Bound', podName: 'db-2', podUID: 'u', node: 'n1', reservedAt: CREATED, boundAt: CREATED } });
  t.same(decideClaimStatus(bound, undefined, LATER), { kind: 'write', status: { phase: 'Reserved', reservedAt: CREATED, podName: 'db-2' } });
  t.same(decideClaimStatus(claim({ sts: 2, status: { phase: 'Reserved', reservedAt: CREATED, podName: 'db-2' } }), undefined, LATER), { kind: 'unchanged' });
});

t.test('any other claim that lost its pod is left to the garbage collector, and a status written by others is left alone', async (t) => {
  t.same(decideClaimStatus(claim({ status: { phase: 'Bound', podName: 'web-1', podUID: 'u1' } }), undefined, LATER), { kind: 'unchanged' });
  t.same(decideClaimStatus(claim({ status: { phase: 'Bound', podName: 'web-1' } }), undefined, LATER), { kind: 'unchanged' });
});

t.test('null fields, as some clients write them, equal absent ones', async (t) => {
  const status = { phase: 'Bound' as const, podName: 'web-1', podUID: 'u1', node: null, reservedAt: CREATED, boundAt: CREATED };
  t.same(decideClaimStatus(claim({ status }), pod('web-1', 'u1'), LATER), { kind: 'unchanged' });
});

t.test("podState reads the addresses of the pod's binding, canonical and without prefix", async (t) => {
  const binding = JSON.stringify({
    version: 1,
    id: 'b1',
    interfaces: [
      { interface: 'eth0', ipv4: { address: '10.6.0.5/16', pool: 'p1' }, ipv6: { address: 'fd00:0::5/64', pool: 'p6' } },
      { interface: 'net1', ipv4: { address: '10.7.0.9/16', pool: 'p2' } },
    ],
  });
  const record = (annotations: Record<string, string>) => PodRecord.parse({ metadata: { name: 'p', namespace: 'default', uid: 'u', annotations } });
  t.same(podState(record({ 'underpin.dev/binding': binding })).boundAddresses, ['10.6.0.5', 'fd00::5', '10.7.0.9']);
  t.equal(podState(record({ 'underpin.dev/binding': '{not json' })).boundAddresses, undefined, 'unreadable: unknown, not empty');
  t.equal(podState(record({})).boundAddresses, undefined);
});

t.test('holderOf passes over a pod whose binding names other addresses', async (t) => {
  t.equal(holderOf(claim(), [pod('db-0', 'u1', { boundAddresses: ['10.7.0.9'] })]), undefined);
  t.equal(holderOf(claim(), [pod('db-0', 'u1', { boundAddresses: ['10.6.0.5'] })])?.uid, 'u1');
});
