// underpin check's judgement on snapshots in memory: a converged cluster is clean,
// and each breach and drift seeded into it is reported with its objects and a fix.
import t from 'tap';
import { encodeBinding } from '../../../ipam/binding.js';
import type { IPClaim } from '../../../ipam/ip-claim.js';
import { PoolRecord, ReservedIPRecord, SubnetRecord } from '../../../kube/underlay-records.js';
import { checkConsistency, type ClusterSnapshot } from '../../../reconciler/check/consistency.js';
import { renderJson, renderText, summary } from '../../../reconciler/check/report.js';
import { PodRecord } from '../../../reconciler/resources.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const OPTIONS = { orphanTtlMs: 120_000 };

function pod(name: string, id: string, address: string, extra: { deleting?: boolean; phase?: string } = {}) {
  return PodRecord.parse({
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { 'underpin.dev/binding-id': id },
      annotations: { 'underpin.dev/binding': encodeBinding({ version: 1, id, interfaces: [{ interface: 'eth0', ipv4: { address: `${address}/16`, pool: 'p' }, routes: [] }] }) },
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:09:00Z' } : {}),
    },
    spec: { nodeName: 'node-a' },
    status: { phase: extra.phase ?? 'Running' },
  });
}

function claim(address: string, id: string, extra: { pool?: string; podName?: string; created?: string } = {}): IPClaim {
  return {
    metadata: { name: address, uid: `c-${address}`, creationTimestamp: extra.created ?? '2026-01-01T00:00:00Z' },
    spec: { address, family: 4, pool: extra.pool ?? 'p', interface: 'eth0', namespace: 'default', bindingID: id, owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc' } },
    status: { phase: 'Bound', ...(extra.podName ? { podName: extra.podName, podUID: `uid-${extra.podName}` } : {}) },
  };
}

const allocated = (entries: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(entries).map(([a, p]) => [a, { interface: 'eth0', pod: `default/${p}`, podUid: `uid-${p}` }])));
const pool = (status: object) => PoolRecord.parse({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'p' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.19'] }, status });
const subnet = (status: object) => SubnetRecord.parse({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 's' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.100'] }, status });

function converged(): ClusterSnapshot {
  return {
    pods: [pod('web-1', 'b1', '10.6.0.10'), pod('web-2', 'b2', '10.6.0.11')],
    claims: [claim('10.6.0.10', 'b1', { podName: 'web-1' }), claim('10.6.0.11', 'b2', { podName: 'web-2' })],
    pools: [pool({ allocatedIPCount: 2, totalIPCount: 10, allocatedIPs: allocated({ '10.6.0.10': 'web-1', '10.6.0.11': 'web-2' }) })],
    subnets: [subnet({ allocatedIPCount: 10, totalIPCount: 91 })], // pool p's 10 addresses
    reserved: [],
    statefulSets: [],
    nowMs: NOW,
  };
}

t.test('a converged cluster is clean', async (t) => {
  const findings = checkConsistency(converged(), OPTIONS);
  t.same(findings, []);
  t.equal(summary({ counted: { pods: 2, claims: 2, pools: 1, subnets: 1, reservedIPs: 0, statefulSets: 0 }, unreadable: {}, findings }), 'no breach, no drift');
});

t.test('breaches: one address on two live pods, a claim of another binding, outside its pool, reserved', async (t) => {
  const s = converged();
  s.pods = [...s.pods, pod('web-3', 'b3', '10.6.0.10'), pod('old', 'b9', '10.6.0.11', { deleting: true })];
  s.claims = [...s.claims, claim('10.6.0.50', 'b7', { podName: 'gone', created: '2026-01-01T00:09:30Z' }), claim('10.6.0.12', 'b8', { pool: 'nope', created: '2026-01-01T00:09:30Z' })];
  s.reserved = [ReservedIPRecord.parse({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderReservedIP', metadata: { name: 'keep-out' }, spec: { ips: ['10.6.0.11'] } })];
  const findings = checkConsistency(s, OPTIONS);
  const breaches = findings.filter((f) => f.severity === 'breach');
  t.same(breaches.map((f) => f.check).sort(), ['address-bound-twice', 'address-claimed-by-another-pod', 'claim-outside-pool', 'claim-outside-pool', 'reserved-address-claimed'].sort());
  const twice = breaches.find((f) => f.check === 'address-bound-twice')!;
  t.equal(twice.message, '10.6.0.10 is bound to 2 live pods: default/web-1, default/web-3');
  t.same(twice.objects, ['pod default/web-1', 'pod default/web-3']);
  t.match(breaches.find((f) => f.check === 'claim-outside-pool' && f.message.includes('10.6.0.50'))!.message, 'IPClaim 10.6.0.50 is outside its pool p');
  t.match(breaches.find((f) => f.check === 'claim-outside-pool' && f.message.includes('10.6.0.12'))!.message, 'names pool nope, which does not exist');
  t.match(breaches.find((f) => f.check === 'reserved-address-claimed')!, { objects: ['ipclaim 10.6.0.11', 'spiderreservedip keep-out'] });
  t.notOk(findings.some((f) => f.message.includes('default/old') && f.check === 'address-bound-twice'), 'a terminating pod is not live');
  t.equal(findings[0]!.severity, 'breach', 'breaches first');
  const text = renderText({ counted: { pods: 4, claims: 4, pools: 1, subnets: 1, reservedIPs: 1, statefulSets: 0 }, unreadable: { pods: 1 }, findings });
  t.match(text, /^checked 4 pods with a binding, 4 IPClaims, 1 SpiderIPPool, 1 SpiderSubnet, 1 SpiderReservedIP, 0 StatefulSets\nskipped 1 pods that do not read/);
  t.match(text, /\nBREACH address-bound-twice: 10\.6\.0\.10 is bound to 2 live pods: default\/web-1, default\/web-3\n  look at: pod default\/web-1, pod default\/web-3\n  fix: delete all but one/);
  t.match(text, /\n5 breaches, \d+ drifts?\n$/);
  t.match(JSON.parse(renderJson({ counted: { pods: 0, claims: 0, pools: 0, subnets: 0, reservedIPs: 0, statefulSets: 0 }, unreadable: {}, findings })), { breaches: 5 });
});

t.test('drifts: a claim left behind, a pod address without a claim, status behind the claims', async (t) => {
  const s = converged();
  s.pods = [pod('web-1', 'b1', '10.6.0.10'), pod('web-4', 'b4', '10.6.0.14')];
  s.pools = [pool({ allocatedIPCount: 1, totalIPCount: 10, allocatedIPs: allocated({ '10.6.0.10': 'web-1' }) })];
  s.subnets = [subnet({ allocatedIPCount: 2, totalIPCount: 91 })]; // the claims' count: not what a subnet counts
  const findings = checkConsistency(s, OPTIONS);
  t.same(findings.map((f) => [f.severity, f.check]).sort(), [
    ['drift', 'claim-left-behind'],
    ['drift', 'pod-address-unclaimed'],
    ['drift', 'pool-status-drift'],
    ['drift', 'subnet-status-drift'],
  ]);
  t.match(findings.find((f) => f.check === 'claim-left-behind')!.message, 'IPClaim 10.6.0.11 (pool p) should have been released (pod-deleted): 10.6.0.11 (pool p, interface eth0): pod default/web-2 was deleted');
  t.match(findings.find((f) => f.check === 'pod-address-unclaimed')!.message, '10.6.0.14 of pod default/web-4 has no IPClaim');
  t.match(findings.find((f) => f.check === 'pool-status-drift')!.message, 'SpiderIPPool p status: allocatedIPCount 1, claims 2; allocatedIPs lists other addresses than its claims');
  t.match(findings.find((f) => f.check === 'subnet-status-drift')!.message, 'SpiderSubnet s status: allocatedIPCount 2, should be 10');
  const young = converged();
  young.claims = [...young.claims, claim('10.6.0.15', 'b5', { created: '2026-01-01T00:09:50Z' })];
  young.pools = [pool({ allocatedIPCount: 3, totalIPCount: 10, allocatedIPs: allocated({ '10.6.0.10': 'web-1', '10.6.0.11': 'web-2', '10.6.0.15': 'x' }) })];
  young.subnets = [subnet({ allocatedIPCount: 10, totalIPCount: 91 })];
  t.same(checkConsistency(young, OPTIONS), [], 'a claim younger than the orphan TTL may still wait for its pod');
});

t.test('a pool Spiderpool still holds is reported as adoption in progress, not as status drift', async (t) => {
  const s = converged();
  s.pools = [PoolRecord.parse({ ...s.pools[0], metadata: { name: 'p', finalizers: ['spiderpool.spidernet.io'] }, status: { allocatedIPCount: 3, allocatedIPs: allocated({ '10.6.0.10': 'web-1', '10.6.0.11': 'web-2', '10.6.0.12': 'legacy' }) } })];
  const findings = checkConsistency(s, OPTIONS);
  t.same(findings.map((f) => [f.severity, f.check]), [['drift', 'held-by-spiderpool']]);
  t.equal(findings[0]!.message, 'SpiderIPPool p is still held by Spiderpool: 3 addresses it recorded stay in use until every live pod among them is adopted');
  t.match(findings[0]!.fix, 'reason=SpiderpoolAdoptionBlocked');
});
