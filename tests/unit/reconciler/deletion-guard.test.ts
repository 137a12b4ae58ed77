import t from 'tap';
import { describeDeletionWait, judgePoolDeletion, judgeSubnetDeletion, type AddressInUse } from '../../../reconciler/deletion-guard.js';
import type { IPClaimObject, SpiderIPPoolObject, SpiderSubnetObject } from '../../../reconciler/resources.js';

const FINALIZER = 'underpin.dev/addresses-in-use';
const LEGACY = 'spiderpool.spidernet.io';
const DELETED = '2025-01-01T00:00:00Z';

function pool(name: string, subnet: string, options: { deleting?: boolean; finalizers?: string[] } = {}): SpiderIPPoolObject {
  return {
    metadata: {
      name,
      finalizers: options.finalizers ?? [FINALIZER],
      ...(options.deleting === false ? {} : { deletionTimestamp: DELETED }),
    },
    spec: { subnet },
  };
}

function subnet(name: string, cidr: string, options: { deleting?: boolean; finalizers?: string[] } = {}): SpiderSubnetObject {
  return pool(name, cidr, options);
}

function claim(address: string, poolName: string, extra: { namespace?: string; podName?: string; bindingID?: string } = {}): IPClaimObject {
  return {
    metadata: { name: address },
    spec: { address, pool: poolName, namespace: extra.namespace ?? 'default', bindingID: extra.bindingID ?? `b-${address}` },
    ...(extra.podName ? { status: { podName: extra.podName } } : {}),
  };
}

t.test('a pool that is not being deleted, or no longer has our finalizer, needs nothing', async (t) => {
  const claims = [claim('10.6.0.5', 'p1')];
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16', { deleting: false }), claims), 'nothing-to-do');
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16', { finalizers: ['other.io/keep'] }), claims), 'nothing-to-do');
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16', { finalizers: [] }), []), 'nothing-to-do');
});

t.test('a terminating pool with no claim loses the finalizer', async (t) => {
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16'), []), 'remove-finalizer');
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16'), [claim('10.7.0.5', 'p2'), claim('10.6.0.9', 'p1-other')]), 'remove-finalizer', 'claims of other pools do not count');
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16', { finalizers: ['other.io/keep', FINALIZER] }), []), 'remove-finalizer');
  t.equal(judgePoolDeletion(pool('p1', '10.6.0.0/16', { finalizers: [LEGACY] }), []), 'remove-finalizer', "Spiderpool's finalizer is honoured too");
});

t.test("a pool migrated from Spiderpool waits on Spiderpool's finalizer like on ours", async (t) => {
  const verdict = judgePoolDeletion(pool('p1', '10.6.0.0/16', { finalizers: [LEGACY] }), [claim('10.6.0.5', 'p1')]);
  t.ok(typeof verdict === 'object' && verdict.wait);
});

t.test('null metadata and claim fields, as some clients write them, are tolerated', async (t) => {
  const p: SpiderIPPoolObject = { metadata: { name: 'p', deletionTimestamp: null, finalizers: null }, spec: { subnet: '10.6.0.0/16' } };
  t.equal(judgePoolDeletion(p, []), 'nothing-to-do');
  const c: IPClaimObject = { metadata: { name: '10.6.0.5' }, spec: { pool: 'p1', address: null, namespace: null, bindingID: null }, status: null };
  t.same(judgePoolDeletion(pool('p1', '10.6.0.0/16'), [c]), { wait: true, inUse: [{ address: '10.6.0.5', pool: 'p1' }] });
});

t.test('a terminating pool waits for its claims, listed in address order', async (t) => {
  const verdict = judgePoolDeletion(pool('p1', '10.6.0.0/16'), [
    claim('10.6.0.10', 'p1', { podName: 'web-2' }),
    claim('10.7.0.1', 'p2'),
    claim('10.6.0.9', 'p1', { podName: 'web-1' }),
  ]);
  t.same(verdict, {
    wait: true,
    inUse: [
      { address: '10.6.0.9', pool: 'p1', namespace: 'default', pod: 'web-1', bindingID: 'b-10.6.0.9' },
      { address: '10.6.0.10', pool: 'p1', namespace: 'default', pod: 'web-2', bindingID: 'b-10.6.0.10' },
    ],
  });
});

