// Admission of SpiderSubnet, SpiderIPPool and SpiderReservedIP on the real control
// plane, through kubectl, with two webhook replicas behind a balancer.
import t from 'tap';
import { stringify } from 'yaml';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { controllers: false });
const apply = (...objects: object[]) => cluster.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const getJson = async (what: string[]) => {
  const result = await cluster.kubectl(['get', ...what, '-o', 'json']);
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
};

const subnet = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name }, spec });
const pool = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
const reserved = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderReservedIP', metadata: { name }, spec });
const DENIED = 'admission webhook "spider-resources.validate.underpin.dev" denied the request';

t.test('a subnet is defaulted: canonical CIDR, merged ranges, ipVersion, label, finalizer', async (t) => {
  const result = await apply(subnet('net6', { subnet: '10.6.0.1/16', ips: ['10.6.0.10-10.6.0.100', '10.6.0.101-10.6.0.200'], gateway: '10.6.0.1', routes: [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }], vlan: 100 }));
  t.equal(result.code, 0, result.stderr);
  const stored = await getJson(['spidersubnet', 'net6']);
  t.equal(stored.spec.subnet, '10.6.0.0/16');
  t.same(stored.spec.ips, ['10.6.0.10-10.6.0.200']);
  t.equal(stored.spec.ipVersion, 4);
  t.equal(stored.metadata.labels['ipam.spidernet.io/subnet-cidr'], '10-6-0-0-16');
  t.same(stored.metadata.finalizers, ['underpin.dev/addresses-in-use']);
});

t.test('a pool of the subnet inherits gateway, routes and VLAN and is owned by it', async (t) => {
  const result = await apply(pool('web-v4', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'] }));
  t.equal(result.code, 0, result.stderr);
  const stored = await getJson(['spiderippool', 'web-v4']);
  const owner = await getJson(['spidersubnet', 'net6']);
  t.equal(stored.spec.gateway, '10.6.0.1');
  t.same(stored.spec.routes, [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }]);
  t.equal(stored.spec.vlan, 100);
  t.equal(stored.metadata.labels['ipam.spidernet.io/ippool-cidr'], '10-6-0-0-16');
  t.equal(stored.metadata.labels['ipam.spidernet.io/owner-spider-subnet'], 'net6');
  t.match(stored.metadata.ownerReferences, [{ kind: 'SpiderSubnet', name: 'net6', uid: owner.metadata.uid, controller: true }]);
});

const denials: { name: string; objects: object[]; lines: string[] }[] = [
  {
    name: 'every problem of a pool at once, one line each',
    objects: [pool('bad-many', { subnet: '10.6.0.0/16', ips: ['10.6.0.30-10.6.0.35', '10.6.0.300', '10.7.0.1'], routes: [{ dst: '0.0.0.0/0', gw: '10.6.0.1' }, { dst: '10.9.0.0/16', gw: '10.8.0.1' }], vlan: 5000 })],
    lines: [
      'SpiderIPPool bad-many is invalid:',
      'spec.ips[1]: "10.6.0.300" is not an IPv4 address (300 is more than 255)',
      'spec.ips[2]: 10.7.0.1 is outside spec.subnet 10.6.0.0/16 (10.6.0.0-10.6.255.255)',
      'spec.routes[0].dst: 0.0.0.0/0 is a default route; set spec.gateway for the default route instead',
      'spec.routes[1].gw: 10.8.0.1 is outside spec.subnet 10.6.0.0/16; a next hop must be directly reachable',
      'spec.vlan: 5000 is not a VLAN ID; use 0 (untagged) to 4094',
    ],
  },
  {
    name: 'a pool that shares addresses with another pool',
    objects: [pool('overlapping', { subnet: '10.6.0.0/16', ips: ['10.6.0.18-10.6.0.25'] })],
    lines: ['spec.ips: 10.6.0.18-10.6.0.20 are already in SpiderIPPool web-v4; an address can be in one pool only'],
  },
  {
    name: 'a pool outside its subnet',
    objects: [pool('outside', { subnet: '10.6.0.0/16', ips: ['10.6.1.5'] })],
    lines: ['spec.ips: 10.6.1.5 is not in SpiderSubnet net6 (spec.ips 10.6.0.10-10.6.0.200)'],
  },
  {
    name: 'a pool with an overlapping but different CIDR',
    objects: [pool('narrow', { subnet: '10.6.3.0/24', ips: ['10.6.3.5'] })],
    lines: ['spec.subnet: 10.6.3.0/24 overlaps SpiderSubnet net6 (10.6.0.0/16)'],
  },
  {
    name: 'overlapping subnets',
    objects: [subnet('wide', { subnet: '10.0.0.0/8', ips: ['10.1.0.1'] })],
    lines: ['spec.subnet: 10.0.0.0/8 overlaps SpiderSubnet net6 (10.6.0.0/16); subnets must not overlap'],
  },
  {
    name: 'a gateway that is a pool address',
    objects: [pool('gw-in-ips', { subnet: '10.6.0.0/16', ips: ['10.6.0.40-10.6.0.45'], gateway: '10.6.0.41' })],
    lines: ['spec.gateway: 10.6.0.41 is also in spec.ips'],
  },
  {
    name: 'an IPv6 pool with overlapping entries and a wrong ipVersion',
    objects: [pool('v6-bad', { subnet: 'fd00:6::/64', ipVersion: 4, ips: ['fd00:6::10-fd00:6::20', 'fd00:6::18'] })],
    lines: ['spec.ipVersion: is 4, but spec.subnet fd00:6::/64 is IPv6', 'spec.ips[1]:'],
  },
  {
    name: 'an empty reserved IP list',
    objects: [reserved('nothing', { ips: [] })],
    lines: ['spec.ips: is empty; list the addresses or ranges to reserve'],
  },
  {
    name: 'a reserved IP list mixing families',
    objects: [reserved('mixed', { ips: ['10.6.0.5', 'fd00::5'] })],
    lines: ['spec.ips[1]: "fd00::5" is IPv6, but [0] is IPv4; one list holds one family'],
  },
];

for (const d of denials) {
  t.test(`denied at kubectl apply: ${d.name}`, async (t) => {
    const result = await apply(...d.objects);
    t.not(result.code, 0, 'kubectl apply fails');
    t.match(result.stderr, DENIED);
    for (const line of d.lines) t.ok(result.stderr.includes(line), `says: ${line}\n---\n${result.stderr}`);
  });
}

t.test('a reserved address inside a pool is admitted with a warning', async (t) => {
  const result = await apply(reserved('routers', { ips: ['10.6.0.12'] }));
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /Warning: 10\.6\.0\.12 of SpiderIPPool web-v4 will no longer be handed out/);
});

