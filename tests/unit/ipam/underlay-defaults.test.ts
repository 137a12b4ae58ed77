// Defaulting of SpiderSubnet, SpiderIPPool and SpiderReservedIP (the mutating
// webhook's part), IPv4 and IPv6 from the same tables.
import t from 'tap';
import { ADDRESSES_IN_USE_FINALIZER, type ObjectMeta, type OwnerReference } from '../../../ipam/object-meta.js';
import type { SpiderIPPool } from '../../../ipam/spider-ippool.js';
import type { SpiderReservedIP } from '../../../ipam/spider-reserved-ip.js';
import type { SpiderSubnet, SpiderSubnetSpec } from '../../../ipam/spider-subnet.js';
import {
  defaultSpiderIPPool,
  defaultSpiderReservedIP,
  defaultSpiderSubnet,
  LABEL_IPPOOL_CIDR,
  LABEL_OWNER_SUBNET,
  LABEL_SUBNET_CIDR,
  SPIDERPOOL_API_VERSION,
  type SubnetForDefaults,
} from '../../../ipam/underlay-defaults.js';

interface Net {
  family: 4 | 6;
  name: 'IPv4' | 'IPv6';
  subnet: string;
  hostBitsSubnet: string;
  label: string;
  inner: string;
  a: (n: number) => string;
  r: (x: number, y: number) => string;
  /** `a(n)` written in a non-canonical but valid way (IPv6 only; IPv4 has none that parse). */
  loose: (n: number) => string;
  routeDst: string;
  otherSubnet: string;
  otherA: (n: number) => string;
}

const NETS: Net[] = [
  {
    family: 4,
    name: 'IPv4',
    subnet: '10.6.0.0/16',
    hostBitsSubnet: '10.6.7.8/16',
    label: '10-6-0-0-16',
    inner: '10.6.0.0/24',
    a: (n) => `10.6.0.${n}`,
    r: (x, y) => `10.6.0.${x}-10.6.0.${y}`,
    loose: (n) => `10.6.0.${n}`,
    routeDst: '172.16.0.0/16',
    otherSubnet: 'fd00:6::/64',
    otherA: (n) => `fd00:6::${n.toString(16)}`,
  },
  {
    family: 6,
    name: 'IPv6',
    subnet: 'fd00:6::/64',
    hostBitsSubnet: 'FD00:6:0:0::7:8/64',
    label: 'fd00-6---64',
    inner: 'fd00:6::/80',
    a: (n) => `fd00:6::${n.toString(16)}`,
    r: (x, y) => `fd00:6::${x.toString(16)}-fd00:6::${y.toString(16)}`,
    loose: (n) => `FD00:0006:0:0:0:0:0:${n.toString(16).toUpperCase()}`,
    routeDst: 'fd10::/64',
    otherSubnet: '10.6.0.0/16',
    otherA: (n) => `10.6.0.${n}`,
  },
];

const DELETING = '2024-01-01T00:00:00Z';

function subnetObject(spec: SpiderSubnet['spec'], metadata: ObjectMeta = { name: 's' }): SpiderSubnet {
  return { apiVersion: SPIDERPOOL_API_VERSION, kind: 'SpiderSubnet', metadata, spec };
}
function poolObject(spec: SpiderIPPool['spec'], metadata: ObjectMeta = { name: 'p' }): SpiderIPPool {
  return { apiVersion: SPIDERPOOL_API_VERSION, kind: 'SpiderIPPool', metadata, spec };
}
function reservedObject(spec: SpiderReservedIP['spec'], metadata: ObjectMeta = { name: 'r' }): SpiderReservedIP {
  return { apiVersion: SPIDERPOOL_API_VERSION, kind: 'SpiderReservedIP', metadata, spec };
}
function forDefaults(name: string, spec: SpiderSubnetSpec, uid?: string): SubnetForDefaults {
  return { name, spec, ...(uid ? { uid } : {}) };
}
function owner(name: string, uid: string, controller: boolean): OwnerReference {
  return { apiVersion: SPIDERPOOL_API_VERSION, kind: 'SpiderSubnet', name, uid, blockOwnerDeletion: true, controller };
}

