// Pod admission on the real control plane: the webhook binds addresses, records
// IPClaims, and the scheduler honours the node affinity it adds.
import t from 'tap';
import { stringify } from 'yaml';
import pino from 'pino';
import { eventually } from '../../hack/processes.js';
import { decodeBinding, type Binding } from '../../ipam/binding.js';
import { AdmissionLedger } from '../../webhook/admission-ledger.js';
import { APIClaimStore } from '../../kube/api-claim-store.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { PodAdmission } from '../../webhook/pod-admission.js';
import { UnderlayCache } from '../../kube/underlay-cache.js';
import { PodContextCache } from '../../kube/pod-context-cache.js';
import { clusterPodState } from '../../webhook/underlay-state.js';
import { createReadyNode } from './fake-nodes.js';
import { podCreateRequest } from '../webhook/admission-requests.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t);
const kubectl = cluster.kubectl;
const apply = (...objects: object[]) => kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const getJson = async (args: string[]) => {
  const r = await kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};
const pool = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
const nad = (name: string, ipam: object) => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name, namespace: 'kube-system' },
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', mode: 'bridge', ipam }) },
});
const pod = (name: string, annotations: Record<string, string>, extra: { labels?: Record<string, string>; spec?: object; namespace?: string } = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: extra.namespace ?? 'default', annotations, labels: extra.labels ?? {} },
  spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], ...(extra.spec ?? {}) },
});
async function bindingOf(name: string, namespace = 'default'): Promise<Binding> {
  const p = await getJson(['pod', name, '-n', namespace]);
  const binding = decodeBinding(p.metadata.annotations?.['underpin.dev/binding'] ?? '');
  if (!binding) throw new Error(`pod ${name} has no binding: ${JSON.stringify(p.metadata.annotations)}`);
  return binding;
}
const v4 = (b: Binding, nic = 'eth0') => b.interfaces.find((i) => i.interface === nic)?.ipv4?.address;

await createReadyNode(cluster, 'node-a', { rack: 'a' });
await createReadyNode(cluster, 'node-b', { rack: 'b' });
// The namespace's default service account appears a moment after the controller-manager starts.
await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);

t.equal(
  (
    await apply(
      pool('eth0-v4', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.19'], gateway: '10.6.0.1', routes: [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }] }),
      pool('net1-v4', { subnet: '10.7.0.0/16', ips: ['10.7.0.10-10.7.0.19'], gateway: '10.7.0.1' }),
      pool('eth0-v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::10-fd00:6::1f'] }),
      pool('tiny-a', { subnet: '10.8.0.0/16', ips: ['10.8.0.10'] }),
      pool('tiny-b', { subnet: '10.8.0.0/16', ips: ['10.8.0.20'] }),
      pool('rack-a', { subnet: '10.9.0.0/16', ips: ['10.9.0.10-10.9.0.19'], nodeName: ['node-a'] }),
      pool('rack-b-labels', { subnet: '10.13.0.0/16', ips: ['10.13.0.10-10.13.0.19'], nodeAffinity: { matchLabels: { rack: 'b' } } }),
      nad('macvlan-eth0', { type: 'spiderpool' }),
      nad('macvlan-net1', { type: 'spiderpool' }),
    )
  ).code,
  0,
);

t.test('single NIC: the pod gets an address of its pool, with gateway and routes, and an IPClaim', async (t) => {
  t.equal((await apply(pod('single', { 'ipam.spidernet.io/ippool': '{"ipv4":["eth0-v4"]}' }))).code, 0);
  const binding = await bindingOf('single');
  const nic = binding.interfaces[0]!;
  t.match(nic.ipv4?.address, /^10\.6\.0\.1\d\/16$/);
  t.equal(nic.ipv4?.gateway, '10.6.0.1');
  t.same(nic.routes, [{ dst: '10.20.0.0/16', gw: '10.6.0.254' }]);
  const p = await getJson(['pod', 'single']);
  t.equal(p.metadata.labels['underpin.dev/binding-id'], binding.id);
  const claim = await getJson(['ipclaim', nic.ipv4!.address.split('/')[0]!]);
  t.equal(claim.spec.pool, 'eth0-v4');
  t.equal(claim.spec.bindingID, binding.id);
  t.equal(claim.spec.namespace, 'default');
});

t.test('two NICs in different subnets through Multus', async (t) => {
  const annotations = {
    'v1.multus-cni.io/default-network': 'kube-system/macvlan-eth0',
    'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-net1',
    'ipam.spidernet.io/ippools': JSON.stringify([{ interface: 'eth0', ipv4: ['eth0-v4'] }, { interface: 'net1', ipv4: ['net1-v4'] }]),
  };
  t.equal((await apply(pod('two-nics', annotations))).code, 0);
  const binding = await bindingOf('two-nics');
  t.match(v4(binding, 'eth0'), /^10\.6\.0\./);
  t.match(v4(binding, 'net1'), /^10\.7\.0\./);
  t.equal(binding.interfaces.find((i) => i.interface === 'net1')?.network, 'kube-system/macvlan-net1');
});

