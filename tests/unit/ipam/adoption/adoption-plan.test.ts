// Adoption of Spiderpool's records, from upstream's documented shapes: pool status
// `allocatedIPs` JSON strings ({"pod","podUid","interface"} and the ≥ 0.8 form without
// interface), SpiderEndpoint `status.current.ips`, and the agent's
// `ipam.spidernet.io/assigned-<nic>` annotation; bad records reported, never thrown.
import t from 'tap';
import { planFixture } from './fixtures.js';
import { adoptedBindingID, planAdoption } from '../../../../ipam/adoption/adoption-plan.js';
import { heldBySpiderpool, readAssignedAnnotations, readEndpointRecords, readPoolAllocations } from '../../../../ipam/adoption/spiderpool-records.js';
import { formatAddress } from '../../../../ipam/address.js';

t.test('pool status: upstream shapes read, bad entries reported one by one', async (t) => {
  const read = readPoolAllocations(
    'pool-a',
    JSON.stringify({
      '172.16.41.1': { interface: 'eth0', pod: 'default/demo-778786474b-kls7s', podUid: 'cc310a87' },
      '172.16.41.2': { pod: 'default/demo-778786474b-x2', podUid: 'u2' },
      'not-an-ip': { pod: 'default/x', podUid: 'u' },
      '172.16.41.3': { pod: 'no-slash', podUid: 'u' },
    }),
  );
  t.same(
    read.records.map((r) => [formatAddress(r.address), r.namespace, r.podName, r.podUID, r.interface ?? null]),
    [
      ['172.16.41.1', 'default', 'demo-778786474b-kls7s', 'cc310a87', 'eth0'],
      ['172.16.41.2', 'default', 'demo-778786474b-x2', 'u2', null],
    ],
  );
  t.same(read.problems, [
    'SpiderIPPool pool-a status.allocatedIPs: key "not-an-ip" is not an IP address',
    'SpiderIPPool pool-a status.allocatedIPs[172.16.41.3].pod: "no-slash" is not "namespace/name"',
  ]);
  t.match(readPoolAllocations('p', '{"10.0.0.1": ').problems[0], /^SpiderIPPool p status\.allocatedIPs is not JSON \(.+\); none of its entries can be read$/);
  t.match(readPoolAllocations('p', '["10.0.0.1"]').problems[0], /is not a map of address to/);
  t.same(readPoolAllocations('p', undefined), { records: [], problems: [] });
});

t.test('SpiderEndpoint and assigned- annotation', async (t) => {
  const endpoint = readEndpointRecords({
    metadata: { name: 'web-1', namespace: 'default', finalizers: ['spiderpool.spidernet.io'] },
    status: {
      current: {
        uid: 'e7b50a38',
        node: 'dc-test02',
        ips: [
          { cleanGateway: false, interface: 'eth0', ipv4: '172.31.199.193/20', ipv4Gateway: '172.31.207.253', ipv4Pool: 'worker-172', vlan: 0, ipv6: 'fd00::5/64', ipv6Pool: 'v6' },
          { interface: 'net1', ipv4: '10.9.0.300/24', ipv4Pool: 'p' },
          { interface: 'net2', ipv4: '10.9.0.3/24' },
          'garbage',
        ],
      },
    },
  });
  t.same(endpoint.records.map((r) => [r.interface, formatAddress(r.address), r.pool, r.podUID]), [
    ['eth0', '172.31.199.193', 'worker-172', 'e7b50a38'],
    ['eth0', 'fd00::5', 'v6', 'e7b50a38'],
  ]);
  t.equal(endpoint.problems.length, 3, endpoint.problems.join('\n'));
  t.match(endpoint.problems[0], 'SpiderEndpoint default/web-1 status.current.ips[1].ipv4: "10.9.0.300/24" is not an IPv4 address');
  t.match(endpoint.problems[1], 'ipv4Pool: missing');

  const annotation = readAssignedAnnotations({
    namespace: 'default',
    name: 'old',
    uid: 'u-old',
    annotations: { 'ipam.spidernet.io/assigned-net1': '{"interface":"net1","ipv4pool":"default-v4-ippool","ipv4":"172.18.87.211/16","vlan":0}', 'ipam.spidernet.io/assigned-eth0': '{', other: 'x' },
  });
  t.same(annotation.records.map((r) => [r.interface, formatAddress(r.address), r.pool]), [['net1', '172.18.87.211', 'default-v4-ippool']]);
  t.match(annotation.problems[0], 'pod default/old annotation ipam.spidernet.io/assigned-eth0 is not JSON');
});

