// The claim, status and endpoint controllers on a real control plane: the cluster's
// own reconciler (reconciler/main.ts from source) binds claims to pods, releases them
// when their pods go (not while they terminate; StatefulSet ordinals in range keep
// theirs; pods that never came after the orphan TTL), keeps pool and subnet status and
// SpiderEndpoints, emits Events, serves metrics, and catches up after a crash.
import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { decodeBinding, type Binding } from '../../ipam/binding.js';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { eventually, HANG_TIMEOUT_MS, isAlive, sleep, startProcess, stopProcess, waitUntil, type ManagedProcess } from '../../hack/processes.js';
import { repoPath } from '../../hack/repo-paths.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { createReadyNode } from './fake-nodes.js';
import { startLocalCluster } from './local-cluster.js';

// Long enough that a loaded API server persists a burst of pods after their admission
// well within it (a shorter TTL releases claims of pods still being created).
const ORPHAN_TTL_SECONDS = 10;
const [metricsPort] = await freeLoopbackPorts(1);
const reconcilerArgs = [`--orphan-claim-ttl-seconds=${ORPHAN_TTL_SECONDS}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`, '--log-level=debug'];
const cluster = await startLocalCluster(t, { reconcilerArgs });
const reconciler0 = cluster.underpin.processes.find((p) => p.name === 'underpin-reconciler-0')!;
const started: ManagedProcess[] = [];
t.teardown(async () => {
  await Promise.all(started.map((p) => stopProcess(p.pid)));
});

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}
const getJson = async (args: string[]) => JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
async function exists(args: string[]): Promise<boolean> {
  const r = await cluster.kubectl(['get', ...args, '-o', 'name']);
  if (r.code === 0) return true;
  if (/NotFound/.test(r.stderr)) return false;
  throw new Error(r.stderr);
}
/** Polls until `probe` returns a value (not undefined); fails with the last value seen. */
function httpGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${metricsPort}${path}`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
async function releases(reason: string): Promise<number> {
  const { body } = await httpGet('/metrics');
  const match = new RegExp(`^underpin_claim_releases_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(body);
  return match ? Number(match[1]) : Number.NaN;
}

