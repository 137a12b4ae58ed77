import t from 'tap';
import { encodeBinding, type Binding } from '../../../ipam/binding.js';
import { endpointStatusFor, planEndpoint, podBinding, topController } from '../../../reconciler/endpoint-record.js';
import type { EndpointRecord, PodRecord } from '../../../reconciler/resources.js';

const binding: Binding = {
  version: 1,
  id: 'b1',
  interfaces: [
    {
      interface: 'eth0',
      ipv4: { address: '10.6.0.10/16', pool: 'eth0-v4', gateway: '10.6.0.1', vlan: 10 },
      ipv6: { address: 'fd00:6::10/64', pool: 'eth0-v6', gateway: 'fd00:6::1' },
      routes: [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }],
    },
    { interface: 'net1', ipv4: { address: '10.7.0.10/16', pool: 'net1-v4' }, routes: [], cleanGateway: true, network: 'kube-system/macvlan-net1' },
  ],
};

function pod(extra: { binding?: Binding | string; label?: string; node?: string; owner?: { kind: string; name: string }; labels?: Record<string, string>; phase?: string; uid?: string } = {}): PodRecord {
  const text = typeof extra.binding === 'string' ? extra.binding : encodeBinding(extra.binding ?? binding);
  return {
    metadata: {
      name: 'web-7d9f-abcde',
      namespace: 'default',
      uid: extra.uid ?? 'pod-uid',
      labels: { 'underpin.dev/binding-id': extra.label ?? 'b1', ...(extra.labels ?? {}) },
      annotations: { 'underpin.dev/binding': text },
      ...(extra.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: extra.owner.kind, name: extra.owner.name, uid: 'o', controller: true }] } : {}),
    },
    spec: extra.node ? { nodeName: extra.node } : {},
    ...(extra.phase ? { status: { phase: extra.phase } } : {}),
  };
}

t.test('the binding is read only when it matches the binding-id label', async (t) => {
  t.equal(podBinding(pod())?.id, 'b1');
  t.equal(podBinding(pod({ label: 'other' })), undefined);
  t.equal(podBinding(pod({ binding: '{not json' })), undefined);
  const bare = pod();
  bare.metadata.annotations = {};
  t.equal(podBinding(bare), undefined);
});

t.test('the top controller: Deployment of a ReplicaSet, CronJob of a Job, the owner, or the pod', async (t) => {
  t.same(topController(pod({ owner: { kind: 'ReplicaSet', name: 'web-7d9f' }, labels: { 'pod-template-hash': '7d9f' } })), { type: 'Deployment', name: 'web' });
  t.same(topController(pod({ owner: { kind: 'ReplicaSet', name: 'web-7d9f' } })), { type: 'ReplicaSet', name: 'web-7d9f' });
  t.same(topController(pod({ owner: { kind: 'Job', name: 'backup-28911234' } })), { type: 'CronJob', name: 'backup' });
  t.same(topController(pod({ owner: { kind: 'StatefulSet', name: 'db' } })), { type: 'StatefulSet', name: 'db' });
  t.same(topController(pod()), { type: 'Pod', name: 'web-7d9f-abcde' });
});

t.test('the endpoint status: one entry per interface, in the binding order', async (t) => {
  t.same(endpointStatusFor(pod({ node: 'node-a', owner: { kind: 'StatefulSet', name: 'db' } }), binding), {
    current: {
      uid: 'pod-uid',
      node: 'node-a',
      ips: [
        {
          interface: 'eth0',
          ipv4: '10.6.0.10/16',
          ipv4Pool: 'eth0-v4',
          ipv6: 'fd00:6::10/64',
          ipv6Pool: 'eth0-v6',
          vlan: 10,
          ipv4Gateway: '10.6.0.1',
          ipv6Gateway: 'fd00:6::1',
          routes: [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }],
        },
        { interface: 'net1', ipv4: '10.7.0.10/16', ipv4Pool: 'net1-v4', vlan: 0, cleanGateway: true, routes: [] },
      ],
    },
    ownerControllerType: 'StatefulSet',
    ownerControllerName: 'db',
  });
  t.equal(endpointStatusFor(pod(), binding).current.node, '', 'not scheduled yet');
});

function endpoint(ownerUid: string, status?: unknown): EndpointRecord {
  return {
    metadata: { name: 'web-7d9f-abcde', namespace: 'default', uid: 'ep-uid', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f-abcde', uid: ownerUid }] },
    ...(status !== undefined ? { status: status as EndpointRecord['status'] } : {}),
  };
}

t.test('plans: create, write the status when it differs, nothing when equal', async (t) => {
  const p = pod({ node: 'node-a' });
  const status = endpointStatusFor(p, binding);
  t.same(planEndpoint(p, undefined), { action: 'create', ownerReference: { apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f-abcde', uid: 'pod-uid' }, status });
  t.same(planEndpoint(p, endpoint('pod-uid')), { action: 'write-status', status }, 'created, status not written yet');
  t.same(planEndpoint(p, endpoint('pod-uid', JSON.parse(JSON.stringify(status)))), { action: 'none' }, 'equal after a JSON round trip');
  t.same(planEndpoint(pod(), undefined), { action: 'none' }, 'not scheduled yet: created once the node is known, in one status write');
  const moved = pod({ node: 'node-b' });
  t.same(planEndpoint(moved, endpoint('pod-uid', status)), { action: 'write-status', status: endpointStatusFor(moved, binding) });
});

t.test("the endpoint of an earlier pod of that name is taken over", async (t) => {
  const successor = pod({ uid: 'new-uid' });
  t.same(planEndpoint(successor, endpoint('pod-uid')), {
    action: 'adopt',
    ownerReference: { apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f-abcde', uid: 'new-uid' },
    status: endpointStatusFor(successor, binding),
  });
});

t.test('no pod: left to the garbage collector; finished or unbound pods lose theirs', async (t) => {
  t.same(planEndpoint(undefined, endpoint('pod-uid')), { action: 'none' });
  t.same(planEndpoint(undefined, undefined), { action: 'none' });
  t.same(planEndpoint(pod({ phase: 'Succeeded' }), endpoint('pod-uid')), { action: 'delete' });
  t.same(planEndpoint(pod({ phase: 'Failed' }), undefined), { action: 'none' });
  t.same(planEndpoint(pod({ label: 'x' }), endpoint('pod-uid')), { action: 'delete' }, 'no readable binding');
  t.same(planEndpoint(pod({ phase: 'Succeeded' }), endpoint('someone-else')), { action: 'none' }, 'not ours to delete');
});
