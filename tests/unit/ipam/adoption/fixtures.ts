// A Spiderpool-shaped cluster for the adoption planner: two held pools, pods,
// SpiderEndpoints, Underpin's claims and reserved IPs, built up per test.
import { formatAddress } from '../../../../ipam/address.js';
import type { AdoptionInputs, AdoptionPod, ClaimHolder, PoolStatusSource } from '../../../../ipam/adoption/adoption-plan.js';
import type { SpiderpoolEndpoint } from '../../../../ipam/adoption/spiderpool-records.js';
import type { PoolView } from '../../../../ipam/pool-candidates.js';
import { poolView } from '../fixtures.js';

export function planFixture() {
  const views = new Map<string, PoolView>([
    ['pool-a', poolView('pool-a', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.99'], gateway: '10.6.0.1' })],
    ['pool-b', poolView('pool-b', { subnet: '10.7.0.0/16', ips: ['10.7.0.10-10.7.0.99'], gateway: '10.7.0.1' })],
  ]);
  const allocations = new Map<string, Record<string, object>>();
  const pools: PoolStatusSource[] = [];
  const endpoints: SpiderpoolEndpoint[] = [];
  const pods = new Map<string, AdoptionPod>();
  const claims = new Map<string, ClaimHolder>();
  const reserved = new Map<string, string>();
  return {
    pools,
    pod(name: string, uid: string, opts: { statefulSet?: string } = {}): AdoptionPod {
      const pod: AdoptionPod = {
        namespace: 'default',
        name,
        uid,
        phase: 'Running',
        labels: {},
        annotations: {},
        ownerReferences: opts.statefulSet ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: opts.statefulSet, uid: 'sts-uid', controller: true }] : [],
      };
      pods.set(`default/${name}`, pod);
      return pod;
    },
    poolEntry(pool: string, address: string, pod: { namespace: string; name: string; uid: string }, nic?: string) {
      const entries = allocations.get(pool) ?? {};
      entries[address] = { pod: `${pod.namespace}/${pod.name}`, podUid: pod.uid, ...(nic ? { interface: nic } : {}) };
      allocations.set(pool, entries);
    },
    endpoint(pod: AdoptionPod, ips: object[]) {
      endpoints.push({ metadata: { name: pod.name, namespace: pod.namespace, finalizers: ['spiderpool.spidernet.io'] }, status: { current: { uid: pod.uid, node: 'n1', ips } } });
    },
    claim(address: string, namespace: string, bindingID: string) {
      claims.set(address, { namespace, bindingID });
    },
    reserve(address: string, name: string) {
      reserved.set(address, name);
    },
    inputs(): AdoptionInputs {
      const status: PoolStatusSource[] = [...allocations].map(([name, entries]) => ({ name, held: true, allocatedIPs: JSON.stringify(entries) }));
      return {
        pools: views,
        poolStatus: [...status, ...pools],
        endpoints,
        pods,
        claimAt: (a) => claims.get(formatAddress(a)),
        reservedBy: (a) => reserved.get(formatAddress(a)),
      };
    },
  };
}