const spider = (kind: string, name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind, metadata: { name }, spec });
const ippool = (pool: string) => ({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) });
function pod(name: string, pool: string, extra: { finalizers?: string[]; generateName?: boolean } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...(extra.generateName ? { generateName: name } : { name }), namespace: 'default', annotations: ippool(pool), ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
  };
}
async function bindingOf(name: string): Promise<Binding> {
  const p = await getJson(['pod', name]);
  const binding = decodeBinding(p.metadata.annotations?.['underpin.dev/binding'] ?? '');
  if (!binding) throw new Error(`pod ${name} has no binding`);
  return binding;
}
const addressOf = (binding: Binding) => binding.interfaces[0]!.ipv4!.address.split('/')[0]!;
const forceDelete = (...names: string[]) => kubectl(['delete', 'pod', ...names, '--grace-period=0', '--force', '--wait=false']);
async function boundClaim(address: string, podName: string, node?: string) {
  return eventually(`claim ${address} bound to ${podName}`, async () => {
    const claim = await getJson(['ipclaim', address]);
    const s = claim.status ?? {};
    return s.phase === 'Bound' && s.podName === podName && (node === undefined || s.node === node) ? claim : undefined;
  });
}
async function events(reason: string, name: string, namespace = 'default') {
  return (await getJson(['events', '-n', namespace, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as Array<{
    message: string;
    involvedObject: { kind: string; name: string; namespace?: string };
    type: string;
  }>;
}

await createReadyNode(cluster, 'node-a');
await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
const applyAll = (...items: object[]) => kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
// The subnet first: pools created in its network inherit from it.
await applyAll(
  spider('SpiderSubnet', 'net6', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.100'], gateway: '10.6.0.1' }),
  spider('SpiderReservedIP', 'keep-out', { ips: ['10.6.0.18'] }),
);
await applyAll(
  spider('SpiderIPPool', 'p6', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.19'], excludeIPs: ['10.6.0.19'] }),
  spider('SpiderIPPool', 'sts-pool', { subnet: '10.6.0.0/16', ips: ['10.6.0.40-10.6.0.44'] }),
  spider('SpiderIPPool', 'sts-pool-2', { subnet: '10.6.0.0/16', ips: ['10.6.0.45-10.6.0.49'] }),
  spider('SpiderIPPool', 'burst', { subnet: '10.8.0.0/16', ips: ['10.8.1.1-10.8.1.200'] }),
);
// Both webhook replicas' caches see the new pools within moments.
await sleep(500);

t.test('a pod: its claim is Bound; pool and subnet status count it; its SpiderEndpoint describes it', async (t) => {
  await kubectl(['create', '-f', '-'], JSON.stringify(pod('web-1', 'p6')));
  await kubectl(['wait', 'pod/web-1', '--for=jsonpath={.spec.nodeName}=node-a', '--timeout=120s']);
  const p = await getJson(['pod', 'web-1']);
  const address = addressOf(await bindingOf('web-1'));
  const claim = await boundClaim(address, 'web-1', 'node-a');
  t.equal(claim.status.podUID, p.metadata.uid, 'the pod UID');
  t.equal(claim.status.reservedAt, claim.metadata.creationTimestamp, 'reserved at admission');
  t.ok(Date.parse(claim.status.boundAt) >= Date.parse(claim.metadata.creationTimestamp), 'bound afterwards');

  // A generateName pod has no name at admission: the binding id finds it.
  const generated = JSON.parse(await kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(pod('gen-', 'p6', { generateName: true }))));
  const genAddress = addressOf(decodeBinding(generated.metadata.annotations['underpin.dev/binding'])!);
  const genClaim = await boundClaim(genAddress, generated.metadata.name);
  t.equal(genClaim.status.podUID, generated.metadata.uid);

  const poolStatus = await eventually('pool p6 status', async () => {
    const s = (await getJson(['spiderippool', 'p6'])).status;
    // Both claims Bound in the status (a write made while the second was Reserved lacks its pod).
    const allocated = s?.allocatedIPCount === 2 ? JSON.parse(s.allocatedIPs) : {};
    return allocated[address]?.node === 'node-a' && allocated[genAddress]?.pod ? s : undefined;
  });
  t.equal(poolStatus.totalIPCount, 8, '10 ips, 1 excluded, 1 reserved');
  const allocated = JSON.parse(poolStatus.allocatedIPs);
  t.same(allocated[address], { interface: 'eth0', pod: 'default/web-1', podUid: p.metadata.uid, node: 'node-a' });
  t.equal(allocated[genAddress]?.pod, `default/${generated.metadata.name}`);
  t.equal((await getJson(['spiderippool', 'sts-pool'])).status?.allocatedIPCount ?? 0, 0);
  await eventually('sts-pool status', async () => (await getJson(['spiderippool', 'sts-pool'])).status?.totalIPCount === 5);

  const subnetStatus = await eventually('subnet status', async () => {
    const s = (await getJson(['spidersubnet', 'net6'])).status;
    return s?.allocatedIPCount === 19 ? s : undefined;
  });
  t.equal(subnetStatus.allocatedIPCount, 19, 'as upstream: the addresses handed to its pools (9 + 5 + 5), not what pods hold');
  t.equal(subnetStatus.totalIPCount, 90, '91 ips, 1 reserved');
  t.same(JSON.parse(subnetStatus.controlledIPPools), { p6: { ips: ['10.6.0.10-10.6.0.18'] }, 'sts-pool': { ips: ['10.6.0.40-10.6.0.44'] }, 'sts-pool-2': { ips: ['10.6.0.45-10.6.0.49'] } });
  const columns = await kubectl(['get', 'spiderippool', 'p6', '--no-headers']);
  t.match(columns, /^p6\s+4\s+10\.6\.0\.0\/16\s+2\s+8\s/, 'kubectl get shows the counts');

  const endpoint = await eventually('SpiderEndpoint web-1', async () => {
    const se = await getJson(['spiderendpoint', 'web-1']);
    return se.status?.current?.node === 'node-a' ? se : undefined;
  });
  t.same(endpoint.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: p.metadata.uid }]);
  t.same(endpoint.status, {
    current: { uid: p.metadata.uid, node: 'node-a', ips: [{ interface: 'eth0', ipv4: `${address}/16`, ipv4Pool: 'p6', ipv4Gateway: '10.6.0.1', vlan: 0, routes: [] }] },
    ownerControllerType: 'Pod',
    ownerControllerName: 'web-1',
  });
  t.match(await kubectl(['get', 'se', 'web-1', '--no-headers']), new RegExp(`^web-1\\s+eth0\\s+p6\\s+${address.replaceAll('.', '\\.')}/16\\s+.*node-a`));
});

t.test('deleting a pod releases its claim, the pool count drops and the SpiderEndpoint goes', async (t) => {
  const address = addressOf(await bindingOf('web-1'));
  const before = await releases('pod-deleted');
  const start = Date.now();
  await forceDelete('web-1');
  await eventually('claim released', async () => !(await exists(['ipclaim', address])));
  t.pass(`claim released ${Date.now() - start} ms after the delete`);
  await eventually('pool count 1', async () => (await getJson(['spiderippool', 'p6'])).status?.allocatedIPCount === 1);
  t.notOk(JSON.parse((await getJson(['spiderippool', 'p6'])).status.allocatedIPs)[address], 'no longer listed');
  t.equal((await getJson(['spidersubnet', 'net6'])).status?.allocatedIPCount, 19, 'the subnet still hands the same addresses to its pools');
  const gcStart = Date.now();
  await eventually('SpiderEndpoint collected with its pod', async () => !(await exists(['spiderendpoint', 'web-1'])));
  t.pass(`the garbage collector removed the SpiderEndpoint ${Date.now() - gcStart} ms later`);
  t.equal(await releases('pod-deleted'), before + 1, 'counted');
  t.same(await events('AddressReleased', 'web-1'), [], 'an ordinary delete is not worth an Event');
});

t.test('a terminating pod keeps its claim until it is gone', async (t) => {
  await kubectl(['create', '-f', '-'], JSON.stringify(pod('held', 'p6', { finalizers: ['underpin.test/hold'] })));
  const address = addressOf(await bindingOf('held'));
  await boundClaim(address, 'held');
  await forceDelete('held');
  t.ok((await getJson(['pod', 'held'])).metadata.deletionTimestamp, 'terminating');
  await sleep(3000);
  const claim = await getJson(['ipclaim', address]);
  t.equal(claim.status.phase, 'Bound', 'still bound after 3 s');
  await kubectl(['patch', 'pod', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  const start = Date.now();
  await eventually('claim released once the pod is gone', async () => !(await exists(['ipclaim', address])));
  t.pass(`released ${Date.now() - start} ms after the pod went`);
});

t.test(`a claim whose pod never came is released after the orphan TTL (${ORPHAN_TTL_SECONDS} s here), with an Event`, async (t) => {
  // p6's excluded address: the webhook never hands it out, so no pod of the other tests can hold it.
  const claim = {
    apiVersion: 'underpin.dev/v1alpha1',
    kind: 'IPClaim',
    metadata: { name: '10.6.0.19' },
    spec: { address: '10.6.0.19', family: 4, pool: 'p6', interface: 'eth0', namespace: 'default', bindingID: 'never-created-1' },
  };
  const before = await releases('pod-never-created');
  await kubectl(['create', '-f', '-'], JSON.stringify(claim));
  const created = Date.now();
  const reserved = await eventually('Reserved', async () => {
    const c = await getJson(['ipclaim', '10.6.0.19']);
    return c.status?.phase === 'Reserved' ? c : undefined;
  });
  t.equal(reserved.status.reservedAt, reserved.metadata.creationTimestamp);
  t.notOk(reserved.status.podName);
  await eventually('released', async () => !(await exists(['ipclaim', '10.6.0.19'])));
  const took = Date.now() - created;
  t.ok(took >= ORPHAN_TTL_SECONDS * 1000 - 1000, `not before the TTL (${took} ms)`);
  t.comment(`released ${took} ms after creation (TTL ${ORPHAN_TTL_SECONDS} s)`);
  const [event] = await eventually('AddressReleased event', async () => {
    const found = await events('AddressReleased', '10.6.0.19');
    return found.length > 0 ? found : undefined;
  });
  t.equal(event!.involvedObject.kind, 'IPClaim');
  t.equal(
    event!.message,
    `released 10.6.0.19 (pool p6, interface eth0): no pod with binding id never-created-1 appeared in namespace default within ${ORPHAN_TTL_SECONDS} s of admission; the pod create failed after the webhook`,
  );
  t.equal(await releases('pod-never-created'), before + 1);
});

/** The StatefulSet controller creates its pods a moment after the set: `kubectl wait` fails on a pod not there yet. */
async function scheduledOnNodeA(...pods: string[]): Promise<void> {
  for (const pod of pods) await eventually(`pod ${pod} created`, async () => (await exists(['pod', pod])));
  await kubectl(['wait', '--for=jsonpath={.spec.nodeName}=node-a', ...pods.map((p) => `pod/${p}`), '--timeout=120s']);
}

function statefulSet(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      // No kubelet: pods never get Ready, so OrderedReady would stop after the first.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: ippool('sts-pool') }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
    },
  };
}

t.test('StatefulSet claims outlive their pods, and go when the set is scaled to 0', async (t) => {
  await kubectl(['apply', '-f', '-'], JSON.stringify(statefulSet('db', 2)));
  await scheduledOnNodeA('db-0', 'db-1');
  const address0 = addressOf(await bindingOf('db-0'));
  const address1 = addressOf(await bindingOf('db-1'));
  const claim1 = await boundClaim(address1, 'db-1', 'node-a');
  await boundClaim(address0, 'db-0', 'node-a');
  t.equal(claim1.spec.owner.kind, 'StatefulSet');
  t.equal(claim1.spec.statefulSetOrdinal, 1);

  // The pod goes; the StatefulSet controller makes a new db-1, which gets the address back.
  const oldUid = (await getJson(['pod', 'db-1'])).metadata.uid;
  await forceDelete('db-1');
  const newUid = await eventually('db-1 re-created', async () => {
    const uid = (await getJson(['pod', 'db-1'])).metadata.uid;
    return uid !== oldUid ? uid : undefined;
  });
  t.equal(addressOf(await bindingOf('db-1')), address1, 'same address');
  const rebound = await eventually('claim bound to the new db-1', async () => {
    const c = await getJson(['ipclaim', address1]);
    return c.status?.podUID === newUid ? c : undefined;
  });
  t.equal(rebound.metadata.uid, claim1.metadata.uid, 'the same claim object all along');

  // Scaled to 0: the pods terminate (and stay so: no kubelet), the claims stay meanwhile.
  const before = await releases('statefulset-scaled-down');
  await kubectl(['scale', 'statefulset', 'db', '--replicas=0']);
  await eventually('db-1 terminating', async () => Boolean((await getJson(['pod', 'db-1'])).metadata.deletionTimestamp));
  await sleep(1500);
  t.ok(await exists(['ipclaim', address1]), 'kept while db-1 terminates');
  await forceDelete('db-0', 'db-1');
  await eventually('both released', async () => !((await exists(['ipclaim', address0])) || (await exists(['ipclaim', address1]))));
  t.equal(await releases('statefulset-scaled-down'), before + 2);
  const [scaled] = await eventually('AddressReleased on db-1', async () => {
    const found = await events('AddressReleased', 'db-1');
    return found.length > 0 ? found : undefined;
  });
  t.equal(scaled!.involvedObject.kind, 'Pod');
  t.equal(scaled!.message, `released ${address1} (pool sts-pool, interface eth0) of StatefulSet default/db ordinal 1: the StatefulSet has 0 replicas now (no ordinals)`);
  await kubectl(['delete', 'statefulset', 'db']);
});

t.test('a StatefulSet claim goes when the set is deleted', async (t) => {
  await kubectl(['apply', '-f', '-'], JSON.stringify(statefulSet('cache', 1)));
  await scheduledOnNodeA('cache-0');
  const address = addressOf(await bindingOf('cache-0'));
  await boundClaim(address, 'cache-0', 'node-a');
  // Orphan the pod: the set is gone, the pod runs on and keeps the address.
  await kubectl(['delete', 'statefulset', 'cache', '--cascade=orphan']);
  await sleep(1500);
  t.ok(await exists(['ipclaim', address]), 'kept while its pod lives');
  const before = await releases('statefulset-deleted');
  await forceDelete('cache-0');
  await eventually('released', async () => !(await exists(['ipclaim', address])));
  t.equal(await releases('statefulset-deleted'), before + 1);
  const [event] = await eventually('AddressReleased on cache-0', async () => {
    const found = await events('AddressReleased', 'cache-0');
    return found.length > 0 ? found : undefined;
  });
  t.equal(event!.message, `released ${address} (pool sts-pool, interface eth0) of StatefulSet default/cache ordinal 0: the StatefulSet is gone`);
});

t.test("a StatefulSet moved to another pool: the ordinal's old claim goes once its new pod holds the new address", async (t) => {
  await kubectl(['apply', '-f', '-'], JSON.stringify(statefulSet('moved', 1)));
  await scheduledOnNodeA('moved-0');
  const oldAddress = addressOf(await bindingOf('moved-0'));
  const oldUid = (await getJson(['pod', 'moved-0'])).metadata.uid;
  await boundClaim(oldAddress, 'moved-0', 'node-a');
  const before = await releases('not-in-binding');
  await kubectl(['patch', 'statefulset', 'moved', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: ippool('sts-pool-2') } } } })]);
  // The rolling update deletes moved-0; with no kubelet it stays terminating until forced.
  await eventually('moved-0 terminating', async () => Boolean((await getJson(['pod', 'moved-0'])).metadata.deletionTimestamp));
  await forceDelete('moved-0');
  const newUid = await eventually('moved-0 re-created', async () => {
    const pod = await getJson(['pod', 'moved-0']).catch(() => undefined);
    return pod && pod.metadata.uid !== oldUid ? pod.metadata.uid : undefined;
  });
  const newBinding = await bindingOf('moved-0');
  const newAddress = addressOf(newBinding);
  t.equal(newBinding.interfaces[0]!.ipv4!.pool, 'sts-pool-2', 'the new pod is in the new pool');
  await eventually('the old claim released', async () => !(await exists(['ipclaim', oldAddress])));
  t.equal(await releases('not-in-binding'), before + 1);
  const claim = await boundClaim(newAddress, 'moved-0', 'node-a');
  t.equal(claim.status.podUID, newUid);
  await kubectl(['delete', 'statefulset', 'moved']);
  await forceDelete('moved-0');
});

