import t from 'tap';
import { poolsReportedFull } from '../../../ipam/allocator.js';
import { deniedPools, replicaSetsToPrompt } from '../../../reconciler/denied-replicasets.js';
import type { ReplicaSetRecord } from '../../../reconciler/resources.js';

const DENIAL =
  'pods "web-7d9f-" is forbidden: admission webhook "pods.mutate.underpin.dev" denied the request: pod default/web-7d9f-<generated>: no IPv4 address for interface eth0: small has no free IPv4 address (2 of 2 in use); spare.v4 has no free IPv4 address (5 of 5 in use); free an address or add addresses to the pool';

function set(name: string, extra: { wanted?: number; have?: number; message?: string; status?: string } = {}): ReplicaSetRecord {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { replicas: extra.wanted ?? 3 },
    status: { replicas: extra.have ?? 2, conditions: extra.message ? [{ type: 'ReplicaFailure', status: extra.status ?? 'True', message: extra.message }] : [] },
  } as ReplicaSetRecord;
}

t.test('the pools a denial names as out of addresses, each once', async (t) => {
  t.same(poolsReportedFull(DENIAL), ['small', 'spare.v4']);
  t.same(poolsReportedFull(`${DENIAL}; ${DENIAL}`), ['small', 'spare.v4']);
  t.same(poolsReportedFull('IPv4 pool "gone" for interface eth0 does not exist (named by the pod); create it or fix the name'), [], 'another denial names none');
});

t.test('a ReplicaSet is denied in a pool only while it is short of pods and its ReplicaFailure says so', async (t) => {
  t.same(deniedPools(set('a', { message: DENIAL })), ['small', 'spare.v4']);
  t.same(deniedPools(set('b', { message: DENIAL, have: 3 })), [], 'has all its pods: the condition is stale');
  t.same(deniedPools(set('c', { message: DENIAL, status: 'False' })), [], 'condition not true');
  t.same(deniedPools(set('d')), [], 'no condition');
});

t.test('prompted: the denied ReplicaSets of a released pool that has a free address now', async (t) => {
  const sets = [set('a', { message: DENIAL }), set('b', { message: 'other-pool has no free IPv4 address (1 of 1 in use)' }), set('c')];
  const free = new Set(['small', 'other-pool']);
  t.same(replicaSetsToPrompt(sets, new Set(['small']), (p) => free.has(p)).map((s) => s.metadata.name), ['a']);
  t.same(replicaSetsToPrompt(sets, new Set(['small', 'other-pool']), (p) => free.has(p)).map((s) => s.metadata.name), ['a', 'b']);
  t.same(replicaSetsToPrompt(sets, new Set(['small']), () => false), [], 'taken again already: nothing to retry for');
});