t.test("pod routes go to the NIC whose subnet holds their next hop; one reachable on no NIC is denied and leaves no claim", async (t) => {
  const nics = {
    'v1.multus-cni.io/default-network': 'kube-system/macvlan-eth0',
    'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-net1',
    'ipam.spidernet.io/ippools': JSON.stringify([{ interface: 'eth0', ipv4: ['eth0-v4'] }, { interface: 'net1', ipv4: ['net1-v4'] }]),
  };
  t.equal((await apply(pod('routed', { ...nics, 'ipam.spidernet.io/routes': JSON.stringify([{ dst: '172.16.5.0/24', gw: '10.7.0.254' }]) }))).code, 0);
  const binding = await bindingOf('routed');
  t.same(binding.interfaces.find((i) => i.interface === 'net1')?.routes, [{ dst: '172.16.5.0/24', gw: '10.7.0.254' }]);
  const claimsBefore = (await getJson(['ipclaims'])).items.length;
  const denied = await apply(pod('unroutable', { ...nics, 'ipam.spidernet.io/routes': JSON.stringify([{ dst: '172.16.5.0/24', gw: '192.168.9.1' }, { dst: '172.16.6.0/33', gw: '10.6.0.254' }]) }));
  t.not(denied.code, 0);
  t.match(denied.stderr, "annotation ipam.spidernet.io/routes[0].gw: 192.168.9.1 is in none of the pod's subnets (eth0 10.6.0.0/16, net1 10.7.0.0/16); use a next hop on one of them");
  t.match(denied.stderr, 'annotation ipam.spidernet.io/routes[1].dst: "172.16.6.0/33" is not a valid CIDR: prefix length 33 is more than 32 for IPv4');
  t.equal((await getJson(['ipclaims'])).items.length, claimsBefore, 'the claims made for it were rolled back');
});

t.test('dual stack: one address of each family', async (t) => {
  t.equal((await apply(pod('dual', { 'ipam.spidernet.io/ippool': '{"ipv4":["eth0-v4"],"ipv6":["eth0-v6"]}' }))).code, 0);
  const nic = (await bindingOf('dual')).interfaces[0]!;
  t.match(nic.ipv4?.address, /^10\.6\.0\.\d+\/16$/);
  t.match(nic.ipv6?.address, /^fd00:6::1[0-9a-f]\/64$/);
});

t.test('fallback to the second pool when the first is full, then a clear denial', async (t) => {
  const ann = { 'ipam.spidernet.io/ippool': '{"ipv4":["tiny-a","tiny-b"]}' };
  t.equal((await apply(pod('fill-1', ann))).code, 0);
  t.equal(v4(await bindingOf('fill-1')), '10.8.0.10/16');
  t.equal((await apply(pod('fill-2', ann))).code, 0);
  t.equal(v4(await bindingOf('fill-2')), '10.8.0.20/16', 'fell back to tiny-b');
  const denied = await apply(pod('fill-3', ann));
  t.not(denied.code, 0);
  t.match(denied.stderr, 'admission webhook "pods.mutate.underpin.dev" denied the request: pod default/fill-3: no IPv4 address for interface eth0: tiny-a has no free IPv4 address (1 of 1 in use); tiny-b has no free IPv4 address (1 of 1 in use)');
});

