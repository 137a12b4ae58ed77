// The allocator over an in-memory ClaimStore: lost races, the removal fence,
// StatefulSet retention, denials that say why, and no claim left behind on failure.
import t from 'tap';
import { formatAddress, type IPFamily } from '../../../ipam/address.js';
import { allocatePod, claimInPool, type AllocatorView, type PodAllocationRequest } from '../../../ipam/allocator.js';
import { MemoryClaimStore, type ClaimRequest } from '../../../ipam/claim-store.js';
import type { InterfaceRequest } from '../../../ipam/pod-network-request.js';
import type { PoolView } from '../../../ipam/pool-candidates.js';
import { parseRangeList, RangeSet } from '../../../ipam/range-set.js';
import { address, poolView } from './fixtures.js';

const v4 = poolView('v4', { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.4'] });
const v4b = poolView('v4b', { subnet: '10.7.0.0/16', ips: ['10.7.1.1-10.7.1.2'] });
const v6 = poolView('v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::1-fd00:6::4'] });

const range = (family: IPFamily, ...ranges: string[]) => {
  const parsed = parseRangeList(ranges, family);
  if (!parsed.ok) throw new Error('fixture range');
  return parsed.value.set;
};

function view(over: Partial<AllocatorView> = {}, claimed: readonly string[] = []): AllocatorView {
  return {
    reservedSet: (family) => RangeSet.empty(family),
    isClaimed: (a) => claimed.includes(formatAddress(a)),
    claimsInPool: () => claimed.length,
    poolsFromAPI: async () => [],
    addressesLeavingPool: async (_pool, family) => RangeSet.empty(family),
    ...over,
  };
}

const nic = (over: Partial<InterfaceRequest> = {}): InterfaceRequest => ({ interface: 'eth0', ipv4: ['v4'], ipv6: [], source: 'ippool', ...over });
const request = (nics: InterfaceRequest[], pools: PoolView[] = [v4, v4b, v6], over: Partial<PodAllocationRequest> = {}): PodAllocationRequest => ({
  nics,
  pools: new Map(pools.map((p) => [p.name, p])),
  selection: { namespace: 'default', namespaceLabels: {}, podLabels: {} },
  claim: { namespace: 'default', bindingID: 'b1' },
  retained: [],
  ...over,
});
const claimOf = (pool: PoolView): Omit<ClaimRequest, 'address'> => ({ pool: pool.name, interface: 'eth0', namespace: 'default', bindingID: 'b1' });

t.test('claimInPool: a lost race takes the next address', async (t) => {
  const store = new MemoryClaimStore();
  // Another replica holds every address but one: the store refuses them, the cache does not know yet.
  await store.reserve({ ...claimOf(v4), address: address('10.6.1.1') });
  await store.reserve({ ...claimOf(v4), address: address('10.6.1.2') });
  await store.reserve({ ...claimOf(v4), address: address('10.6.1.4') });
  const claim = await claimInPool({ pool: v4, family: 4, claim: claimOf(v4), seed: 's' }, { view: view(), store });
  t.equal(claim && formatAddress(claim.address), '10.6.1.3');
  t.equal(await claimInPool({ pool: v4, family: 4, claim: claimOf(v4), seed: 's' }, { view: view(), store }), undefined, 'full');
});

t.test('claimInPool: a claim on a leaving address is given back, the search goes on in what stays', async (t) => {
  const store = new MemoryClaimStore();
  const leaving = range(4, '10.6.1.1-10.6.1.3');
  const claim = await claimInPool({ pool: v4, family: 4, claim: claimOf(v4), seed: 's' }, { view: view({ addressesLeavingPool: async () => leaving }), store });
  t.equal(claim && formatAddress(claim.address), '10.6.1.4');
  t.same(store.held().map((c) => formatAddress(c.address)), ['10.6.1.4'], 'only the kept claim is held');
});

