import t from 'tap';
import { removeFinalizersPatch } from '../../../reconciler/finalizer-patch.js';
import { POOL_FINALIZERS } from '../../../reconciler/resources.js';

const OURS = 'underpin.dev/addresses-in-use';
const LEGACY = 'spiderpool.spidernet.io';

t.test('the controller owns the webhook finalizer and the Spiderpool one', async (t) => {
  t.same(POOL_FINALIZERS, [OURS, LEGACY]);
});

t.test('removes only our finalizers, guarded by tests on uid and the current list', async (t) => {
  t.same(removeFinalizersPatch({ uid: 'u1', finalizers: ['a.io/x', OURS, 'b.io/y'] }, POOL_FINALIZERS), [
    { op: 'test', path: '/metadata/uid', value: 'u1' },
    { op: 'test', path: '/metadata/finalizers', value: ['a.io/x', OURS, 'b.io/y'] },
    { op: 'replace', path: '/metadata/finalizers', value: ['a.io/x', 'b.io/y'] },
  ]);
});

t.test('both of ours go in one patch; the last finalizer leaves an empty list; no uid, no uid test', async (t) => {
  t.same(removeFinalizersPatch({ finalizers: [LEGACY, OURS] }, POOL_FINALIZERS), [
    { op: 'test', path: '/metadata/finalizers', value: [LEGACY, OURS] },
    { op: 'replace', path: '/metadata/finalizers', value: [] },
  ]);
});

t.test('nothing to patch when none of ours is there', async (t) => {
  t.equal(removeFinalizersPatch({ uid: 'u', finalizers: ['a.io/x'] }, POOL_FINALIZERS), undefined);
  t.equal(removeFinalizersPatch({ uid: 'u' }, POOL_FINALIZERS), undefined);
  t.equal(removeFinalizersPatch({ uid: 'u', finalizers: null }, POOL_FINALIZERS), undefined);
});