t.test('namespace default pool', async (t) => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', annotations: { 'ipam.spidernet.io/default-ipv4-ippool': '["net1-v4"]' } } };
  t.equal((await apply(ns)).code, 0);
  await kubectl(['wait', '-n', 'team-a', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
  // No pause for the webhook's namespace cache: a namespace it has not seen yet is read from the API.
  t.equal((await apply(pod('by-default', {}, { namespace: 'team-a' }))).code, 0);
  t.match(v4(await bindingOf('by-default', 'team-a')), /^10\.7\.0\./);
});

t.test('a pool, a network and a pod in one kubectl apply: the pod is bound, however far the caches lag', async (t) => {
  // The webhook's caches may not have seen the pool or the NetworkAttachmentDefinition
  // when the pod's review comes a few milliseconds later; it reads what it lacks.
  const applied = await apply(
    pool('together-v4', { subnet: '10.14.0.0/16', ips: ['10.14.0.10-10.14.0.19'] }),
    pool('together-net1', { subnet: '10.15.0.0/16', ips: ['10.15.0.10-10.15.0.19'] }),
    nad('macvlan-together', { type: 'underpin', default_ipv4_ippool: ['together-net1'] }),
    pod('together', { 'ipam.spidernet.io/ippool': '{"ipv4":["together-v4"]}', 'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-together' }),
  );
  t.equal(applied.code, 0, applied.stderr);
  const binding = await bindingOf('together');
  t.match(v4(binding), /^10\.14\.0\./, 'eth0 from the pool applied with it');
  t.match(v4(binding, 'net1'), /^10\.15\.0\./, "net1 from the network's default pool, applied with it");
});

t.test('a pod with no Underpin annotation, network or default pool passes untouched', async (t) => {
  t.equal((await apply(pod('plain', {}))).code, 0);
  const p = await getJson(['pod', 'plain']);
  t.notOk(p.metadata.annotations?.['underpin.dev/binding']);
  t.notOk(p.metadata.labels?.['underpin.dev/binding-id']);
});

t.test('node affinity of the pool is added and the real scheduler honours it', async (t) => {
  for (const name of ['placed-1', 'placed-2', 'placed-3']) t.equal((await apply(pod(name, { 'ipam.spidernet.io/ippool': '{"ipv4":["rack-a"]}' }))).code, 0);
  for (const name of ['placed-1', 'placed-2', 'placed-3']) {
    const r = await kubectl(['wait', `pod/${name}`, '--for=jsonpath={.spec.nodeName}=node-a', '--timeout=120s']);
    t.equal(r.code, 0, `${name} scheduled to node-a: ${r.stderr}`);
  }
  const denied = await apply(pod('contradicts', { 'ipam.spidernet.io/ippool': '{"ipv4":["rack-a"]}' }, { spec: { nodeName: 'node-b' } }));
  t.not(denied.code, 0);
  t.match(denied.stderr, /rack-a serves nodes node-a only \(spec\.nodeName\), but the pod sets spec\.nodeName: node-b/);
});

t.test("spec.nodeName on a node whose labels a pool's nodeAffinity does not match is denied at admission", async (t) => {
  const denied = await apply(pod('wrong-rack', { 'ipam.spidernet.io/ippool': '{"ipv4":["rack-b-labels"]}' }, { spec: { nodeName: 'node-a' } }));
  t.not(denied.code, 0);
  t.match(denied.stderr, "pod default/wrong-rack: pod sets spec.nodeName: node-a, but pool rack-b-labels serves only nodes matching its spec.nodeAffinity, and node node-a's labels do not; remove spec.nodeName or use a pool that serves node-a");
  t.equal((await apply(pod('right-rack', { 'ipam.spidernet.io/ippool': '{"ipv4":["rack-b-labels"]}' }, { spec: { nodeName: 'node-b' } }))).code, 0, 'the node with the label is fine');
});

t.test('dry-run shows the binding and creates no claim', async (t) => {
  const before = (await getJson(['ipclaims'])).items.length;
  const r = await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], stringify(pod('dry', { 'ipam.spidernet.io/ippool': '{"ipv4":["eth0-v4"]}' })));
  t.equal(r.code, 0, r.stderr);
  const shown = JSON.parse(r.stdout);
  t.match(decodeBinding(shown.metadata.annotations['underpin.dev/binding'])?.interfaces[0]?.ipv4?.address, /^10\.6\.0\./);
  t.equal((await getJson(['ipclaims'])).items.length, before, 'no claim created');
});

t.test('a forged binding is replaced on create, and a binding cannot be changed later', async (t) => {
  const victim = await bindingOf('single');
  const forged = pod('thief', { 'ipam.spidernet.io/ippool': '{"ipv4":["eth0-v4"]}', 'underpin.dev/binding': JSON.stringify(victim) }, { labels: { 'underpin.dev/binding-id': victim.id } });
  t.equal((await apply(forged)).code, 0);
  const got = await bindingOf('thief');
  t.not(got.id, victim.id);
  t.not(v4(got), v4(victim), 'did not get the victim address');
  const edit = await kubectl(['annotate', 'pod', 'thief', '--overwrite', `underpin.dev/binding=${JSON.stringify(victim)}`]);
  t.not(edit.code, 0);
  t.match(edit.stderr, 'are set by Underpin when the pod is created and cannot be changed');
});

t.test('unknown pools and malformed annotations are denied with the reason', async (t) => {
  const unknown = await apply(pod('unknown', { 'ipam.spidernet.io/ippool': '{"ipv4":["no-such-pool"]}' }));
  t.match(unknown.stderr, 'IPv4 pool "no-such-pool" for interface eth0 does not exist (named by annotation ipam.spidernet.io/ippool); create it or fix the name');
  const malformed = await apply(pod('malformed', { 'ipam.spidernet.io/ippool': '{"ipv4":["eth0-v4"' }));
  t.match(malformed.stderr, /annotation ipam\.spidernet\.io\/ippool: not valid JSON/);
});