const BURST = 150;
t.test('a ReplicaSet denied an address on a full pool is prompted to retry as soon as one is released', async (t) => {
  await applyAll(spider('SpiderIPPool', 'tiny', { subnet: '10.9.0.0/24', ips: ['10.9.0.10-10.9.0.11'] }));
  // A pod of no ReplicaSet holds one address: its delete frees it without an event the ReplicaSet controller watches.
  await kubectl(['create', '-f', '-'], JSON.stringify(pod('holder', 'tiny')));
  const held = addressOf(await bindingOf('holder'));
  const set = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'tight', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'tight' } },
      template: { metadata: { labels: { app: 'tight' }, annotations: ippool('tiny') }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
    },
  };
  t.teardown(() => kubectl(['delete', 'replicaset', 'tight', '--ignore-not-found']).then(() => undefined));
  await kubectl(['apply', '-f', '-'], JSON.stringify(set));
  const condition = await eventually("the second pod denied, in the ReplicaSet's ReplicaFailure condition", async () => {
    const rs = await getJson(['replicaset', 'tight']);
    return (rs.status?.conditions ?? []).find((c: { type: string }) => c.type === 'ReplicaFailure')?.message as string | undefined;
  });
  t.match(condition, /tiny has no free IPv4 address \(2 of 2 in use\)/);
  t.equal(((await getJson(['pods', '-l', 'app=tight'])).items as unknown[]).length, 1, 'one pod, on the one address left');
  t.notOk((await getJson(['replicaset', 'tight'])).metadata.annotations?.['underpin.dev/address-freed-at'], 'not prompted while nothing is free');

  await forceDelete('holder');
  const prompted = await eventually('the ReplicaSet prompted once the address is released', async () => (await getJson(['replicaset', 'tight'])).metadata.annotations?.['underpin.dev/address-freed-at'] as string | undefined);
  t.ok(Date.parse(prompted) > 0, `annotated ${prompted}`);
  const pods = await eventually('its second pod created, on the released address', async () => {
    const now = (await getJson(['pods', '-l', 'app=tight'])).items as { metadata: { name: string } }[];
    return now.length === 2 ? now : undefined;
  });
  const addresses = await Promise.all(pods.map(async (p) => addressOf(await bindingOf(p.metadata.name))));
  t.ok(addresses.includes(held), `one of them has ${held}, the released address`);
  t.same([...addresses].sort(), ['10.9.0.10', '10.9.0.11'], 'both addresses in use, each once');
  // node-a has no kubelet to stop the pods: they go at once, as forceDelete does.
  await kubectl(['delete', 'replicaset', 'tight', '--cascade=orphan']);
  await forceDelete(...pods.map((p) => p.metadata.name));
  await eventually('the pool empty again', async () => ((await getJson(['ipclaims', '-l', 'underpin.dev/pool=tiny'])).items as unknown[]).length === 0);
  await kubectl(['delete', 'spiderippool', 'tiny']);
});