t.test('canonical subnet, ipVersion and ranges (SpiderSubnet and SpiderIPPool alike)', async (t) => {
  for (const net of NETS) {
    const { a, r } = net;
    type Spec = SpiderSubnet['spec'];
    const cases: Array<[name: string, spec: Spec, expected: Spec]> = [
      ['already canonical', { subnet: net.subnet, ips: [r(1, 9)] }, { subnet: net.subnet, ipVersion: net.family, ips: [r(1, 9)] }],
      ['host bits cleared', { subnet: net.hostBitsSubnet }, { subnet: net.subnet, ipVersion: net.family }],
      ['ipVersion null is filled in', { subnet: net.subnet, ipVersion: null }, { subnet: net.subnet, ipVersion: net.family }],
      [
        'ips sorted, adjacent entries merged, spelling canonical',
        { subnet: net.subnet, ips: [a(0x20), r(5, 9), net.loose(4), r(1, 3)] },
        { subnet: net.subnet, ipVersion: net.family, ips: [r(1, 9), a(0x20)] },
      ],
      [
        'overlapping ips are NOT merged, so validation can report them',
        { subnet: net.subnet, ips: [r(1, 9), a(5), net.loose(0x20)] },
        { subnet: net.subnet, ipVersion: net.family, ips: [r(1, 9), a(5), net.loose(0x20)] },
      ],
      [
        'overlapping excludeIPs are merged',
        { subnet: net.subnet, ips: [r(1, 9)], excludeIPs: [r(2, 5), a(3), a(6)] },
        { subnet: net.subnet, ipVersion: net.family, ips: [r(1, 9)], excludeIPs: [r(2, 6)] },
      ],
      [
        'an unreadable entry leaves its list as written',
        { subnet: net.subnet, ips: [r(5, 9), 'bogus', r(1, 4)], excludeIPs: [a(9), a(8)] },
        { subnet: net.subnet, ipVersion: net.family, ips: [r(5, 9), 'bogus', r(1, 4)], excludeIPs: [r(8, 9)] },
      ],
      [
        'an entry of the other family leaves its list as written',
        { subnet: net.subnet, ips: [r(5, 9), net.otherA(1), r(1, 4)] },
        { subnet: net.subnet, ipVersion: net.family, ips: [r(5, 9), net.otherA(1), r(1, 4)] },
      ],
      [
        'entries outside the subnet are still merged (validation quotes the merged text)',
        { subnet: net.inner, ips: [a(1), a(2)] },
        { subnet: net.inner, ipVersion: net.family, ips: [r(1, 2)] },
      ],
      [
        'a wrong ipVersion is kept for validation to report',
        { subnet: net.subnet, ipVersion: net.family === 4 ? 6 : 4, ips: [a(2), a(1)] },
        { subnet: net.subnet, ipVersion: net.family === 4 ? 6 : 4, ips: [r(1, 2)] },
      ],
      ['empty lists stay empty', { subnet: net.subnet, ips: [], excludeIPs: [] }, { subnet: net.subnet, ipVersion: net.family, ips: [], excludeIPs: [] }],
      [
        'other fields untouched',
        { subnet: net.subnet, gateway: a(1), routes: [{ dst: net.routeDst, gw: a(1) }], vlan: 0 },
        { subnet: net.subnet, ipVersion: net.family, gateway: a(1), routes: [{ dst: net.routeDst, gw: a(1) }], vlan: 0 },
      ],
      ['an invalid subnet leaves everything as written', { subnet: `${net.subnet}9`, ips: [a(2), a(1)] }, { subnet: `${net.subnet}9`, ips: [a(2), a(1)] }],
    ];
    for (const [name, spec, expected] of cases) {
      t.same(defaultSpiderSubnet(subnetObject(spec)).spec, expected, `${net.name} SpiderSubnet: ${name}`);
      t.same(defaultSpiderIPPool(poolObject(spec), []).spec, expected, `${net.name} SpiderIPPool: ${name}`);
    }
  }
});

