import t from 'tap';
import { applicationOf, countOf, poolStatusFor, poolsOfSubnet, reservedSets, statusDiffers, subnetStatusFor } from '../../../reconciler/pool-status.js';
import { RangeSet } from '../../../ipam/range-set.js';
import type { IPClaim } from '../../../ipam/ip-claim.js';
import type { PoolRecord, ReservedIPRecord, SubnetRecord } from '../../../kube/underlay-records.js';

function pool(name: string, spec: PoolRecord['spec'], labels?: Record<string, string>): PoolRecord {
  return { kind: 'SpiderIPPool', metadata: { name, ...(labels ? { labels } : {}) }, spec };
}

function subnet(name: string, spec: SubnetRecord['spec']): SubnetRecord {
  return { kind: 'SpiderSubnet', metadata: { name }, spec };
}

function claim(address: string, poolName: string, extra: { status?: IPClaim['status']; namespace?: string; family?: 4 | 6 } = {}): IPClaim {
  return {
    metadata: { name: address },
    spec: { address, family: extra.family ?? 4, pool: poolName, interface: 'eth0', namespace: extra.namespace ?? 'default', bindingID: `b-${address}` },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const reserved = (ips: string[]): ReservedIPRecord => ({ kind: 'SpiderReservedIP', metadata: { name: `r-${ips[0]}` }, spec: { ips } });
const NONE = reservedSets([]);

t.test('reserved IPs are merged per family; unreadable ones are skipped', async (t) => {
  const sets = reservedSets([
    reserved(['10.6.0.1-10.6.0.3']),
    reserved(['10.6.0.3-10.6.0.4']),
    reserved(['fd00::1']),
    reserved(['fd00::9']),
    reserved([]),
    reserved(['nonsense']),
    reserved(['10.6.0.50', 'fd00::50']), // two families in one: refused by the webhook, skipped here
  ]);
  t.same(sets[4].toStrings(), ['10.6.0.1-10.6.0.4']);
  t.same(sets[6].toStrings(), ['fd00::1', 'fd00::9']);
});

t.test('pool status: every claim of the pool, in address order, with its pod when known', async (t) => {
  const p = pool('p1', { subnet: '10.6.0.0/16', ips: ['10.6.0.1-10.6.0.20'], excludeIPs: ['10.6.0.20'] });
  const claims = [
    claim('10.6.0.10', 'p1', { status: { phase: 'Bound', podName: 'web-2', podUID: 'u2', node: 'node-a' } }),
    claim('10.6.0.9', 'p1', { status: { phase: 'Bound', podName: 'web-1', podUID: 'u1' } }),
    claim('10.6.0.11', 'p1'),
    claim('10.7.0.1', 'other'),
  ];
  const status = poolStatusFor(p, claims, reservedSets([reserved(['10.6.0.1-10.6.0.4'])]));
  t.same(status && { ...status, allocatedIPs: JSON.parse(status.allocatedIPs!) }, {
    allocatedIPCount: 3,
    totalIPCount: 15, // 20 ips, 1 excluded, 4 reserved
    allocatedIPs: {
      '10.6.0.9': { interface: 'eth0', pod: 'default/web-1', podUid: 'u1' },
      '10.6.0.10': { interface: 'eth0', pod: 'default/web-2', podUid: 'u2', node: 'node-a' },
      '10.6.0.11': { interface: 'eth0' },
    },
  });
  t.same(Object.keys(JSON.parse(status!.allocatedIPs!)), ['10.6.0.9', '10.6.0.10', '10.6.0.11'], 'numeric order, not text order');
});

t.test('an empty pool; an unreadable pool has no status', async (t) => {
  t.same(poolStatusFor(pool('p', { subnet: '10.6.0.0/16' }), [], NONE), { allocatedIPCount: 0, totalIPCount: 0, allocatedIPs: '{}' });
  t.equal(poolStatusFor(pool('p', { subnet: 'nonsense' }), [], NONE), undefined);
  t.equal(poolStatusFor(pool('p', { subnet: '10.6.0.0/16', ips: ['10.6.0.300'] }), [], NONE), undefined);
});

t.test('a list too large for etcd is left out; the count stays exact', async (t) => {
  const p = pool('big', { subnet: '10.8.0.0/16' });
  const claims = Array.from({ length: 40 }, (_, i) => claim(`10.8.0.${i + 1}`, 'big', { status: { phase: 'Bound', podName: `web-${i}`, podUID: `u${i}` } }));
  const fits = poolStatusFor(p, claims, NONE, 100_000);
  t.equal(Object.keys(JSON.parse(fits!.allocatedIPs!)).length, 40, 'within the budget: every address');
  const over = poolStatusFor(p, claims, NONE, 1000);
  t.same(over, { allocatedIPCount: 40, totalIPCount: fits!.totalIPCount, allocatedIPs: null }, 'past the budget: counts only');
  t.equal(poolStatusFor(p, claims, NONE, 40 * 28 - 1)?.allocatedIPs, null, 'too many for even the shortest entries: not built at all');
  t.notOk(statusDiffers({ allocatedIPCount: 40, totalIPCount: fits!.totalIPCount }, over!), 'a status without the list is what is wanted: no write');
  t.ok(statusDiffers({ allocatedIPCount: 40, totalIPCount: fits!.totalIPCount, allocatedIPs: fits!.allocatedIPs }, over!), 'an old list is removed');
});

t.test('IPv6: counts too large for a JSON number are capped', async (t) => {
  const big = poolStatusFor(pool('v6', { subnet: 'fd00::/64', ips: ['fd00::-fd00::ffff:ffff:ffff:ffff'] }), [claim('fd00::10', 'v6', { family: 6 })], NONE);
  t.equal(big?.totalIPCount, Number.MAX_SAFE_INTEGER);
  t.equal(big?.allocatedIPCount, 1);
  t.equal(countOf(RangeSet.fromRanges(6, [{ family: 6, first: 1n, last: 10n }])), 10);
});

t.test('the application of an auto pool, in upstream form', async (t) => {
  const labels = {
    'ipam.spidernet.io/owner-application-gv': 'apps_v1',
    'ipam.spidernet.io/owner-application-kind': 'Deployment',
    'ipam.spidernet.io/owner-application-namespace': 'default',
    'ipam.spidernet.io/owner-application-name': 'web',
  };
  t.equal(applicationOf(labels), 'apps_v1_Deployment_default_web');
  t.equal(applicationOf({}), undefined);
  t.equal(applicationOf(null), undefined);
});

t.test('subnet status: its pools (same network), their addresses, their claims', async (t) => {
  const s = subnet('s1', { subnet: '10.6.0.0/16', ips: ['10.6.0.1-10.6.0.100'], excludeIPs: ['10.6.0.100'] });
  const pools = [
    pool('manual', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.19'], excludeIPs: ['10.6.0.15'] }),
    pool(
      'auto4-web-eth0-1a2b3',
      { subnet: '10.6.0.0/16', ips: ['10.6.0.30-10.6.0.32'] },
      {
        'ipam.spidernet.io/owner-application-gv': 'apps_v1',
        'ipam.spidernet.io/owner-application-kind': 'Deployment',
        'ipam.spidernet.io/owner-application-namespace': 'default',
        'ipam.spidernet.io/owner-application-name': 'web',
      },
    ),
    pool('elsewhere', { subnet: '10.7.0.0/16', ips: ['10.7.0.1'] }),
    pool('broken', { subnet: '10.6.0.0/16', ips: ['bad'] }),
  ];
  t.same(poolsOfSubnet(s, pools).map((p) => p.metadata.name), ['auto4-web-eth0-1a2b3', 'manual']);
  const status = subnetStatusFor(s, pools, reservedSets([reserved(['10.6.0.1-10.6.0.9'])]));
  t.same(status && { ...status, controlledIPPools: JSON.parse(status.controlledIPPools) }, {
    allocatedIPCount: 12, // handed to pools: 3 + 9, whatever pods hold of them
    totalIPCount: 90, // 100 ips, 1 excluded, 9 reserved
    controlledIPPools: {
      'auto4-web-eth0-1a2b3': { ips: ['10.6.0.30-10.6.0.32'], application: 'apps_v1_Deployment_default_web' },
      manual: { ips: ['10.6.0.10-10.6.0.14', '10.6.0.16-10.6.0.19'] },
    },
  });
  t.equal(subnetStatusFor(subnet('bad', { subnet: 'x' }), pools, NONE), undefined);
});

t.test('a subnet written as a host address matches its pools', async (t) => {
  const s = subnet('s1', { subnet: '10.6.0.1/16' });
  t.same(poolsOfSubnet(s, [pool('p', { subnet: '10.6.0.0/16' })]).map((p) => p.metadata.name), ['p']);
});

t.test('statusDiffers: only a real change is a write', async (t) => {
  const desired = { allocatedIPCount: 1, totalIPCount: 10, allocatedIPs: '{"10.6.0.1":{"interface":"eth0"}}' };
  t.notOk(statusDiffers({ ...desired, extra: 'kept' }, desired));
  t.ok(statusDiffers(undefined, desired));
  t.ok(statusDiffers(null, desired));
  t.ok(statusDiffers({ ...desired, allocatedIPCount: 2 }, desired));
  t.ok(statusDiffers({ allocatedIPCount: 1, totalIPCount: 10 }, desired), 'a missing field');
});
