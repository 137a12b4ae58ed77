import t from 'tap';
import { formatAddress, type IPFamily } from '../../../ipam/address.js';
import {
  AUTO_POOL_LABEL,
  autoPoolLabels,
  autoPoolName,
  desiredPoolSize,
  findAutoPool,
  planAutoPool,
  type AppRef,
  type AutoPoolInputs,
} from '../../../ipam/auto-pool.js';
import { parseCidr } from '../../../ipam/cidr.js';
import { RangeSet, parseRangeList } from '../../../ipam/range-set.js';

function set(family: IPFamily, ...texts: string[]): RangeSet {
  if (texts.length === 0) return RangeSet.empty(family);
  const parsed = parseRangeList(texts, family);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value.set;
}
const app = (name: string, uid = 'AB12cd34-5678-90ef-aaaa-bbbbccccdddd'): AppRef => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns1', name, uid });
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

t.test('autoPoolName: auto{4|6}-{app}-{nic}-{5 uid chars}, always a valid name of ≤253 chars', async (t) => {
  const cases: Array<[family: IPFamily, name: string, nic: string, expected: string | RegExp]> = [
    [4, 'web', 'eth0', 'auto4-web-eth0-ab12c'],
    [6, 'web', 'net1', 'auto6-web-net1-ab12c'],
    [4, 'a.b', 'eth0', 'auto4-a.b-eth0-ab12c'],
    [4, 'x'.repeat(300), 'eth0', /^auto4-x+-eth0-ab12c$/],
    [6, 'x'.repeat(234) + '.-yyyy', 'net1', /^auto6-x{234}-net1-ab12c$/],
    [4, 'x'.repeat(235) + '-' + 'y'.repeat(30), 'eth0', /^auto4-x{235}-eth0-ab12c$/],
  ];
  for (const [family, name, nic, expected] of cases) {
    const got = autoPoolName(family, app(name), nic);
    if (typeof expected === 'string') t.equal(got, expected, name);
    else t.match(got, expected, `${name.slice(0, 12)}… (${name.length})`);
    t.ok(got.length <= 253, `length ${got.length} ≤ 253`);
    t.match(got, DNS_SUBDOMAIN, 'valid DNS subdomain');
  }
  t.equal(autoPoolName(4, app('web', '0-0-0-0-0123456'), 'eth0'), 'auto4-web-eth0-00000', 'dashes of the uid are skipped');
});

t.test('autoPoolLabels: gv with _, ip-version, cidr label, truncated name', async (t) => {
  for (const [family, cidrText, version, cidrLabel] of [
    [4, '10.6.0.0/16', 'IPv4', '10-6-0-0-16'],
    [6, 'fd00:6::/64', 'IPv6', 'fd00-6---64'],
  ] as const) {
    const cidr = parseCidr(cidrText);
    if (!cidr.ok) throw new Error(cidr.error);
    const labels = autoPoolLabels(family, app('web'), 'net1', 'subnet-a', cidr.value, false);
    t.same(labels, {
      [AUTO_POOL_LABEL.ownerSubnet]: 'subnet-a',
      [AUTO_POOL_LABEL.appGV]: 'apps_v1',
      [AUTO_POOL_LABEL.appKind]: 'Deployment',
      [AUTO_POOL_LABEL.appNamespace]: 'ns1',
      [AUTO_POOL_LABEL.appName]: 'web',
      [AUTO_POOL_LABEL.appUID]: 'AB12cd34-5678-90ef-aaaa-bbbbccccdddd',
      [AUTO_POOL_LABEL.interface]: 'net1',
      [AUTO_POOL_LABEL.ipVersion]: version,
      [AUTO_POOL_LABEL.reclaim]: 'false',
      [AUTO_POOL_LABEL.cidr]: cidrLabel,
    }, cidrText);
  }
  const cidr = parseCidr('10.6.0.0/16');
  if (!cidr.ok) throw new Error(cidr.error);
  t.equal(autoPoolLabels(4, { ...app('j'), apiVersion: 'v1' }, 'eth0', 's', cidr.value, true)[AUTO_POOL_LABEL.appGV], 'v1', 'core group has no /');
  const long = autoPoolLabels(4, app('a'.repeat(100)), 'eth0', 's', cidr.value, true)[AUTO_POOL_LABEL.appName]!;
  t.equal(long.length, 63, 'long name cut to 63');
  const cutAtDash = autoPoolLabels(4, app('a'.repeat(62) + '-bcd'), 'eth0', 's', cidr.value, true)[AUTO_POOL_LABEL.appName]!;
  t.match(cutAtDash, LABEL_VALUE, 'a name cut at a "-" is still a valid label value');
});