t.test('labels: subnet-cidr on a SpiderSubnet, ippool-cidr on a SpiderIPPool', async (t) => {
  t.equal(LABEL_SUBNET_CIDR, 'ipam.spidernet.io/subnet-cidr');
  t.equal(LABEL_IPPOOL_CIDR, 'ipam.spidernet.io/ippool-cidr');
  t.equal(LABEL_OWNER_SUBNET, 'ipam.spidernet.io/owner-spider-subnet');
  for (const net of NETS) {
    const subnet = defaultSpiderSubnet(subnetObject({ subnet: net.hostBitsSubnet }, { name: 's', labels: { team: 'a', [LABEL_SUBNET_CIDR]: 'stale' } }));
    t.same(subnet.metadata.labels, { team: 'a', [LABEL_SUBNET_CIDR]: net.label }, `${net.name} SpiderSubnet: label from the canonical CIDR, others kept`);
    const pool = defaultSpiderIPPool(poolObject({ subnet: net.hostBitsSubnet }, { name: 'p', labels: null }), []);
    t.same(pool.metadata.labels, { [LABEL_IPPOOL_CIDR]: net.label }, `${net.name} SpiderIPPool: label from the canonical CIDR`);
    t.notOk(defaultSpiderSubnet(subnetObject({ subnet: 'bogus' })).metadata.labels, `${net.name}: no label for an invalid subnet`);
    t.notOk(defaultSpiderIPPool(poolObject({ subnet: 'bogus' }), []).metadata.labels, `${net.name}: no label for an invalid pool subnet`);
  }
});

t.test('finalizer: added once, never to an object being deleted', async (t) => {
  const cases: Array<[name: string, metadata: ObjectMeta, finalizers: string[] | undefined | null]> = [
    ['none yet', { name: 'x' }, [ADDRESSES_IN_USE_FINALIZER]],
    ['null', { name: 'x', finalizers: null }, [ADDRESSES_IN_USE_FINALIZER]],
    ['others kept, ours appended', { name: 'x', finalizers: ['example.com/keep'] }, ['example.com/keep', ADDRESSES_IN_USE_FINALIZER]],
    ['already there', { name: 'x', finalizers: [ADDRESSES_IN_USE_FINALIZER, 'example.com/keep'] }, [ADDRESSES_IN_USE_FINALIZER, 'example.com/keep']],
    ['being deleted, none', { name: 'x', deletionTimestamp: DELETING }, undefined],
    ['being deleted, others', { name: 'x', deletionTimestamp: DELETING, finalizers: ['example.com/keep'] }, ['example.com/keep']],
  ];
  for (const net of NETS) {
    for (const [name, metadata, finalizers] of cases) {
      t.same(defaultSpiderSubnet(subnetObject({ subnet: net.subnet }, structuredClone(metadata))).metadata.finalizers, finalizers, `${net.name} SpiderSubnet: ${name}`);
      t.same(defaultSpiderIPPool(poolObject({ subnet: net.subnet }, structuredClone(metadata)), []).metadata.finalizers, finalizers, `${net.name} SpiderIPPool: ${name}`);
    }
    const twice = defaultSpiderIPPool(defaultSpiderIPPool(poolObject({ subnet: net.subnet }), []), []);
    t.same(twice.metadata.finalizers, [ADDRESSES_IN_USE_FINALIZER], `${net.name}: defaulting twice adds it once`);
    t.same(defaultSpiderIPPool(poolObject({ subnet: 'bogus' }), []).metadata.finalizers, [ADDRESSES_IN_USE_FINALIZER], `${net.name}: added even when the subnet is invalid`);
  }
  t.same(defaultSpiderReservedIP(reservedObject({ ips: ['10.6.0.1'] })).metadata, { name: 'r' }, 'a SpiderReservedIP gets no finalizer nor labels');
});