t.test('IPv4 sorts before IPv6, and a claim without spec.address is named by its object name', async (t) => {
  const v6: IPClaimObject = { metadata: { name: 'fd00-6--5' }, spec: { address: 'fd00:6::5', pool: 'p' } };
  const noAddress: IPClaimObject = { metadata: { name: '10.6.0.7' }, spec: { pool: 'p' } };
  const verdict = judgePoolDeletion(pool('p', '10.6.0.0/16'), [v6, noAddress]);
  t.not(verdict, 'remove-finalizer');
  if (typeof verdict === 'object') t.same(verdict.inUse.map((u) => u.address), ['10.6.0.7', 'fd00:6::5']);
});

t.test('a terminating subnet waits for claims of pools with the same spec.subnet', async (t) => {
  const pools = [pool('a', '10.6.0.0/16', { deleting: false }), pool('b', '10.6.0.0/16', { deleting: false }), pool('c', '10.7.0.0/16', { deleting: false })];
  const s = subnet('s', '10.6.0.0/16');
  t.equal(judgeSubnetDeletion(s, pools, []), 'remove-finalizer');
  t.equal(judgeSubnetDeletion(s, pools, [claim('10.7.0.5', 'c')]), 'remove-finalizer', 'claims of pools in another subnet do not count');
  t.equal(judgeSubnetDeletion(s, pools, [claim('10.6.0.5', 'gone')]), 'remove-finalizer', 'a claim of a pool that no longer exists does not block');
  t.same(judgeSubnetDeletion(s, pools, [claim('10.6.0.5', 'b'), claim('10.6.0.4', 'a'), claim('10.7.0.5', 'c')]), {
    wait: true,
    inUse: [
      { address: '10.6.0.4', pool: 'a', namespace: 'default', bindingID: 'b-10.6.0.4' },
      { address: '10.6.0.5', pool: 'b', namespace: 'default', bindingID: 'b-10.6.0.5' },
    ],
  });
  t.equal(judgeSubnetDeletion(subnet('s', '10.6.0.0/16', { deleting: false }), pools, [claim('10.6.0.5', 'a')]), 'nothing-to-do');
});

t.test('subnets are compared as text: the webhook stores canonical CIDRs', async (t) => {
  const pools = [pool('a', '10.6.0.0/16', { deleting: false })];
  t.equal(judgeSubnetDeletion(subnet('s', '10.6.0.0/24'), pools, [claim('10.6.0.5', 'a')]), 'remove-finalizer');
});

t.test('the DeletionWaiting message says how many, which, by whom, and what to do', async (t) => {
  const inUse: AddressInUse[] = [
    { address: '10.6.0.5', pool: 'p', namespace: 'default', pod: 'web-1' },
    { address: '10.6.0.6', pool: 'p', namespace: 'default', pod: 'web-2' },
    { address: '10.6.0.7', pool: 'p', namespace: 'default', pod: 'web-3' },
  ];
  t.equal(
    describeDeletionWait(inUse),
    'deletion waits for 3 addresses in use (10.6.0.5 by default/web-1, 10.6.0.6 by default/web-2, 10.6.0.7 by default/web-3); delete those pods to release them',
  );
  t.equal(
    describeDeletionWait([{ address: '10.6.0.5', pool: 'p', namespace: 'apps', bindingID: 'x1' }]),
    'deletion waits for 1 address in use (10.6.0.5 by a pod in apps not started yet (binding x1)); delete that pod to release it',
  );
  t.equal(
    describeDeletionWait([{ address: '10.6.0.5', pool: 'a', namespace: 'default', pod: 'web-1' }], { showPool: true }),
    'deletion waits for 1 address in use in its pools (10.6.0.5 in pool a by default/web-1); delete that pod to release it',
  );
});

t.test('long lists are cut after ten addresses', async (t) => {
  const inUse = Array.from({ length: 25 }, (_, i) => ({ address: `10.6.0.${i + 1}`, pool: 'p', namespace: 'ns', pod: `pod-${i + 1}` }));
  const message = describeDeletionWait(inUse);
  t.match(message, /^deletion waits for 25 addresses in use \(10\.6\.0\.1 by ns\/pod-1, /);
  t.match(message, /10\.6\.0\.10 by ns\/pod-10, and 15 more\); delete those pods/);
  t.notMatch(message, /pod-11/);
});