t.test(`${BURST} pods at once: all bound, then all released, status following`, async (t) => {
  const core = loadKubeConfig(cluster.plane.kubeconfig).makeApiClient(CoreV1Api);
  const listClaims = async () => (await getJson(['ipclaims', '-l', 'underpin.dev/pool=burst'])).items as Array<{ status?: { phase?: string } }>;
  const start = Date.now();
  const created = await Promise.allSettled(
    Array.from({ length: BURST }, (_, i) =>
      core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: `burst-${i}`, annotations: ippool('burst') }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
      }),
    ),
  );
  t.equal(created.filter((r) => r.status === 'rejected').length, 0, 'every pod admitted');
  const admittedMs = Date.now() - start;
  await eventually('every claim Bound', async () => {
    const claims = await listClaims();
    return claims.length === BURST && claims.every((c) => c.status?.phase === 'Bound');
  });
  const boundMs = Date.now() - start;
  await eventually('pool status counts them', async () => (await getJson(['spiderippool', 'burst'])).status?.allocatedIPCount === BURST);
  const statusMs = Date.now() - start;
  t.comment(`${BURST} pods admitted in ${admittedMs} ms; all claims Bound after ${boundMs} ms; pool status after ${statusMs} ms`);

  const deleteStart = Date.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => core.deleteNamespacedPod({ namespace: 'default', name: `burst-${i}`, gracePeriodSeconds: 0 })));
  const deletedMs = Date.now() - deleteStart;
  await eventually('every claim released', async () => (await listClaims()).length === 0);
  const releasedMs = Date.now() - deleteStart;
  await eventually('pool status back to 0', async () => (await getJson(['spiderippool', 'burst'])).status?.allocatedIPCount === 0);
  t.comment(`${BURST} pods force-deleted in ${deletedMs} ms: all claims released after ${releasedMs} ms; pool status 0 after ${Date.now() - deleteStart} ms`);
  t.pass('converged');
});

