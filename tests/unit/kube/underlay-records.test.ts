import t from 'tap';
import { ClaimRecord } from '../../../kube/underlay-records.js';

const raw = (address: string) => ({
  apiVersion: 'underpin.dev/v1alpha1',
  kind: 'IPClaim',
  metadata: { name: address, uid: `uid-${address}`, resourceVersion: '7', generation: 1, creationTimestamp: '2026-12-01T00:00:00Z', labels: { 'underpin.dev/pool': 'p' } },
  spec: { address, family: 4, pool: 'p', interface: 'eth0', namespace: 'default', bindingID: `b-${address}`, owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs' } },
  status: { phase: 'Bound', podName: `web-${address}`, podUID: null, node: 'node-a' },
});

t.test('a cached claim keeps the schema fields only, without nulls', async (t) => {
  const record = ClaimRecord.parse(raw('10.0.0.1'));
  t.same(record, {
    metadata: { name: '10.0.0.1', uid: 'uid-10.0.0.1', resourceVersion: '7', creationTimestamp: '2026-12-01T00:00:00Z' },
    spec: { address: '10.0.0.1', family: 4, pool: 'p', interface: 'eth0', namespace: 'default', bindingID: 'b-10.0.0.1', owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs' } },
    status: { phase: 'Bound', podName: 'web-10.0.0.1', node: 'node-a' },
  });
  t.notOk('labels' in record.metadata || 'apiVersion' in record, 'labels, generation, apiVersion and kind are not kept');
});

t.test('a malformed claim is still refused', async (t) => {
  t.notOk(ClaimRecord.safeParse({ metadata: { name: 'x' }, spec: { pool: 'p' } }).success);
});