t.test('held: Spiderpool\'s finalizer and no adoption mark', async (t) => {
  t.ok(heldBySpiderpool({ finalizers: ['spiderpool.spidernet.io'] }));
  t.notOk(heldBySpiderpool({ finalizers: ['spiderpool.spidernet.io'], annotations: { 'underpin.dev/adopted-from-spiderpool': 'now' } }));
  t.notOk(heldBySpiderpool({ finalizers: ['underpin.dev/addresses-in-use'] }));
});

t.test('a live pod is adopted whole: claims, binding from its pool, StatefulSet ordinal id', async (t) => {
  const f = planFixture();
  const web = f.pod('web-0', 'u-web0', { statefulSet: 'web' });
  f.poolEntry('pool-a', '10.6.0.10', web);
  f.endpoint(web, [{ interface: 'eth0', ipv4: '10.6.0.10/16', ipv4Pool: 'pool-a' }, { interface: 'net1', ipv4: '10.7.0.10/16', ipv4Pool: 'pool-b', routes: [{ dst: '10.8.0.0/16', gw: '10.7.0.1' }] }]);
  f.poolEntry('pool-b', '10.7.0.10', web, 'net1');
  const plan = planAdoption(f.inputs());
  t.same(plan.findings, []);
  t.equal(plan.adopt.length, 1);
  const [a] = plan.adopt;
  t.equal(a!.bindingID, adoptedBindingID(web));
  t.match(a!.bindingID, /^s[0-9a-f]{23}$/, 'a StatefulSet ordinal keeps the id retention matches');
  t.same(a!.binding, {
    version: 1,
    id: a!.bindingID,
    interfaces: [
      { interface: 'eth0', routes: [], ipv4: { address: '10.6.0.10/16', pool: 'pool-a', gateway: '10.6.0.1' } },
      { interface: 'net1', routes: [{ dst: '10.8.0.0/16', gw: '10.7.0.1' }], ipv4: { address: '10.7.0.10/16', pool: 'pool-b', gateway: '10.7.0.1' } },
    ],
  });
  t.same(a!.claims.map((c) => [formatAddress(c.address), c.pool, c.interface, c.podName, c.owner?.kind, c.statefulSetOrdinal]), [
    ['10.6.0.10', 'pool-a', 'eth0', 'web-0', 'StatefulSet', 0],
    ['10.7.0.10', 'pool-b', 'net1', 'web-0', 'StatefulSet', 0],
  ]);
  t.same(plan.releasable, [], 'pools wait while the pod is being adopted');
  t.same(plan.waiting.map((w) => [w.pool, w.blocked]), [['pool-a', false], ['pool-b', false]]);

  // Next pass: claims exist, the pod carries the binding: the pools are released.
  for (const c of a!.claims) f.claim(formatAddress(c.address), c.namespace, c.bindingID);
  web.bindingID = a!.bindingID;
  const after = planAdoption(f.inputs());
  t.same([after.adopt[0]!.missingClaims, after.adopt[0]!.needsBinding], [[], false]);
  t.same(after.releasable.sort(), ['pool-a', 'pool-b']);
});