t.test('claimInPool: a failed fence read gives the claim back and fails', async (t) => {
  const store = new MemoryClaimStore();
  const failing = view({ addressesLeavingPool: async () => Promise.reject(new Error('ledger down')) });
  await t.rejects(claimInPool({ pool: v4, family: 4, claim: claimOf(v4), seed: 's' }, { view: failing, store }), /ledger down/);
  t.same(store.held(), []);
});

t.test('allocatePod: one address per NIC and family, in the first pool with one free', async (t) => {
  const store = new MemoryClaimStore();
  const nics = [nic({ ipv4: ['v4'], ipv6: ['v6'] }), nic({ interface: 'net1', ipv4: ['v4', 'v4b'], source: 'ippools' })];
  const result = await allocatePod(request(nics), { view: view(), store });
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.value.map((a) => [a.nic.interface, a.family, a.pool.name]), [['eth0', 4, 'v4'], ['eth0', 6, 'v6'], ['net1', 4, 'v4']]);
  t.equal(new Set(result.value.map((a) => formatAddress(a.address))).size, 3, 'no address twice');
  t.equal(store.held().length, 3);
});

t.test('allocatePod: a full pool passes to the next', async (t) => {
  const claimed = ['10.6.1.1', '10.6.1.2', '10.6.1.3', '10.6.1.4'];
  const result = await allocatePod(request([nic({ ipv4: ['v4', 'v4b'] })]), { view: view({}, claimed), store: new MemoryClaimStore() });
  t.ok(result.ok && result.value[0]?.pool.name === 'v4b');
});

t.test('allocatePod: a denial says why, and no claim of another job is left behind', async (t) => {
  const store = new MemoryClaimStore();
  const claimed = ['10.6.1.1', '10.6.1.2', '10.6.1.3', '10.6.1.4'];
  const result = await allocatePod(request([nic({ ipv4: ['v4'], ipv6: ['v6'] })]), { view: view({}, claimed), store });
  t.same(result, { ok: false, error: { reason: 'pool-exhausted', message: 'no IPv4 address for interface eth0: v4 has no free IPv4 address (4 of 4 in use); free an address or add addresses to the pool' } });
  t.same(store.held(), [], 'the IPv6 claim was given back');
});

t.test('allocatePod: an unknown pool is looked up in the API before it is called unknown', async (t) => {
  const late = await allocatePod(request([nic({ ipv4: ['v4'] })], []), { view: view({ poolsFromAPI: async () => [v4] }), store: new MemoryClaimStore() });
  t.ok(late.ok, 'found in the API');
  const unknown = await allocatePod(request([nic({ ipv4: ['v9'] })]), { view: view(), store: new MemoryClaimStore() });
  t.same(unknown, { ok: false, error: { reason: 'unknown-pool', message: 'IPv4 pool "v9" for interface eth0 does not exist (named by annotation ipam.spidernet.io/ippool); create it or fix the name' } });
});

t.test('allocatePod: a StatefulSet ordinal gets its address back, without a new claim', async (t) => {
  const store = new MemoryClaimStore();
  const retained = [{ spec: { interface: 'eth0', pool: 'v4' }, inUse: { address: address('10.6.1.3') } }];
  const result = await allocatePod(request([nic()], undefined, { retained }), { view: view({}, ['10.6.1.3']), store });
  t.ok(result.ok);
  if (!result.ok) return;
  t.equal(formatAddress(result.value[0]!.address), '10.6.1.3');
  t.equal(result.value[0]!.claim, undefined, 'kept, not made');
  t.same(store.held(), []);
});

t.test('allocatePod: a failure of one job fails the pod, every claim given back', async (t) => {
  const store = new MemoryClaimStore();
  const failing = view({ addressesLeavingPool: async (pool, family) => (pool === 'v6' ? Promise.reject(new Error('ledger down')) : RangeSet.empty(family)) });
  await t.rejects(allocatePod(request([nic({ ipv4: ['v4'], ipv6: ['v6'] })]), { view: failing, store }), /ledger down/);
  t.same(store.held(), []);
});
