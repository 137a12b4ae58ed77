// Node loss on the real control plane: simulated kubelets heartbeat, one dies, and
// the node lifecycle controller (grace period shortened here) marks its node NotReady
// and has its pods evicted. A Deployment on an auto pool of replicas + 1 gets all its
// replicas back, its lost pods' addresses going to their replacements; a StatefulSet
// ordinal keeps its address until the node is tainted out-of-service and the pod GC
// deletes the pod, then gets it back; a pod a finalizer holds on a live node gives its
// address back once its kubelet reported its containers terminated.
import t from 'tap';
import { get } from 'node:http';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseAddress } from '../../ipam/address.js';
import { BINDING_ANNOTATION, decodeBinding } from '../../ipam/binding.js';
import { parseRangeList } from '../../ipam/range-set.js';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { KubeletSimulator } from '../../hack/node-simulator/kubelet-simulator.js';
import { registerReadyNode } from '../../hack/node-simulator/nodes.js';
import { eventually, sleep } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { startLocalCluster } from './local-cluster.js';

// Short enough for the test, long against the heartbeats (every 2 s).
const NODE_MONITOR_GRACE_SECONDS = 15;
const GRACE_SECONDS = 3;
const TOLERATION_SECONDS = 2;
const [metricsPort] = await freeLoopbackPorts(1);
const cluster = await startLocalCluster(t, {
  nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS,
  reconcilerArgs: [`--metrics-bind-address=127.0.0.1:${metricsPort}`, '--log-level=debug'],
});
const kc = loadKubeConfig(cluster.plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const GROUP = 'underpin.test/group';
const NODES = { web: ['web-1', 'web-2', 'web-3'], db: ['db-1', 'db-2'], hold: ['hold-1'] };
for (const [group, names] of Object.entries(NODES)) for (const name of names) await registerReadyNode(kc, { name, labels: { [GROUP]: group } });
const kubelet = new KubeletSimulator(kc, new Set(Object.values(NODES).flat()), { heartbeatMs: 2000 });
await kubelet.start();
t.teardown(() => kubelet.stop());

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}
const apply = (...objects: object[]) => kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const addressOf = (pod: V1Pod) => decodeBinding(pod.metadata?.annotations?.[BINDING_ANNOTATION] ?? '')?.interfaces[0]?.ipv4?.address.split('/')[0];
const poolOf = (pod: V1Pod) => decodeBinding(pod.metadata?.annotations?.[BINDING_ANNOTATION] ?? '')?.interfaces[0]?.ipv4?.pool;
const isLive = (pod: V1Pod) => !pod.metadata?.deletionTimestamp;
const isRunning = (pod: V1Pod) => isLive(pod) && pod.status?.phase === 'Running';
const podsOf = async (app: string) => (await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=${app}` })).items;
const readPod = (name: string) => core.readNamespacedPod({ namespace: 'default', name });

interface Claim {
  metadata: { name: string; uid: string };
  spec: { address: string; pool: string };
  status?: { phase?: string; podName?: string; podUID?: string };
}
const claimsOf = async (pool: string) =>
  ((await custom.listClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims', labelSelector: `underpin.dev/pool=${pool}` })) as { items: Claim[] }).items;
const claimOf = async (address: string) => (await custom.getClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims', name: address })) as Claim;
const releasedEvents = async (pod: string) =>
  (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${pod},reason=AddressReleased` })).items;
const nodeReady = async (name: string) => (await core.readNode({ name })).status?.conditions?.find((c) => c.type === 'Ready')?.status;

function metrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${metricsPort}/metrics`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
async function metric(name: string, label: string, value: string): Promise<number> {
  const match = new RegExp(`^${name}\\{${label}="${value}"\\} (\\d+)$`, 'm').exec(await metrics());
  return match ? Number(match[1]) : Number.NaN;
}
const releases = (reason: string) => metric('underpin_claim_releases_total', 'reason', reason);

/** The pod spec parts every workload here shares: its node group, a short grace period, and short tolerations of a lost node. */
function podSpec(group: string) {
  return {
    terminationGracePeriodSeconds: GRACE_SECONDS,
    automountServiceAccountToken: false,
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: GROUP, operator: 'In', values: [group] }] }] } } },
    tolerations: ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS })),
    containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
  };
}

t.test('a Deployment on an auto pool of replicas + 1 loses a node: all replicas come back, the lost addresses go to the replacements', async (t) => {
  await apply({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'web-net' }, spec: { subnet: '10.40.0.0/16', ips: ['10.40.0.10-10.40.0.100'] } });
  await sleep(500); // both webhook replicas see the subnet
  const spec = podSpec('web');
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 6,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'ipam.spidernet.io/subnet': '{"ipv4":["web-net"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' } },
        spec: {
          ...spec,
          // Honor: a lost node (tainted unreachable:NoSchedule) is no domain of the spread, so its replicas fit on the others.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: { app: 'web' } } }],
        },
      },
    },
  });
  const before = await eventually('6 Running, 2 on each node', async () => {
    const pods = (await podsOf('web')).filter(isRunning);
    const perNode = NODES.web.map((node) => pods.filter((p) => p.spec?.nodeName === node).length);
    return pods.length === 6 && perNode.every((n) => n === 2) ? pods : undefined;
  });
  const pool = JSON.parse(await kubectl(['get', 'spiderippools', '-l', 'ipam.spidernet.io/owner-application-name=web', '-o', 'json'])).items[0];
  const poolName: string = pool.metadata.name;
  const poolIps = parseRangeList(pool.spec.ips, 4);
  if (!poolIps.ok) throw new Error(`auto pool ${poolName}: ${JSON.stringify(poolIps.error)}`);
  t.equal(poolIps.value.set.count(), 7n, `auto pool ${poolName} holds replicas + 1`);
  await eventually('6 claims Bound', async () => (await claimsOf(poolName)).filter((c) => c.status?.phase === 'Bound').length === 6);

  const lostNode = 'web-2';
  const lostPods = before.filter((p) => p.spec?.nodeName === lostNode);
  const lostAddresses = lostPods.map(addressOf);
  const notReadyBefore = await releases('node-not-ready');
  const lostAt = Date.now();
  kubelet.lose(lostNode);
  await eventually(`node ${lostNode} NotReady`, async () => (await nodeReady(lostNode)) !== 'True');
  t.comment(`node ${lostNode} NotReady ${seconds(lostAt)} s after its kubelet died (grace period ${NODE_MONITOR_GRACE_SECONDS} s)`);
  await eventually('its pods evicted', async () => (await Promise.all(lostPods.map((p) => readPod(p.metadata!.name!)))).every((p) => !isLive(p)));
  t.comment(`its 2 pods terminating ${seconds(lostAt)} s after (tolerationSeconds ${TOLERATION_SECONDS})`);

  const after = await eventually('6 Running again on the other nodes', async () => {
    const pods = (await podsOf('web')).filter(isRunning);
    return pods.length === 6 && pods.every((p) => p.spec?.nodeName !== lostNode) ? pods : undefined;
  });
  t.comment(`6 Running again ${seconds(lostAt)} s after the node was lost`);
  const addresses = after.map(addressOf);
  const inPool = (text: string | undefined) => {
    const parsed = parseAddress(text ?? '');
    return parsed.ok && poolIps.value.set.containsAddress(parsed.value);
  };
  t.ok(after.every((p) => poolOf(p) === poolName && inPool(addressOf(p))), 'every address from the auto pool');
  t.equal(new Set(addresses).size, 6, `no address twice among the live pods (${addresses.join(', ')})`);
  t.ok(lostAddresses.some((a) => addresses.includes(a)), `a lost pod's address (${lostAddresses.join(', ')}) went to a replacement`);
  t.ok((await Promise.all(lostPods.map((p) => readPod(p.metadata!.name!)))).every((p) => !isLive(p)), 'the lost pods are still there, Terminating: no kubelet confirms them gone');

  for (const pod of lostPods) {
    const [event] = await eventually(`AddressReleased on ${pod.metadata!.name}`, async () => {
      const found = await releasedEvents(pod.metadata!.name!);
      return found.length > 0 ? found : undefined;
    });
    t.match(event!.message, new RegExp(`^released ${addressOf(pod)!.replaceAll('.', '\\.')} \\(pool ${poolName}, interface eth0\\): pod default/${pod.metadata!.name} is terminating and node ${lostNode} is NotReady \\(Ready: Unknown\\), ${GRACE_SECONDS} s after its deletion \\(grace period\\); its replacement may take the address$`));
  }
  t.equal(await releases('node-not-ready'), notReadyBefore + 2, 'counted as node-not-ready');
  const livePods = new Set(after.map((p) => p.metadata!.name));
  await eventually('claims: exactly the live pods\' addresses, each bound to its pod', async () => {
    const claims = await claimsOf(poolName);
    const claimed = claims.map((c) => c.spec.address).sort();
    return claimed.join() === [...addresses].sort().join() && claims.every((c) => c.status?.phase === 'Bound' && livePods.has(c.status.podName));
  });
  t.comment(`claims converged ${seconds(lostAt)} s after the node was lost`);
  await eventually('the pool metric counts 6', async () => (await metric('underpin_pool_allocated_ips', 'pool', poolName)) === 6);

  const restoredAt = Date.now();
  await kubelet.restore(lostNode);
  await eventually('the old pods gone', async () => (await podsOf('web')).every((p) => p.spec?.nodeName !== lostNode));
  t.comment(`the old pods gone ${seconds(restoredAt)} s after the kubelet came back`);
  const final = await podsOf('web');
  t.equal(final.length, 6, '6 pods, all live');
  t.equal(new Set(final.map(addressOf)).size, 6, 'still no address twice');
  t.same((await claimsOf(poolName)).map((c) => c.spec.address).sort(), final.map(addressOf).sort(), 'the claims unchanged');
  await eventually(`node ${lostNode} Ready again`, async () => (await nodeReady(lostNode)) === 'True');
});