t.test('records of gone pods are reported and do not block; bad records never throw', async (t) => {
  const f = planFixture();
  const live = f.pod('live', 'u-live');
  f.poolEntry('pool-a', '10.6.0.11', live, 'eth0');
  f.poolEntry('pool-a', '10.6.0.12', { namespace: 'default', name: 'gone', uid: 'u-gone' }, 'eth0');
  const replaced = f.pod('replaced', 'u-new');
  f.poolEntry('pool-a', '10.6.0.13', { ...replaced, uid: 'u-old' }, 'eth0');
  f.pools.push({ name: 'pool-b', held: true, allocatedIPs: '{oops' });
  const plan = planAdoption(f.inputs());
  t.same(plan.adopt.map((a) => a.pod.name), ['live']);
  t.same(plan.findings.map((x) => [x.kind, x.blocking]), [['unreadable', false], ['pod-gone', false], ['pod-gone', false]]);
  t.match(plan.findings[1]!.message, '10.6.0.12 (pool pool-a, from the pool status) is recorded for pod default/gone (uid u-gone), which is gone or finished');
  t.same(plan.releasable, ['pool-b'], 'a pool whose status cannot be read holds no live record');
});

t.test('conflicts: the pool status\'s holder keeps the address, the other pod is not adopted and its pools stay held', async (t) => {
  const f = planFixture();
  const a = f.pod('a', 'u-a');
  const b = f.pod('b', 'u-b');
  f.poolEntry('pool-a', '10.6.0.20', a, 'eth0');
  f.endpoint(b, [{ interface: 'eth0', ipv4: '10.6.0.20/16', ipv4Pool: 'pool-a' }]);
  const plan = planAdoption(f.inputs());
  t.same(plan.adopt.map((x) => x.pod.name), ['a']);
  const conflict = plan.findings.find((x) => x.kind === 'conflict')!;
  t.equal(conflict.message, 'pod default/b: 10.6.0.20 is recorded for this pod and for default/a: the pool status names the other pod, which keeps it; delete this pod so its controller recreates it with a fresh address');
  t.same(plan.waiting, [{ pool: 'pool-a', reason: `pod default/b is not adopted: ${conflict.message.slice('pod default/b: '.length)}`, blocked: true }]);
});

t.test('an address Underpin claimed for another binding, outside its pool, reserved, or with no interface: not adopted, with the fix', async (t) => {
  const f = planFixture();
  const taken = f.pod('taken', 'u1');
  f.poolEntry('pool-a', '10.6.0.30', taken, 'eth0');
  f.claim('10.6.0.30', 'default', 'someone-else');
  const outside = f.pod('outside', 'u2');
  f.poolEntry('pool-a', '10.6.9.99', outside, 'eth0');
  const reserved = f.pod('reserved', 'u3');
  f.poolEntry('pool-a', '10.6.0.31', reserved, 'eth0');
  f.reserve('10.6.0.31', 'keep-out');
  const bare = f.pod('bare', 'u4');
  f.poolEntry('pool-a', '10.6.0.32', bare);
  const unknownPool = f.pod('nopool', 'u5');
  f.endpoint(unknownPool, [{ interface: 'eth0', ipv4: '10.6.0.33/16', ipv4Pool: 'missing' }]);
  const plan = planAdoption(f.inputs());
  t.same(plan.adopt, []);
  const byPod = Object.fromEntries(plan.findings.map((x) => [x.pod?.name, [x.kind, x.message]]));
  t.same(byPod['taken'], ['conflict', 'pod default/taken: 10.6.0.30 is already claimed by Underpin for another pod (ipclaim binding default/someone-else); delete this pod so its controller recreates it with a fresh address']);
  t.same(byPod['outside'], ['outside-pool', 'pod default/outside: 10.6.9.99 (pool pool-a, from the pool status) is outside any pool: pool pool-a does not hold it (spec.ips − spec.excludeIPs); add the address to a pool, or recreate the pod']);
  t.same(byPod['reserved']![0], 'reserved');
  t.same(byPod['bare']![0], 'no-interface');
  t.match(byPod['nopool']![1], 'pool missing does not exist');
  t.same(plan.releasable, []);
});

t.test('a pod Underpin bound itself is not taken from it', async (t) => {
  const f = planFixture();
  const pod = f.pod('mine', 'u-mine');
  pod.bindingID = 'webhook-made';
  f.poolEntry('pool-a', '10.6.0.40', pod, 'eth0');
  const plan = planAdoption(f.inputs());
  t.same(plan.adopt, []);
  t.same(plan.findings.map((x) => [x.kind, x.blocking]), [['bound-by-underpin', false]]);
  t.same(plan.releasable, ['pool-a']);
});
