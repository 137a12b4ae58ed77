import t from 'tap';
import { Pod, podApplications, spiderpoolApplicationLabels, statefulSetOrdinal } from '../../../ipam/pod.js';

function pod(name: string | undefined, owner?: { kind: string; name: string; controller?: boolean }, labels?: Record<string, string>): Pod {
  return Pod.parse({
    metadata: {
      ...(name !== undefined ? { name } : {}),
      ...(labels ? { labels } : {}),
      ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', uid: 'u', controller: true, ...owner }] } : {}),
    },
    spec: {},
  });
}

t.test('statefulSetOrdinal', async (t) => {
  const cases: Array<[name: string, p: Pod, expected: { statefulSet: string; ordinal: number } | undefined]> = [
    ['ordinal 0', pod('db-0', { kind: 'StatefulSet', name: 'db' }), { statefulSet: 'db', ordinal: 0 }],
    ['ordinal 12', pod('db-12', { kind: 'StatefulSet', name: 'db' }), { statefulSet: 'db', ordinal: 12 }],
    ['set name with dashes and digits', pod('my-db-2-3', { kind: 'StatefulSet', name: 'my-db-2' }), { statefulSet: 'my-db-2', ordinal: 3 }],
    ['leading zero', pod('db-01', { kind: 'StatefulSet', name: 'db' }), undefined],
    ['not a number', pod('db-x', { kind: 'StatefulSet', name: 'db' }), undefined],
    ['negative', pod('db--1', { kind: 'StatefulSet', name: 'db' }), undefined],
    ['other prefix', pod('web-0', { kind: 'StatefulSet', name: 'db' }), undefined],
    ['no ordinal', pod('db-', { kind: 'StatefulSet', name: 'db' }), undefined],
    ['not a StatefulSet', pod('db-0', { kind: 'ReplicaSet', name: 'db' }), undefined],
    ['owner not controller', pod('db-0', { kind: 'StatefulSet', name: 'db', controller: false }), undefined],
    ['no owner', pod('db-0'), undefined],
    ['no name', pod(undefined, { kind: 'StatefulSet', name: 'db' }), undefined],
  ];
  for (const [name, p, expected] of cases) t.same(statefulSetOrdinal(p), expected, name);
});

t.test('podApplications: the direct owner first, then the application it may belong to', async (t) => {
  const app = (kind: string, name: string) => ({ kind, namespace: 'ns', name });
  const cases: Array<[name: string, p: Pod, expected: ReturnType<typeof podApplications>]> = [
    ['ReplicaSet with pod-template-hash → then Deployment', pod('web-5d8f-abc', { kind: 'ReplicaSet', name: 'web-5d8f' }, { 'pod-template-hash': '5d8f' }), [app('ReplicaSet', 'web-5d8f'), app('Deployment', 'web')]],
    ['Deployment name with dashes', pod('a-b-7c-x', { kind: 'ReplicaSet', name: 'a-b-7c' }, { 'pod-template-hash': '7c' }), [app('ReplicaSet', 'a-b-7c'), app('Deployment', 'a-b')]],
    ['bare ReplicaSet (no hash label)', pod('rs-x', { kind: 'ReplicaSet', name: 'rs' }), [app('ReplicaSet', 'rs')]],
    ['hash not the suffix', pod('rs-x', { kind: 'ReplicaSet', name: 'rs' }, { 'pod-template-hash': 'zzz' }), [app('ReplicaSet', 'rs')]],
    ['Job <cron>-<digits> → then CronJob (a standalone Job so named finds its own pools first)', pod('backup-28999000-abcd', { kind: 'Job', name: 'backup-28999000' }), [app('Job', 'backup-28999000'), app('CronJob', 'backup')]],
    ['Job without digit suffix', pod('migrate-x', { kind: 'Job', name: 'migrate' }), [app('Job', 'migrate')]],
    ['Job with letters after the dash', pod('j-x', { kind: 'Job', name: 'migrate-v2' }), [app('Job', 'migrate-v2')]],
    ['StatefulSet', pod('db-0', { kind: 'StatefulSet', name: 'db' }), [app('StatefulSet', 'db')]],
    ['DaemonSet', pod('agent-x', { kind: 'DaemonSet', name: 'agent' }), [app('DaemonSet', 'agent')]],
    ['bare pod → none', pod('lonely'), []],
    ['non-controller owner → none', pod('x', { kind: 'ReplicaSet', name: 'rs', controller: false }), []],
  ];
  for (const [name, p, expected] of cases) t.same(podApplications(p, 'ns'), expected, name);
});

t.test("spiderpoolApplicationLabels: the keys Spiderpool's auto pools select their application's pods by", async (t) => {
  const deploymentPod = {
    metadata: { name: 'web-74cbbf654-2ndzl', labels: { 'pod-template-hash': '74cbbf654' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-74cbbf654', uid: 'rs', controller: true }] },
    spec: {},
  };
  t.same(spiderpoolApplicationLabels(deploymentPod, 'default'), {
    'ipam.spidernet.io/app-api-group': 'apps',
    'ipam.spidernet.io/app-api-version': 'v1',
    'ipam.spidernet.io/app-kind': 'Deployment',
    'ipam.spidernet.io/app-namespace': 'default',
    'ipam.spidernet.io/app-name': 'web',
  });
  const custom = { metadata: { name: 'vm-1', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: 'vm', uid: 'v', controller: true }] }, spec: {} };
  t.equal(spiderpoolApplicationLabels(custom, 'ns')['ipam.spidernet.io/app-api-group'], 'kubevirt.io');
  t.same(spiderpoolApplicationLabels({ metadata: { name: 'bare' }, spec: {} }, 'ns'), {}, 'a pod without a controller has no application');
});