t.test('updates: subnet is immutable; a shrink that keeps free addresses is fine', async (t) => {
  const moved = await apply(pool('web-v4', { subnet: '10.7.0.0/16', ips: ['10.7.0.10'] }));
  t.not(moved.code, 0);
  t.match(moved.stderr, 'spec.subnet: is immutable (was 10.6.0.0/16)');
  const shrunk = await apply(pool('web-v4', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.15'] }));
  t.equal(shrunk.code, 0, shrunk.stderr);
});

t.test('a subnet cannot drop addresses its pools hold', async (t) => {
  const result = await apply(subnet('net6', { subnet: '10.6.0.0/16', ips: ['10.6.0.100-10.6.0.200'], gateway: '10.6.0.1' }));
  t.not(result.code, 0);
  t.match(result.stderr, 'spec.ips: SpiderIPPool web-v4 holds 10.6.0.10-10.6.0.15, which are outside spec.ips (or in spec.excludeIPs)');
});

t.test('kubectl get shows the columns of the Spiderpool API', async (t) => {
  const result = await cluster.kubectl(['get', 'spidersubnet,spiderippool,spiderreservedip']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\n/);
  t.match(result.stdout, /NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\s+DEFAULT\n/);
  t.match(result.stdout, /spiderippool\.spiderpool\.spidernet\.io\/web-v4\s+4\s+10\.6\.0\.0\/16/);
  t.match(result.stdout, /spiderreservedip\.spiderpool\.spidernet\.io\/routers\s+4/);
  const wide = await cluster.kubectl(['get', 'spiderippool', '-o', 'wide']);
  t.match(wide.stdout, /DISABLE\s+NODENAME\s+MULTUSNAME\s+APP-NAMESPACE/);
});

t.test('conflicting pools applied at the same instant: exactly one is admitted', async (t) => {
  const rounds = 8;
  for (let round = 0; round < rounds; round++) {
    const base = 50 + round * 10;
    const a = pool(`race-${round}-a`, { subnet: '10.6.0.0/16', ips: [`10.6.0.${base}-10.6.0.${base + 5}`] });
    const b = pool(`race-${round}-b`, { subnet: '10.6.0.0/16', ips: [`10.6.0.${base + 3}-10.6.0.${base + 8}`] });
    const results = await Promise.all([cluster.kubectl(['create', '-f', '-'], stringify(a)), cluster.kubectl(['create', '-f', '-'], stringify(b))]);
    const admitted = results.filter((r) => r.code === 0).length;
    t.equal(admitted, 1, `round ${round}: one of two conflicting pools admitted\n${results.map((r) => r.stderr).join('\n')}`);
  }
});

t.test('deleting a pool whose addresses are in use waits until they are released', async (t) => {
  t.equal((await apply(pool('busy', { subnet: '10.6.0.0/16', ips: ['10.6.0.150-10.6.0.151'] }))).code, 0);
  const claim = {
    apiVersion: 'underpin.dev/v1alpha1',
    kind: 'IPClaim',
    metadata: { name: '10.6.0.150' },
    spec: { address: '10.6.0.150', family: 4, pool: 'busy', interface: 'eth0', namespace: 'default', bindingID: 'b-1' },
  };
  t.equal((await apply(claim)).code, 0);
  const deletion = await cluster.kubectl(['delete', 'spiderippool', 'busy', '--wait=false']);
  t.equal(deletion.code, 0, deletion.stderr);
  t.match(deletion.stderr, /has 1 address in use \(10\.6\.0\.150\); it is deleted once they are released/);
  await new Promise((r) => setTimeout(r, 1500));
  const waiting = await getJson(['spiderippool', 'busy']);
  t.ok(waiting?.metadata.deletionTimestamp, 'still there, terminating');
  t.equal((await cluster.kubectl(['delete', 'ipclaim', '10.6.0.150'])).code, 0);
  const gone = await cluster.kubectl(['wait', '--for=delete', 'spiderippool/busy', '--timeout=120s']);
  t.equal(gone.code, 0, `pool deleted once the address is free: ${gone.stderr}`);
});

t.test('a pool or subnet replaced by delete and create in one script is admitted at once', async (t) => {
  // The admission ledger's entry for the deleted object must not outlive it, nor may a
  // cache that has not seen the deletion yet refuse the replacement.
  for (let round = 0; round < 3; round++) {
    const ips = [`10.6.0.${160 + round * 10}-10.6.0.${165 + round * 10}`];
    const made = await cluster.kubectl(['create', '-f', '-'], stringify(pool(`replaced-${round}`, { subnet: '10.6.0.0/16', ips })));
    t.equal(made.code, 0, made.stderr);
    const deleted = await cluster.kubectl(['delete', 'spiderippool', `replaced-${round}`, '--timeout=60s']);
    t.equal(deleted.code, 0, deleted.stderr);
    const created = await cluster.kubectl(['create', '-f', '-'], stringify(pool(`replacement-${round}`, { subnet: '10.6.0.0/16', ips })));
    t.equal(created.code, 0, `round ${round}: the replacement pool is admitted at once: ${created.stderr}`);
  }
  for (let round = 0; round < 2; round++) {
    const name = `replaced-subnet-${round}`;
    t.equal((await cluster.kubectl(['create', '-f', '-'], stringify(subnet(name, { subnet: '10.40.0.0/16', ips: ['10.40.0.10-10.40.0.20'] })))).code, 0);
    const deleted = await cluster.kubectl(['delete', 'spidersubnet', name, '--timeout=60s']);
    t.equal(deleted.code, 0, deleted.stderr);
    // Same name and a new object: the old one's entry must not merge into it either.
    const again = await cluster.kubectl(['create', '-f', '-'], stringify(subnet(`${name}-new`, { subnet: '10.40.0.0/16', ips: ['10.40.0.10-10.40.0.20'] })));
    t.equal(again.code, 0, `round ${round}: the replacement subnet is admitted at once: ${again.stderr}`);
    t.equal((await cluster.kubectl(['delete', 'spidersubnet', `${name}-new`, '--timeout=60s'])).code, 0);
  }
});
