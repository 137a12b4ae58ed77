// Pod admission's side of the removal fence, with the cluster in memory: a claimed
// address that a pool update is removing is given back by its own uid, the whole
// removal is skipped at once, and when the pod is denied later every claim still held
// is rolled back exactly once, whichever NIC/family job claimed in between. And a
// pool the cache has not seen yet is read from the API before a name is called unknown;
// a dry run shows a binding and claims nothing.
import t from 'tap';
import { addressToClaimName, formatAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import { decodeBinding } from '../../../ipam/binding.js';
import type { PoolView } from '../../../ipam/pool-candidates.js';
import { parseRangeList, RangeSet } from '../../../ipam/range-set.js';
import { MemoryClaimStore, type ClaimRequest, type ReservedClaim } from '../../../ipam/claim-store.js';
import { PodAdmission, type PodAdmissionState } from '../../../webhook/pod-admission.js';
import { podCreateRequest } from '../../webhook/admission-requests.js';
import { poolView } from '../ipam/fixtures.js';

function rangeSet(family: IPFamily, ...ranges: string[]): RangeSet {
  const parsed = parseRangeList(ranges, family);
  if (!parsed.ok) throw new Error('fixture range');
  return parsed.value.set;
}

/** IPClaims in memory, with uids, and a log of what happened to them. */
class MemoryClaims extends MemoryClaimStore {
  readonly log: string[] = [];
  override async reserve(claim: ClaimRequest): Promise<ReservedClaim | undefined> {
    const reserved = await super.reserve(claim);
    if (reserved) this.log.push(`reserve ${formatAddress(claim.address)}`);
    return reserved;
  }
  override async release(address: Address, uid?: string): Promise<void> {
    this.log.push(`release ${formatAddress(address)}`);
    await super.release(address, uid);
  }
  /** The names of the claims held now. */
  heldNames(): string[] {
    return this.held().map((claim) => addressToClaimName(claim.address));
  }
}

function state(
  pools: PoolView[],
  claims: MemoryClaims,
  leaving: (pool: string, family: IPFamily) => Promise<RangeSet>,
  nodeLabels: Record<string, string> = {},
  /** Pools in the API that the cache has not seen yet. */
  notCachedYet: PoolView[] = [],
): PodAdmissionState {
  return {
    hasSynced: true,
    poolViews: () => new Map(pools.map((p) => [p.name, p])),
    namespace: async (name) => ({ name, labels: {}, annotations: {} }),
    network: async () => undefined,
    poolsFromAPI: async () => notCachedYet,
    reservedSet: (family) => RangeSet.empty(family),
    isClaimed: () => false,
    claimsInPool: () => 0,
    claimsOfPool: () => [],
    claimsOfOrdinal: () => [],
    autoPoolsFromAPI: async () => [],
    nodeLabels: async () => nodeLabels,
    podExistsWithBindingID: async () => false,
    addressesLeavingPool: leaving,
    claimStore: claims,
  };
}

const review = (annotations: Record<string, string>, spec: object = {}) =>
  podCreateRequest(
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default', annotations }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } },
    { uid: `review-${Math.random()}` },
  );

const v4Pool = poolView('v4', { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.4'] });
const v6Pool = (extra: object = {}) => poolView('v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::1-fd00:6::4'], ...extra });
const dualStack = { 'ipam.spidernet.io/ippool': '{"ipv4":["v4"],"ipv6":["v6"]}' };
// The update in flight takes 10.6.1.1-10.6.1.3 out of v4; only 10.6.1.4 stays. The
// answer comes late, so the IPv6 job claims while the IPv4 job waits for it.
const v4Leaving = (pool: string, family: IPFamily) =>
  new Promise<RangeSet>((resolve) => setTimeout(() => resolve(pool === 'v4' && family === 4 ? rangeSet(4, '10.6.1.1-10.6.1.3') : RangeSet.empty(family)), 20));

t.test('a claim on a leaving address is given back, and the whole removal skipped', async (t) => {
  const claims = new MemoryClaims();
  const admission = new PodAdmission(state([v4Pool, v6Pool()], claims, v4Leaving), { trustedUsers: [] });
  const decision = await admission.mutate(review(dualStack));
  t.equal(decision.allowed, true);
  const binding = decision.allowed ? decodeBinding(String(decision.patch?.find((op) => op.path.endsWith('binding'))?.value)) : undefined;
  t.equal(binding?.interfaces[0]?.ipv4?.address, '10.6.1.4/16', 'the address that stays');
  t.same(claims.heldNames().sort(), ['10.6.1.4', binding?.interfaces[0]?.ipv6?.address.split('/')[0]?.replaceAll(':', '-')].sort(), 'exactly the bound addresses stay claimed');
  const v4Reserves = claims.log.filter((l) => l.startsWith('reserve 10.6.'));
  t.ok(v4Reserves.length <= 2, `at most one fenced claim before the kept one (${v4Reserves.join(', ')})`);
});

t.test('a pod denied after a fenced claim rolls back each remaining claim once, none of another job', async (t) => {
  const claims = new MemoryClaims();
  // v6's nodeAffinity (rack a) contradicts the pod's node (rack b): denied after both families claimed.
  const pools = [v4Pool, v6Pool({ nodeAffinity: { matchLabels: { rack: 'a' } } })];
  const admission = new PodAdmission(state(pools, claims, v4Leaving, { rack: 'b' }), { trustedUsers: [] });
  const decision = await admission.mutate(review(dualStack, { nodeName: 'node-b' }));
  t.equal(decision.allowed, false, 'denied');
  t.same(claims.heldNames(), [], 'no claim left behind (the IPv6 one included)');
  const released = claims.log.filter((l) => l.startsWith('release'));
  t.equal(new Set(released).size, released.length, `no address released twice (${released.join(', ')})`);
});

t.test('a fenced address is never bound even when every other one is leaving too', async (t) => {
  const claims = new MemoryClaims();
  const allLeaving = async (pool: string, family: IPFamily) => (pool === 'v4' ? rangeSet(4, '10.6.1.1-10.6.1.4') : RangeSet.empty(family));
  const admission = new PodAdmission(state([v4Pool], claims, allLeaving), { trustedUsers: [] });
  const decision = await admission.mutate(review({ 'ipam.spidernet.io/ippool': '{"ipv4":["v4"]}' }));
  t.equal(decision.allowed, false);
  if (!decision.allowed) t.match(decision.message, 'v4 has no free IPv4 address');
  t.same(claims.heldNames(), [], 'the one claim made was given back');
});

t.test('a pool the cache has not seen yet is read from the API, not called unknown', async (t) => {
  const claims = new MemoryClaims();
  const noLeaving = async (_pool: string, family: IPFamily) => RangeSet.empty(family);
  const admission = new PodAdmission(state([], claims, noLeaving, {}, [v4Pool]), { trustedUsers: [] });
  const decision = await admission.mutate(review({ 'ipam.spidernet.io/ippool': '{"ipv4":["v4"]}' }));
  t.equal(decision.allowed, true, 'bound from the pool read now');
  const held = claims.heldNames();
  t.equal(held.length, 1, 'one claim');
  t.match(held[0], /^10\.6\.1\.[1-4]$/, 'in that pool');

  const unknown = await admission.mutate(review({ 'ipam.spidernet.io/ippool': '{"ipv4":["v9"]}' }));
  t.equal(unknown.allowed, false, 'a pool in neither the cache nor the API is still unknown');
  if (!unknown.allowed) t.match(unknown.message, 'IPv4 pool "v9" for interface eth0 does not exist');
});

t.test('a dry run shows the binding and claims nothing', async (t) => {
  const claims = new MemoryClaims();
  const noLeaving = async (_pool: string, family: IPFamily) => RangeSet.empty(family);
  const admission = new PodAdmission(state([v4Pool, v6Pool()], claims, noLeaving), { trustedUsers: [] });
  const decision = await admission.mutate({ ...review(dualStack), dryRun: true });
  t.equal(decision.allowed, true);
  const binding = decision.allowed ? decodeBinding(String(decision.patch?.find((op) => op.path.endsWith('binding'))?.value)) : undefined;
  t.match(binding?.interfaces[0]?.ipv4?.address, /^10\.6\.1\.[1-4]\/16$/);
  t.match(binding?.interfaces[0]?.ipv6?.address, /^fd00:6::[1-4]\/64$/);
  t.same(claims.log, [], 'the store was never asked');
});