t.test('metrics and health on --metrics-bind-address', async (t) => {
  const health = await httpGet('/healthz');
  t.same(health, { status: 200, body: 'ok\n' });
  t.equal((await httpGet('/readyz')).status, 200);
  const { body } = await httpGet('/metrics');
  t.match(body, /^underpin_pool_total_ips\{pool="p6"\} 8$/m);
  t.match(body, /^underpin_pool_allocated_ips\{pool="p6"\} 1$/m, 'the generated pod');
  t.match(body, /^underpin_reconcile_duration_seconds_count\{controller="claims"\} \d+$/m);
  t.match(body, /^underpin_reconciler_leader 1$/m);
});

t.test('restart: a pod deleted while no reconciler runs is released at start-up', async (t) => {
  await kubectl(['create', '-f', '-'], JSON.stringify(pod('restart-1', 'p6')));
  const address = addressOf(await bindingOf('restart-1'));
  await boundClaim(address, 'restart-1');

  process.kill(-reconciler0.pid, 'SIGKILL');
  await waitUntil('the reconciler is dead', async () => !isAlive(reconciler0.pid), { timeoutMs: HANG_TIMEOUT_MS });
  await forceDelete('restart-1');
  await eventually('pod gone', async () => !(await exists(['pod', 'restart-1'])));
  await sleep(2000);
  t.ok(await exists(['ipclaim', address]), 'nobody released it meanwhile');

  // Same identity as before the crash: it holds the Lease already, so it leads at once.
  const start = Date.now();
  const restarted = startProcess({
    name: 'underpin-reconciler-0-restarted',
    command: process.execPath,
    args: ['--import', 'tsx', repoPath('reconciler', 'main.ts'), `--kubeconfig=${cluster.plane.kubeconfig}`, '--identity=underpin-reconciler-0', ...reconcilerArgs],
    logFile: join(dirname(reconciler0.logFile), 'underpin-reconciler-0-restarted.log'),
  });
  started.push(restarted);
  await waitUntil('claim released at start-up', async () => !(await exists(['ipclaim', address])), { timeoutMs: HANG_TIMEOUT_MS, process: restarted });
  t.pass(`released ${Date.now() - start} ms after the reconciler started (process start and cache sync included)`);
  await eventually('pool count back to 1', async () => (await getJson(['spiderippool', 'p6'])).status?.allocatedIPCount === 1);
});
