import t from 'tap';
import { collectionPath } from '../../../kube/resources.js';
import { describeMalformed, IPClaimObject, SpiderIPPoolObject } from '../../../reconciler/resources.js';
import { IP_CLAIM, SPIDER_IPPOOL } from '../../../kube/resources.js';

t.test('schemas are loose: unknown fields pass through', async (t) => {
  const raw = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'p', uid: 'u', labels: { a: 'b' }, finalizers: ['spiderpool.spidernet.io'] },
    spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.1-10.6.0.9'], future: true },
    status: { allocatedIPCount: 3 },
  };
  const parsed = SpiderIPPoolObject.parse(raw);
  t.same(parsed, raw);
});

t.test('a claim needs only a name and a pool', async (t) => {
  t.ok(IPClaimObject.safeParse({ metadata: { name: '10.6.0.5' }, spec: { pool: 'p' } }).success);
  const bad = { metadata: { name: '10.6.0.5' }, spec: { address: '10.6.0.5' } };
  const parsed = IPClaimObject.safeParse(bad);
  t.notOk(parsed.success);
  if (!parsed.success) t.match(describeMalformed(IP_CLAIM, bad, parsed.error), /^IPClaim 10\.6\.0\.5 is malformed, skipped: spec\.pool: /);
});

t.test('collection paths', async (t) => {
  t.equal(collectionPath(SPIDER_IPPOOL), '/apis/spiderpool.spidernet.io/v2beta1/spiderippools');
  t.equal(collectionPath(IP_CLAIM), '/apis/underpin.dev/v1alpha1/ipclaims');
});