t.test('a StatefulSet pod deleted and recreated gets the same address', async (t) => {
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      replicas: 1,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' }, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["net1-v4"]}' } },
        spec: { containers: [{ name: 'db', image: 'registry.invalid/db:1' }] },
      },
    },
  };
  t.equal((await apply(sts)).code, 0);
  // kubectl wait fails at once on a pod the StatefulSet controller has not created yet.
  await eventually('db-0 created', async () => (await kubectl(['get', 'pod', 'db-0'])).code === 0);
  const first = await bindingOf('db-0');
  const uid = (await getJson(['pod', 'db-0'])).metadata.uid;
  t.equal((await kubectl(['delete', 'pod', 'db-0', '--wait=false'])).code, 0);
  // Without a kubelet the pod would stay Terminating; force it away as the kubelet would.
  await kubectl(['delete', 'pod', 'db-0', '--grace-period=0', '--force']);
  const recreated = await eventually('db-0 recreated', async () => {
    const p = await kubectl(['get', 'pod', 'db-0', '-o', 'jsonpath={.metadata.uid}']);
    return p.code === 0 && p.stdout !== '' && p.stdout !== uid;
  });
  t.ok(recreated, 'the StatefulSet controller recreated db-0');
  t.equal(v4(await bindingOf('db-0')), v4(first), 'same address');
});

t.test('a full pool shows up as a clear denial in the ReplicaSet events', async (t) => {
  t.equal((await apply(pool('small', { subnet: '10.10.0.0/16', ips: ['10.10.0.10-10.10.0.11'] }))).code, 0);
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["small"]}' } },
        spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
      },
    },
  };
  t.equal((await apply(deploy)).code, 0);
  const message = await eventually('a FailedCreate event', async () => {
    const events = await getJson(['events', '--field-selector', 'reason=FailedCreate']);
    return events.items.map((e: { message: string }) => e.message).find((m: string) => m.includes('small has no free IPv4 address'));
  });
  t.match(message, /admission webhook "pods\.mutate\.underpin\.dev" denied the request: pod default\/web-[a-z0-9]+-<generated>: no IPv4 address for interface eth0: small has no free IPv4 address \(2 of 2 in use\)/);
});


t.test('a webhook call the API server retries (same AdmissionReview uid) gets the first answer, not a second set of claims', async (t) => {
  t.equal((await apply(pool('retried', { subnet: '10.99.0.0/16', ips: ['10.99.0.1-10.99.0.9'] }))).code, 0);
  // The handler in this process, as a replica runs it, so one replica sees the retries.
  const kc = loadKubeConfig(cluster.plane.kubeconfig);
  const cache = new UnderlayCache(kc, pino({ level: 'silent' }));
  const context = new PodContextCache(kc, pino({ level: 'silent' }));
  await Promise.all([cache.start(), context.start()]);
  t.teardown(() => Promise.all([cache.stop(), context.stop()]));
  await eventually('the cache has the pool', async () => cache.poolViews().has('retried'));
  const admission = new PodAdmission(clusterPodState(cache, context, new APIClaimStore(kc), new AdmissionLedger(kc, 'underpin-system'), kc), { trustedUsers: [] });
  const review = podCreateRequest(pod('retried-0', { 'ipam.spidernet.io/ippool': '{"ipv4":["retried"]}' }), {
    uid: 'c0ffee00-0000-4000-8000-000000000001',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
  });
  // A retry while the first call runs, and one after it answered.
  const [first, concurrent] = await Promise.all([admission.mutate(review), admission.mutate(review)]);
  const later = await admission.mutate(review);
  t.equal(first.allowed, true);
  t.same(concurrent, first, 'a concurrent retry waits for the first answer');
  t.same(later, first, 'a later retry gets the same answer');
  const claims = (await getJson(['ipclaims', '-l', 'underpin.dev/pool=retried'])).items as unknown[];
  t.equal(claims.length, 1, 'one claim, not three');
  const other = await admission.mutate({ ...review, uid: 'c0ffee00-0000-4000-8000-000000000002' });
  t.not(JSON.stringify(other), JSON.stringify(first), 'another review is another admission');
  const after = (await getJson(['ipclaims', '-l', 'underpin.dev/pool=retried'])).items as { metadata: { name: string } }[];
  t.equal(after.length, 2);
  // No pod carries these bindings: release the claims rather than wait for the orphan TTL.
  for (const claim of after) await kubectl(['delete', 'ipclaim', claim.metadata.name]);
});