t.test('desiredPoolSize: "N" is fixed, "+N" adds replicas', async (t) => {
  const cases: Array<[kind: 'fixed' | 'extra', count: number, replicas: number, size: number]> = [
    ['fixed', 5, 3, 5],
    ['fixed', 0, 3, 0],
    ['extra', 1, 3, 4],
    ['extra', 0, 0, 0],
    ['extra', 2, 0, 2],
  ];
  for (const [kind, count, replicas, size] of cases) t.equal(desiredPoolSize({ kind, count }, replicas), size, `${kind} ${count} with ${replicas}`);
});

function inputs(family: IPFamily, over: Partial<AutoPoolInputs>): AutoPoolInputs {
  return {
    family,
    subnetName: 'subnet-a',
    subnetUsable: RangeSet.empty(family),
    reserved: RangeSet.empty(family),
    otherPools: RangeSet.empty(family),
    current: RangeSet.empty(family),
    inUse: RangeSet.empty(family),
    size: 0,
    ...over,
  };
}

t.test('planAutoPool grows with the lowest free addresses', async (t) => {
  const cases: Array<[family: IPFamily, over: (f: IPFamily) => Partial<AutoPoolInputs>, ips: string[], added: bigint]> = [
    [4, (f) => ({ subnetUsable: set(f, '10.6.0.1-10.6.0.20'), size: 3 }), ['10.6.0.1-10.6.0.3'], 3n],
    [4, (f) => ({ subnetUsable: set(f, '10.6.0.1-10.6.0.20'), reserved: set(f, '10.6.0.2'), otherPools: set(f, '10.6.0.4-10.6.0.5'), size: 4 }), ['10.6.0.1', '10.6.0.3', '10.6.0.6-10.6.0.7'], 4n],
    [4, (f) => ({ subnetUsable: set(f, '10.6.0.1-10.6.0.20'), current: set(f, '10.6.0.10'), size: 3 }), ['10.6.0.1-10.6.0.2', '10.6.0.10'], 2n],
    [6, (f) => ({ subnetUsable: set(f, 'fd00::1-fd00::20'), reserved: set(f, 'fd00::1'), otherPools: set(f, 'fd00::3'), size: 3 }), ['fd00::2', 'fd00::4-fd00::5'], 3n],
    [6, (f) => ({ subnetUsable: set(f, 'fd00::1-fd00::ffff'), current: set(f, 'fd00::2'), size: 2 }), ['fd00::1-fd00::2'], 1n],
  ];
  for (const [family, over, ips, added] of cases) {
    const plan = planAutoPool(inputs(family, over(family)));
    if (!plan.ok) { t.fail(plan.error); continue; }
    t.same(plan.ips.toStrings(), ips, ips.join(','));
    t.equal(plan.added, added);
    t.equal(plan.removed, 0n);
    t.equal(plan.shortOfShrink, undefined);
  }
});

t.test('planAutoPool: not enough free addresses names the subnet and counts', async (t) => {
  const cases: Array<[family: IPFamily, over: (f: IPFamily) => Partial<AutoPoolInputs>, message: RegExp]> = [
    [4, (f) => ({ subnetUsable: set(f, '10.6.0.1-10.6.0.3'), reserved: set(f, '10.6.0.1'), size: 5 }), /^SpiderSubnet subnet-a has 2 free IPv4 addresses, but 5 more are needed \(pool size 5\)/],
    [4, (f) => ({ subnetUsable: set(f, '10.6.0.1-10.6.0.3'), otherPools: set(f, '10.6.0.1-10.6.0.2'), current: set(f, '10.6.0.3'), size: 3 }), /has 0 free IPv4 addresses, but 2 more are needed \(pool size 3\)/],
    [6, (f) => ({ subnetUsable: set(f, 'fd00::1-fd00::2'), current: set(f, 'fd00::1'), size: 4 }), /^SpiderSubnet subnet-a has 1 free IPv6 address, but 3 more are needed \(pool size 4\)/],
  ];
  for (const [family, over, message] of cases) {
    const plan = planAutoPool(inputs(family, over(family)));
    t.notOk(plan.ok);
    if (!plan.ok) {
      t.match(plan.error, message);
      t.match(plan.error, /ippool-ip-number/, 'says how to fix it');
    }
  }
});