t.test('a pool of a SpiderSubnet\'s CIDR inherits what it leaves unset', async (t) => {
  for (const net of NETS) {
    const { a } = net;
    const route = { dst: net.routeDst, gw: a(1) };
    const ownRoute = { dst: net.routeDst, gw: a(2) };
    const parent = forDefaults('s', { subnet: net.hostBitsSubnet, gateway: a(1), routes: [route], vlan: 100 }, 'uid-s');
    type Spec = SpiderIPPool['spec'];
    type Inherited = Pick<Spec, 'gateway' | 'routes' | 'vlan'>;
    const cases: Array<[name: string, spec: Spec, subnets: SubnetForDefaults[], inherited: Inherited, ownerName: string | undefined]> = [
      ['everything unset', { subnet: net.subnet }, [parent], { gateway: a(1), routes: [route], vlan: 100 }, 's'],
      ['pool written with host bits', { subnet: net.hostBitsSubnet }, [parent], { gateway: a(1), routes: [route], vlan: 100 }, 's'],
      ['null and empty count as unset', { subnet: net.subnet, gateway: '', routes: [], vlan: null }, [parent], { gateway: a(1), routes: [route], vlan: 100 }, 's'],
      ['own values kept', { subnet: net.subnet, gateway: a(2), routes: [ownRoute], vlan: 7 }, [parent], { gateway: a(2), routes: [ownRoute], vlan: 7 }, 's'],
      ['vlan 0 is a value, not unset', { subnet: net.subnet, vlan: 0 }, [parent], { gateway: a(1), routes: [route], vlan: 0 }, 's'],
      [
        'a subnet that sets nothing',
        { subnet: net.subnet },
        [forDefaults('s', { subnet: net.subnet }, 'uid-s')],
        { gateway: undefined, routes: undefined, vlan: undefined },
        's',
      ],
      [
        'only the subnet of the same CIDR',
        { subnet: net.subnet },
        [forDefaults('inner', { subnet: net.inner, gateway: a(3), vlan: 3 }, 'uid-i'), forDefaults('other', { subnet: net.otherSubnet, gateway: net.otherA(1), vlan: 4 }, 'uid-o'), parent],
        { gateway: a(1), routes: [route], vlan: 100 },
        's',
      ],
      [
        'no subnet of the same CIDR',
        { subnet: net.subnet },
        [forDefaults('inner', { subnet: net.inner, gateway: a(3), vlan: 3 }, 'uid-i'), forDefaults('other', { subnet: net.otherSubnet, gateway: net.otherA(1) }, 'uid-o')],
        { gateway: undefined, routes: undefined, vlan: undefined },
        undefined,
      ],
      ['no subnets at all', { subnet: net.subnet }, [], { gateway: undefined, routes: undefined, vlan: undefined }, undefined],
    ];
    for (const [name, spec, subnets, inherited, ownerName] of cases) {
      const out = defaultSpiderIPPool(poolObject(spec), subnets);
      t.same(
        { gateway: out.spec.gateway, routes: out.spec.routes, vlan: out.spec.vlan },
        inherited,
        `${net.name}: ${name}: gateway, routes, vlan`,
      );
      t.equal(out.metadata.labels?.[LABEL_OWNER_SUBNET], ownerName, `${net.name}: ${name}: owner label`);
      t.equal(out.metadata.labels?.[LABEL_IPPOOL_CIDR], net.label, `${net.name}: ${name}: cidr label`);
    }

    const out = defaultSpiderIPPool(poolObject({ subnet: net.subnet }), [parent]);
    out.spec.routes![0]!.gw = 'changed';
    t.equal(parent.spec.routes![0]!.gw, a(1), `${net.name}: inherited routes are a copy, not the subnet's own`);
  }
});

t.test('owner reference to the SpiderSubnet: controller only when there is no other controller', async (t) => {
  for (const net of NETS) {
    const parent = forDefaults('s', { subnet: net.subnet }, 'uid-s');
    const other = (controller: boolean): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'uid-d', controller });
    const cases: Array<[name: string, refs: OwnerReference[] | null | undefined, subnet: SubnetForDefaults, expected: OwnerReference[] | null | undefined]> = [
      ['no references yet', undefined, parent, [owner('s', 'uid-s', true)]],
      ['null references', null, parent, [owner('s', 'uid-s', true)]],
      ['another owner, not a controller', [other(false)], parent, [other(false), owner('s', 'uid-s', true)]],
      ['another controller', [other(true)], parent, [other(true), owner('s', 'uid-s', false)]],
      ['already referenced, kept as it is', [{ ...owner('s', 'uid-s', false), blockOwnerDeletion: false }], parent, [{ ...owner('s', 'uid-s', false), blockOwnerDeletion: false }]],
      ['a subnet without uid: label only, no reference', undefined, forDefaults('s', { subnet: net.subnet }), undefined],
    ];
    for (const [name, refs, subnet, expected] of cases) {
      const out = defaultSpiderIPPool(poolObject({ subnet: net.subnet }, { name: 'p', ownerReferences: refs }), [subnet]);
      t.same(out.metadata.ownerReferences, expected, `${net.name}: ${name}`);
      t.equal(out.metadata.labels?.[LABEL_OWNER_SUBNET], 's', `${net.name}: ${name}: owner label`);
    }
    const twice = defaultSpiderIPPool(defaultSpiderIPPool(poolObject({ subnet: net.subnet }), [parent]), [parent]);
    t.same(twice.metadata.ownerReferences, [owner('s', 'uid-s', true)], `${net.name}: defaulting twice adds one reference`);
    t.notOk(defaultSpiderSubnet(subnetObject({ subnet: net.subnet })).metadata.ownerReferences, `${net.name}: a SpiderSubnet gets no owner`);
  }
});

