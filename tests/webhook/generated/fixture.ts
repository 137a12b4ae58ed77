// What the generated requests are judged against: a few subnets, pools, reserved IPs
// and in-use addresses of both families, including one IPv6 block of 2^96 addresses,
// so an accidental walk over addresses instead of ranges never finishes.
import type { AddressInUse } from '../../../ipam/address-conflicts.js';
import { parseAddress } from '../../../ipam/address.js';
import type { UnderlaySpec } from '../../../ipam/underlay-block.js';
import { InMemoryUnderlay } from '../in-memory-underlay.js';

export interface FixtureObject {
  name: string;
  uid: string;
  spec: UnderlaySpec;
}

export const FIXTURE_SUBNETS: readonly FixtureObject[] = [
  {
    name: 'subnet-v4',
    uid: '6f1c2a57-0000-4000-8000-000000000001',
    spec: { subnet: '10.6.0.0/16', ipVersion: 4, ips: ['10.6.0.10-10.6.255.250'], gateway: '10.6.0.1', routes: [{ dst: '172.16.0.0/16', gw: '10.6.0.254' }], vlan: 6 },
  },
  {
    name: 'subnet-v6',
    uid: '6f1c2a57-0000-4000-8000-000000000002',
    spec: { subnet: 'fd00:6::/64', ipVersion: 6, ips: ['fd00:6::10-fd00:6::ffff:ffff'], gateway: 'fd00:6::1', routes: [{ dst: 'fd00:99::/64', gw: 'fd00:6::fe' }] },
  },
  {
    name: 'subnet-v6-huge',
    uid: '6f1c2a57-0000-4000-8000-000000000003',
    spec: { subnet: '2001:db8::/32', ipVersion: 6, ips: ['2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'] },
  },
];

export const FIXTURE_POOLS: readonly FixtureObject[] = [
  { name: 'pool-v4-a', uid: '6f1c2a57-0000-4000-8000-000000000011', spec: { subnet: '10.6.0.0/16', ipVersion: 4, ips: ['10.6.1.0-10.6.1.255'], gateway: '10.6.0.1' } },
  { name: 'pool-v6-a', uid: '6f1c2a57-0000-4000-8000-000000000012', spec: { subnet: 'fd00:6::/64', ipVersion: 6, ips: ['fd00:6::100-fd00:6::1ff'] } },
  { name: 'pool-v4-lone', uid: '6f1c2a57-0000-4000-8000-000000000013', spec: { subnet: '192.168.10.0/24', ipVersion: 4, ips: ['192.168.10.10-192.168.10.50'], gateway: '192.168.10.1' } },
  { name: 'pool-v6-huge', uid: '6f1c2a57-0000-4000-8000-000000000014', spec: { subnet: '2001:db8::/32', ipVersion: 6, ips: ['2001:db8:1::-2001:db8:1:ffff:ffff:ffff:ffff:ffff'] } },
];

export const FIXTURE_RESERVED: readonly { name: string; spec: { ips: string[] } }[] = [
  { name: 'reserved-v4', spec: { ips: ['10.6.1.5', '10.6.1.200-10.6.1.210'] } },
  { name: 'reserved-v6', spec: { ips: ['fd00:6::150-fd00:6::15f', '2001:db8:1::1:0-2001:db8:1::1:ffff'] } },
];

function address(text: string) {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const FIXTURE_IN_USE: readonly AddressInUse[] = [
  { address: address('10.6.1.7'), pool: 'pool-v4-a', pod: 'default/web-0' },
  { address: address('10.6.1.8'), pool: 'pool-v4-a' },
  { address: address('fd00:6::101'), pool: 'pool-v6-a', pod: 'default/web-0' },
  { address: address('192.168.10.11'), pool: 'pool-v4-lone', pod: 'db/postgres-0' },
  { address: address('2001:db8:1::1'), pool: 'pool-v6-huge', pod: 'edge/router-0' },
];

/** Names the generators reuse, so updates and deletions meet objects that exist and addresses in use. */
export const FIXTURE_NAMES = [...FIXTURE_SUBNETS, ...FIXTURE_POOLS].map((o) => o.name).concat(FIXTURE_RESERVED.map((r) => r.name));

/** A fresh state over the fixture: what one request records does not leak into the next. */
export function fixtureUnderlay(): InMemoryUnderlay {
  const underlay = new InMemoryUnderlay();
  underlay.subnets = FIXTURE_SUBNETS.map((s) => ({ metadata: { name: s.name, uid: s.uid }, spec: structuredClone(s.spec) }));
  underlay.pools = FIXTURE_POOLS.map((p) => ({ metadata: { name: p.name, uid: p.uid }, spec: structuredClone(p.spec) }));
  underlay.reserved = FIXTURE_RESERVED.map((r) => ({ metadata: { name: r.name }, spec: { ips: [...r.spec.ips] } }));
  underlay.inUse = [...FIXTURE_IN_USE];
  return underlay;
}