t.test('planAutoPool shrinks by free addresses, highest first, never in use', async (t) => {
  const cases: Array<[family: IPFamily, current: string[], inUse: string[], size: number, ips: string[], removed: bigint, short?: number]> = [
    [4, ['10.6.0.1-10.6.0.5'], [], 2, ['10.6.0.1-10.6.0.2'], 3n],
    [4, ['10.6.0.1-10.6.0.5'], ['10.6.0.5'], 2, ['10.6.0.1', '10.6.0.5'], 3n],
    [4, ['10.6.0.1-10.6.0.3', '10.6.0.10-10.6.0.11'], ['10.6.0.11'], 3, ['10.6.0.1-10.6.0.2', '10.6.0.11'], 2n],
    [4, ['10.6.0.1-10.6.0.4'], ['10.6.0.1-10.6.0.3'], 1, ['10.6.0.1-10.6.0.3'], 1n, 2],
    [4, ['10.6.0.1-10.6.0.2'], ['10.6.0.1-10.6.0.2'], 0, ['10.6.0.1-10.6.0.2'], 0n, 2],
    [6, ['fd00::1-fd00::5'], ['fd00::4'], 2, ['fd00::1', 'fd00::4'], 3n],
    [6, ['fd00::1-fd00::3'], ['fd00::1-fd00::3'], 1, ['fd00::1-fd00::3'], 0n, 2],
  ];
  for (const [family, current, inUse, size, ips, removed, short] of cases) {
    const plan = planAutoPool(inputs(family, { current: set(family, ...current), inUse: set(family, ...inUse), size }));
    if (!plan.ok) { t.fail(plan.error); continue; }
    const name = `${current.join(',')} in use ${inUse.join(',') || '-'} → ${size}`;
    t.same(plan.ips.toStrings(), ips, name);
    t.equal(plan.removed, removed, `${name}: removed`);
    t.equal(plan.added, 0n);
    t.equal(plan.shortOfShrink, short, `${name}: shortOfShrink`);
    t.ok(set(family, ...inUse).isSubsetOf(plan.ips), `${name}: keeps every in-use address`);
  }
});

t.test('planAutoPool: unchanged size returns the current addresses', async (t) => {
  for (const family of [4, 6] as const) {
    const current = set(family, family === 4 ? '10.6.0.7-10.6.0.8' : 'fd00::7-fd00::8');
    const plan = planAutoPool(inputs(family, { current, size: 2 }));
    t.same(plan, { ok: true, ips: current, added: 0n, removed: 0n });
  }
  const firstFree = planAutoPool(inputs(4, { subnetUsable: set(4, '10.6.0.0-10.6.0.3'), size: 1 }));
  t.ok(firstFree.ok && formatAddress([...firstFree.ips.addresses()][0]!) === '10.6.0.0', 'a grown pool takes subnetUsable as given');
});

t.test('findAutoPool matches labels and prefers a pool not being deleted', async (t) => {
  const labels = (over: Record<string, string> = {}) => ({
    [AUTO_POOL_LABEL.appKind]: 'Deployment',
    [AUTO_POOL_LABEL.appNamespace]: 'ns1',
    [AUTO_POOL_LABEL.appName]: 'web',
    [AUTO_POOL_LABEL.interface]: 'eth0',
    [AUTO_POOL_LABEL.ipVersion]: 'IPv4',
    ...over,
  });
  const web = { kind: 'Deployment', namespace: 'ns1', name: 'web' };
  const pools = [
    { id: 'other-kind', labels: labels({ [AUTO_POOL_LABEL.appKind]: 'StatefulSet' }), deleting: false },
    { id: 'other-ns', labels: labels({ [AUTO_POOL_LABEL.appNamespace]: 'ns2' }), deleting: false },
    { id: 'other-nic', labels: labels({ [AUTO_POOL_LABEL.interface]: 'net1' }), deleting: false },
    { id: 'v6', labels: labels({ [AUTO_POOL_LABEL.ipVersion]: 'IPv6' }), deleting: false },
    { id: 'old', labels: labels(), deleting: true },
    { id: 'new', labels: labels(), deleting: false },
    { id: 'newer', labels: labels(), deleting: false },
  ];
  const cases: Array<[name: string, found: string | undefined, got: { id: string } | undefined]> = [
    ['prefers non-deleting, first of them', 'new', findAutoPool(pools, web, 'eth0', 4)],
    ['only a deleting one', 'old', findAutoPool(pools.filter((p) => p.id === 'old'), web, 'eth0', 4)],
    ['deleting after live', 'new', findAutoPool([pools[5]!, pools[4]!], web, 'eth0', 4)],
    ['IPv6', 'v6', findAutoPool(pools, web, 'eth0', 6)],
    ['net1', 'other-nic', findAutoPool(pools, web, 'net1', 4)],
    ['kind', 'other-kind', findAutoPool(pools, { ...web, kind: 'StatefulSet' }, 'eth0', 4)],
    ['none', undefined, findAutoPool(pools, { ...web, name: 'api' }, 'eth0', 4)],
    ['long name matches its 63-char label', 'long', findAutoPool([{ id: 'long', labels: labels({ [AUTO_POOL_LABEL.appName]: 'a'.repeat(63) }), deleting: false }], { ...web, name: 'a'.repeat(80) }, 'eth0', 4)],
  ];
  for (const [name, found, got] of cases) t.equal(got?.id, found, name);
});