t.test('the input object is not mutated', async (t) => {
  for (const net of NETS) {
    const metadata: ObjectMeta = { name: 'x', labels: { team: 'a' }, finalizers: ['example.com/keep'], ownerReferences: [] };
    const subnet = subnetObject({ subnet: net.hostBitsSubnet, ips: [net.a(2), net.a(1)], excludeIPs: [net.a(2), net.a(2)] }, structuredClone(metadata));
    const subnetBefore = structuredClone(subnet);
    const subnetOut = defaultSpiderSubnet(subnet);
    t.same(subnet, subnetBefore, `${net.name} SpiderSubnet input unchanged`);
    t.not(subnetOut.spec, subnet.spec, `${net.name} SpiderSubnet: a new spec`);

    const parents = [forDefaults('s', { subnet: net.subnet, gateway: net.a(1), routes: [{ dst: net.routeDst, gw: net.a(1) }], vlan: 9 }, 'uid-s')];
    const parentsBefore = structuredClone(parents);
    const pool = poolObject({ subnet: net.hostBitsSubnet, ips: [net.a(3), net.a(2)] }, structuredClone(metadata));
    const poolBefore = structuredClone(pool);
    const poolOut = defaultSpiderIPPool(pool, parents);
    t.same(pool, poolBefore, `${net.name} SpiderIPPool input unchanged`);
    t.same(parents, parentsBefore, `${net.name} subnets unchanged`);
    t.same(poolOut.spec.ips, [net.r(2, 3)], `${net.name} SpiderIPPool output defaulted`);

    const reserved = reservedObject({ ips: [net.a(2), net.a(1)] });
    const reservedBefore = structuredClone(reserved);
    t.same(defaultSpiderReservedIP(reserved).spec, { ipVersion: net.family, ips: [net.r(1, 2)] }, `${net.name} SpiderReservedIP output defaulted`);
    t.same(reserved, reservedBefore, `${net.name} SpiderReservedIP input unchanged`);
  }
});

t.test('defaultSpiderReservedIP: ipVersion from the addresses, ranges merged', async (t) => {
  for (const net of NETS) {
    const { a, r } = net;
    const otherVersion = net.family === 4 ? 6 : 4;
    type Spec = SpiderReservedIP['spec'];
    const cases: Array<[name: string, spec: Spec, expected: Spec]> = [
      ['one address', { ips: [a(1)] }, { ipVersion: net.family, ips: [a(1)] }],
      ['sorted, merged, overlaps too, spelling canonical', { ips: [a(0x20), r(1, 5), net.loose(3), r(6, 9)] }, { ipVersion: net.family, ips: [r(1, 9), a(0x20)] }],
      ['ipVersion given and matching', { ipVersion: net.family, ips: [a(2), a(1)] }, { ipVersion: net.family, ips: [r(1, 2)] }],
      ['ipVersion mismatching: left as written', { ipVersion: otherVersion, ips: [a(2), a(1)] }, { ipVersion: otherVersion, ips: [a(2), a(1)] }],
      ['mixed families: left as written', { ips: [a(2), net.otherA(1)] }, { ips: [a(2), net.otherA(1)] }],
      ['unreadable: left as written', { ips: [a(2), 'bogus'] }, { ips: [a(2), 'bogus'] }],
      ['empty: left as written', { ips: [] }, { ips: [] }],
      ['absent: left as written', {}, {}],
    ];
    for (const [name, spec, expected] of cases) t.same(defaultSpiderReservedIP(reservedObject(spec)).spec, expected, `${net.name}: ${name}`);
  }
});