t.test('a StatefulSet ordinal on a lost node keeps its address; tainted out-of-service, its pod comes back elsewhere with it', async (t) => {
  await apply({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'db-pool' }, spec: { subnet: '10.41.0.0/16', ips: ['10.41.0.10-10.41.0.14'] } });
  await sleep(500);
  await apply({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      replicas: 1,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' }, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["db-pool"]}' } }, spec: podSpec('db') },
    },
  });
  const first = await eventually('db-0 Running', async () => {
    const pod = await readPod('db-0');
    return isRunning(pod) ? pod : undefined;
  });
  const address = addressOf(first)!;
  const lostNode = first.spec!.nodeName!;
  const claim = await eventually('its claim Bound', async () => {
    const c = await claimOf(address);
    return c.status?.podUID === first.metadata!.uid ? c : undefined;
  });

  const lostAt = Date.now();
  kubelet.lose(lostNode);
  await eventually('db-0 evicted', async () => !isLive(await readPod('db-0')));
  t.comment(`db-0 terminating ${seconds(lostAt)} s after node ${lostNode} was lost`);
  // Past the grace period a stateless pod's claim would go; this one must stay.
  await sleep((GRACE_SECONDS + 5) * 1000);
  const stuck = await readPod('db-0');
  t.equal(stuck.metadata!.uid, first.metadata!.uid, 'db-0 is still the old pod, Terminating: the StatefulSet controller waits for it to go');
  t.equal((await claimOf(address)).metadata.uid, claim.metadata.uid, `its claim is kept ${GRACE_SECONDS + 5} s past the eviction`);
  t.same(await releasedEvents('db-0'), [], 'nothing released');

  const taintedAt = Date.now();
  await kubectl(['taint', 'node', lostNode, 'node.kubernetes.io/out-of-service=nodeshutdown:NoExecute']);
  // kube-controller-manager's pod GC force-deletes terminating pods of a NotReady node tainted out-of-service.
  const next = await eventually('db-0 re-created elsewhere and Running', async () => {
    const pod = await readPod('db-0');
    return pod.metadata!.uid !== first.metadata!.uid && isRunning(pod) ? pod : undefined;
  });
  t.comment(`db-0 Running again on ${next.spec!.nodeName} ${seconds(taintedAt)} s after the out-of-service taint`);
  t.not(next.spec!.nodeName, lostNode, 'on the other node');
  t.equal(addressOf(next), address, 'with the same address');
  const rebound = await eventually('the claim bound to the new db-0', async () => {
    const c = await claimOf(address);
    return c.status?.podUID === next.metadata!.uid ? c : undefined;
  });
  t.equal(rebound.metadata.uid, claim.metadata.uid, 'the same claim object all along');

  await kubectl(['taint', 'node', lostNode, 'node.kubernetes.io/out-of-service-']);
  await kubelet.restore(lostNode);
});

t.test('a pod a finalizer holds on a live node gives its address back once its containers are reported terminated', async (t) => {
  await apply({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'hold-pool' }, spec: { subnet: '10.42.0.0/16', ips: ['10.42.0.10-10.42.0.14'] } });
  await sleep(500);
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/hold'], annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["hold-pool"]}' } },
    spec: podSpec('hold'),
  });
  const pod = await eventually('held Running', async () => {
    const p = await readPod('held');
    return isRunning(p) ? p : undefined;
  });
  const address = addressOf(pod)!;
  await eventually('its claim Bound', async () => (await claimOf(address)).status?.podUID === pod.metadata!.uid);
  const stoppedBefore = await releases('pod-containers-stopped');

  const deletedAt = Date.now();
  await kubectl(['delete', 'pod', 'held', '--wait=false']);
  await eventually('its containers reported terminated', async () => (await readPod('held')).status?.containerStatuses?.every((c) => c.state?.terminated) === true);
  await eventually('its claim released', async () => !(await claimsOf('hold-pool')).some((c) => c.spec.address === address));
  t.comment(`claim released ${seconds(deletedAt)} s after the delete`);
  const held = await readPod('held');
  t.equal(held.metadata!.uid, pod.metadata!.uid, 'the pod is still there, its finalizer holding it');
  t.equal(held.spec!.nodeName, 'hold-1');
  t.equal(await nodeReady('hold-1'), 'True', 'on a Ready node');
  const [event] = await eventually('AddressReleased on held', async () => {
    const found = await releasedEvents('held');
    return found.length > 0 ? found : undefined;
  });
  t.match(event!.message, new RegExp(`^released ${address.replaceAll('.', '\\.')} \\(pool hold-pool, interface eth0\\): pod default/held is terminating and its kubelet reported every container terminated on node hold-1`));
  t.equal(await releases('pod-containers-stopped'), stoppedBefore + 1, 'counted as pod-containers-stopped');

  await kubectl(['patch', 'pod', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  await eventually('held gone', () => readPod('held').then(() => false, () => true));
});
