import t from 'tap';
import { mayBeShortOfPods } from '../../../reconciler/auto-pools.js';

t.test('mayBeShortOfPods: only a workload that lacks pods is worth listing its ReplicaSets for', async (t) => {
  const deployment = (replicas: number, status: object) => ({ spec: { replicas }, status });
  t.notOk(mayBeShortOfPods('Deployment', deployment(3, { replicas: 3, updatedReplicas: 3 })), 'settled');
  t.ok(mayBeShortOfPods('Deployment', deployment(3, { replicas: 4, updatedReplicas: 2 })), 'rolling out');
  t.ok(mayBeShortOfPods('Deployment', deployment(3, { replicas: 3, updatedReplicas: 3, unavailableReplicas: 1 })), 'a pod unavailable');
  t.ok(mayBeShortOfPods('Deployment', deployment(3, { replicas: 2, updatedReplicas: 2 })), 'a create denied');
  t.ok(mayBeShortOfPods('Deployment', deployment(1, {})), 'no status yet');
  t.notOk(mayBeShortOfPods('Deployment', deployment(0, {})), 'scaled to zero');
  t.ok(mayBeShortOfPods('StatefulSet', { spec: { replicas: 2 }, status: { replicas: 1 } }));
  t.notOk(mayBeShortOfPods('StatefulSet', { spec: { replicas: 2 }, status: { replicas: 2 } }));
  t.ok(mayBeShortOfPods('ReplicaSet', { spec: {}, status: {} }), 'replicas defaults to 1');
  t.notOk(mayBeShortOfPods('DaemonSet', { spec: {}, status: {} }), 'never prompted');
  t.ok(mayBeShortOfPods('Deployment', { spec: { replicas: 'three' } }), 'unreadable: look');
});
