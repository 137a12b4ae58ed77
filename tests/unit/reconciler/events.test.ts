import t from 'tap';
import { buildEvent, eventName, EventThrottle } from '../../../reconciler/events.js';

t.test('the throttle lets one event per key through per interval', async (t) => {
  let now = 1_000_000;
  const throttle = new EventThrottle(60_000, () => now);
  t.ok(throttle.tryTake('SpiderIPPool/a'));
  t.notOk(throttle.tryTake('SpiderIPPool/a'));
  t.ok(throttle.tryTake('SpiderIPPool/b'), 'keys are independent');
  now += 59_999;
  t.notOk(throttle.tryTake('SpiderIPPool/a'));
  now += 1;
  t.ok(throttle.tryTake('SpiderIPPool/a'));
  throttle.forget('SpiderIPPool/a');
  t.ok(throttle.tryTake('SpiderIPPool/a'), 'a forgotten key may emit at once');
});

t.test('event names follow client-go and stay within the name limit', async (t) => {
  t.equal(eventName('pool-a', 1_700_000_000_000), `pool-a.${(1_700_000_000_000n * 1_000_000n).toString(16)}`);
  t.ok(eventName('x'.repeat(253), Date.now()).length <= 253);
});

t.test('events about cluster-scoped objects go to the default namespace', async (t) => {
  const now = new Date('2025-01-01T00:00:00Z');
  const event = buildEvent(
    {
      involved: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', name: 'p', uid: 'u' },
      type: 'Warning',
      reason: 'DeletionWaiting',
      message: 'm'.repeat(2000),
    },
    'host_1',
    now,
  );
  t.equal(event.metadata.namespace, 'default');
  t.same(event.involvedObject, { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', name: 'p', uid: 'u' });
  t.equal(event.reason, 'DeletionWaiting');
  t.equal(event.message!.length, 1024);
  t.equal(event.source?.component, 'underpin-reconciler');
  t.equal(event.reportingInstance, 'host_1');
  t.equal(event.count, 1);
});
