// The pool side of the removal fence (UnderlayAdmissionState.fenceRemoval) as the
// validating handler uses it, and FreshRead, which the pod side reads it through.
// The race itself is tested on the real control plane (tests/integration/pool-shrink-race).
import t from 'tap';
import { parseAddress } from '../../../ipam/address.js';
import { addressesLeavingPool } from '../../../ipam/underlay-admission.js';
import type { AdmissionRequest } from '../../../webhook/admission-review.js';
import { FreshRead } from '../../../kube/fresh-read.js';
import { validateSpiderResource } from '../../../webhook/spider-resources.js';
import { spiderRequest } from '../../webhook/admission-requests.js';
import { InMemoryUnderlay } from '../../webhook/in-memory-underlay.js';

const pool = (ips: string[], excludeIPs: string[] = []) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name: 'web' },
  spec: { subnet: '10.6.0.0/16', ips, excludeIPs, gateway: '10.6.0.1' },
});

function update(object: ReturnType<typeof pool>, oldObject: unknown, dryRun = false): AdmissionRequest {
  return spiderRequest('SpiderIPPool', 'UPDATE', object, { uid: 'req-1', userInfo: { username: 'admin' }, oldObject, dryRun });
}

const address = (text: string) => {
  const parsed = parseAddress(text, 4);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
};

t.test('addressesLeavingPool: what an update stops handing out', async (t) => {
  const old = pool(['10.6.1.1-10.6.1.40']);
  t.same(addressesLeavingPool(pool(['10.6.1.1-10.6.1.20']), old)?.removed.toStrings(), ['10.6.1.21-10.6.1.40'], 'spec.ips shrunk');
  t.same(addressesLeavingPool(pool(['10.6.1.1-10.6.1.40'], ['10.6.1.5']), old)?.removed.toStrings(), ['10.6.1.5'], 'spec.excludeIPs grown');
  t.equal(addressesLeavingPool(pool(['10.6.1.1-10.6.1.80']), old), undefined, 'growing removes nothing');
  t.equal(addressesLeavingPool(old, old), undefined, 'unchanged spec');
  t.equal(addressesLeavingPool({ spec: { ips: 'nonsense' } }, old), undefined, 'an object that does not parse (the review denies it)');
  t.equal(addressesLeavingPool(pool(['10.6.1.1-10.6.1.20']), undefined), undefined, 'no old object');
  t.equal(addressesLeavingPool(pool(['10.6.1.1-10.6.1.20']), old)?.pool, 'web');
});

t.test('a shrink is fenced while judged, and the fence stays when it is admitted', async (t) => {
  const state = new InMemoryUnderlay();
  state.pools = [{ metadata: { name: 'web' }, spec: pool(['10.6.1.1-10.6.1.40']).spec }];
  const decision = await validateSpiderResource(update(pool(['10.6.1.1-10.6.1.20']), pool(['10.6.1.1-10.6.1.40'])), state);
  t.equal(decision.allowed, true);
  t.same([...state.fences.values()].map((f) => [f.pool, f.removed.toStrings()]), [['web', ['10.6.1.21-10.6.1.40']]], 'the fence outlives the admission (until it expires)');
});

t.test('a shrink that would remove an address held by a pod is denied and its fence lifted', async (t) => {
  const state = new InMemoryUnderlay();
  state.pools = [{ metadata: { name: 'web' }, spec: pool(['10.6.1.1-10.6.1.40']).spec }];
  state.inUse = [{ address: address('10.6.1.30'), pool: 'web', pod: 'default/web-0' }];
  const decision = await validateSpiderResource(update(pool(['10.6.1.1-10.6.1.20']), pool(['10.6.1.1-10.6.1.40'])), state);
  t.equal(decision.allowed, false);
  if (!decision.allowed) t.match(decision.message, 'would remove 10.6.1.30 (default/web-0), in use by pods');
  t.equal(state.fences.size, 0, 'fence lifted');
});

t.test('a dry run records no fence, and an update that removes nothing needs none', async (t) => {
  const state = new InMemoryUnderlay();
  state.pools = [{ metadata: { name: 'web' }, spec: pool(['10.6.1.1-10.6.1.40']).spec }];
  t.equal((await validateSpiderResource(update(pool(['10.6.1.1-10.6.1.20']), pool(['10.6.1.1-10.6.1.40']), true), state)).allowed, true);
  t.equal((await validateSpiderResource(update(pool(['10.6.1.1-10.6.1.60']), pool(['10.6.1.1-10.6.1.40'])), state)).allowed, true);
  t.equal(state.fences.size, 0);
});

t.test('FreshRead: callers share a read not yet sent, never one already in flight', async (t) => {
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const releases: (() => void)[] = [];
  const reader = new FreshRead(async () => {
    const n = ++sent;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((resolve) => releases.push(resolve));
    inFlight--;
    return n;
  });
  const first = [reader.read(), reader.read(), reader.read()];
  await new Promise((r) => setImmediate(r));
  t.equal(sent, 1, 'three callers in one tick: one read');
  // Asked while read 1 is in flight: must get a read sent after it, shared by both.
  const second = [reader.read(), reader.read()];
  await new Promise((r) => setImmediate(r));
  t.equal(sent, 1, 'the next read waits for the one in flight');
  releases.shift()!();
  t.same(await Promise.all(first), [1, 1, 1]);
  await new Promise((r) => setImmediate(r));
  t.equal(sent, 2);
  releases.shift()!();
  t.same(await Promise.all(second), [2, 2], 'callers during read 1 got read 2');
  t.equal(maxInFlight, 1);
});

t.test('FreshRead: a failed read fails its callers only', async (t) => {
  let calls = 0;
  const reader = new FreshRead(async () => {
    if (++calls === 1) throw new Error('API unreachable');
    return 'ok';
  });
  await t.rejects(reader.read(), /API unreachable/);
  t.equal(await reader.read(), 'ok');
});
