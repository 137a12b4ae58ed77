// Moving a running Spiderpool cluster to Underpin, on the real control plane. The
// cluster is made as Spiderpool leaves it, before Underpin is installed: pools and a
// subnet with Spiderpool's finalizer and `status.allocatedIPs` JSON strings, its
// SpiderEndpoints with `status.current`, pods without an Underpin binding (one with
// the agent's old assigned- annotation), records of a pod that is gone, two records
// for one address, a record outside any pool, a malformed pool status. Then Underpin
// is installed and: live pods are adopted (claims, binding, label), pools are
// released once their pods are, the conflict is a Warning Event and its pool stays
// held, new pods never get an adopted address, an adopted pod runs through Underpin's
// plugin with its Spiderpool address on the node simulator and keeps it across a
// sandbox restart, and deleting the adopted pods leaves no claim behind.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { applyCRDs, installUnderpin } from '../../hack/dev/underpin-install.js';
import { NodeSimulator } from '../../hack/node-simulator/node-simulator.js';
import { eventually } from '../../hack/processes.js';
import { autoPoolLabels, autoPoolName } from '../../ipam/auto-pool.js';
import { decodeBinding } from '../../ipam/binding.js';
import { parseCidr } from '../../ipam/cidr.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { canUseNetns, ipJSON } from '../cni/netns-lab.js';
import { pluginBinaries } from '../cni/plugin-binaries.js';

const dir = mkdtempSync(join(tmpdir(), 'underpin-adopt-'));
// Torn down last in, first out: simulator, Underpin, plugins, control plane.
const cleanups: (() => unknown)[] = [];
t.teardown(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
const plane = await LocalControlPlane.start({ dir });
cleanups.push(() => plane.stop({ removeData: true }));
const kubectl = (args: string[], input?: string) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
const kc = loadKubeConfig(plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const parsedCidr = (text: string) => {
  const cidr = parseCidr(text);
  if (!cidr.ok) throw new Error(`fixture CIDR ${text}`);
  return cidr.value;
};
const SPIDER = { group: 'spiderpool.spidernet.io', version: 'v2beta1' };
const FINALIZER = 'spiderpool.spidernet.io';
const apply = async (...objects: object[]) => {
  const result = await kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  if (result.code !== 0) throw new Error(result.stderr);
};
const setStatus = async (plural: string, name: string, status: object, namespace?: string) => {
  const result = await kubectl([...(namespace ? ['-n', namespace] : []), 'patch', plural, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  if (result.code !== 0) throw new Error(result.stderr);
};
const readPool = (name: string) => custom.getClusterCustomObject({ ...SPIDER, plural: 'spiderippools', name }) as Promise<{ metadata: { finalizers?: string[]; annotations?: Record<string, string> }; status?: { allocatedIPs?: string } }>;
const claimsList = async () => ((await custom.listClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' })) as { items: { metadata: { name: string }; spec: { bindingID: string; pool: string }; status?: { podUID?: string } }[] }).items;
const events = async (kind: string, name: string, namespace = 'default') => (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` })).items;

// The node the pods run on, from before Underpin (a bare Node object keeps the pod
// garbage collector off them); once Underpin is installed, the node simulator plays
// its kubelet with the real CNI chain, where network namespaces can be made.
const unusable = canUseNetns();
const bins = unusable ? undefined : await pluginBinaries();
const simDir = mkdtempSync(join(tmpdir(), 'underpin-adopt-sim-'));
cleanups.push(() => {
  bins?.cleanup();
  rmSync(simDir, { recursive: true, force: true });
});
let simulator: NodeSimulator | undefined;
const startSimulator = async () => {
  simulator = new NodeSimulator({ kubeConfig: kc, nodes: ['sim-a'], cniBinDir: bins!.dir, workDir: simDir, log: (line) => t.comment(line) });
  await simulator.start();
};
await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'sim-a' } }));

// ---- the cluster as Spiderpool leaves it ----
await applyCRDs(plane);
await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
const pool = (name: string, subnet: string, ips: string[], gateway: string) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name, finalizers: [FINALIZER] }, spec: { subnet, ips, gateway } });
await apply(
  { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'legacy-subnet', finalizers: [FINALIZER] }, spec: { subnet: '10.50.0.0/24', ips: ['10.50.0.10-10.50.0.30'], gateway: '10.50.0.1' } },
  pool('legacy-v4', '10.50.0.0/24', ['10.50.0.10-10.50.0.13'], '10.50.0.1'),
  pool('legacy-conflict', '10.51.0.0/24', ['10.51.0.10-10.51.0.19'], '10.51.0.1'),
  pool('legacy-bad', '10.52.0.0/24', ['10.52.0.10-10.52.0.19'], '10.52.0.1'),
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'legacy-net', namespace: 'default' },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', name: 'legacy-net', plugins: [{ type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'spiderpool', default_ipv4_ippool: ['legacy-v4'] } }] }) },
  },
);
const legacyPod = (name: string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', annotations: { 'v1.multus-cni.io/default-network': 'default/legacy-net', ...annotations } },
  spec: { nodeName: 'sim-a', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
});
await apply(
  legacyPod('legacy-a'),
  legacyPod('legacy-b', { 'ipam.spidernet.io/assigned-eth0': '{"interface":"eth0","ipv4pool":"legacy-v4","ipv4":"10.50.0.11/24","vlan":0}' }),
  legacyPod('legacy-c'),
  legacyPod('legacy-d'),
  legacyPod('legacy-e'),
);
const uid = async (name: string) => (await core.readNamespacedPod({ name, namespace: 'default' })).metadata!.uid!;
const [uidA, uidB, uidC, uidD, uidE] = (await Promise.all(['legacy-a', 'legacy-b', 'legacy-c', 'legacy-d', 'legacy-e'].map(uid))) as [string, string, string, string, string];
await setStatus('spiderippools', 'legacy-v4', {
  allocatedIPCount: 3,
  totalIPCount: 4,
  allocatedIPs: JSON.stringify({
    '10.50.0.10': { interface: 'eth0', pod: 'default/legacy-a', podUid: uidA },
    '10.50.0.11': { pod: 'default/legacy-b', podUid: uidB },
    '10.50.0.12': { interface: 'eth0', pod: 'default/gone-pod', podUid: 'uid-of-a-pod-deleted-while-nothing-ran' },
  }),
});
await setStatus('spiderippools', 'legacy-conflict', { allocatedIPCount: 1, totalIPCount: 10, allocatedIPs: JSON.stringify({ '10.51.0.10': { interface: 'eth0', pod: 'default/legacy-c', podUid: uidC } }) });
await setStatus('spiderippools', 'legacy-bad', { allocatedIPCount: 1, totalIPCount: 10, allocatedIPs: '{"10.52.0.10": {"pod": ' });
const endpoint = (name: string, podUID: string, ips: object[]) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderEndpoint', metadata: { name, namespace: 'default', finalizers: [FINALIZER] } , _status: { current: { uid: podUID, node: 'sim-a', ips }, ownerControllerType: 'Pod', ownerControllerName: name } });
const endpoints = [
  endpoint('legacy-a', uidA, [{ interface: 'eth0', ipv4: '10.50.0.10/24', ipv4Pool: 'legacy-v4', ipv4Gateway: '10.50.0.1', vlan: 0, cleanGateway: false }]),
  endpoint('legacy-d', uidD, [{ interface: 'eth0', ipv4: '10.51.0.10/24', ipv4Pool: 'legacy-conflict', vlan: 0 }]),
  endpoint('legacy-e', uidE, [{ interface: 'eth0', ipv4: '10.60.0.10/24', ipv4Pool: 'no-such-pool', vlan: 0 }]),
  endpoint('gone-pod', 'uid-of-a-pod-deleted-while-nothing-ran', [{ interface: 'eth0', ipv4: '10.50.0.12/24', ipv4Pool: 'legacy-v4', vlan: 0 }]),
];
for (const { _status, ...object } of endpoints) {
  await apply(object);
  await setStatus('spiderendpoints', object.metadata.name, _status, 'default');
}

// A Deployment on Spiderpool's auto pool (subnet annotation, `+1`): the pool as Spiderpool
// makes it, its labels naming the application and its podAffinity on the app-* keys.
await apply({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'legacy-web', namespace: 'default' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'legacy-web' } },
    template: {
      metadata: { labels: { app: 'legacy-web' }, annotations: { 'v1.multus-cni.io/default-network': 'default/legacy-net', 'ipam.spidernet.io/subnet': '{"ipv4":["legacy-subnet"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' } },
      spec: { nodeName: 'sim-a', automountServiceAccountToken: false, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
    },
  },
});
const webUID = ((await custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', namespace: 'default', name: 'legacy-web' })) as { metadata: { uid: string } }).metadata.uid;
const webPod = await eventually('legacy-web pod', async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=legacy-web' })).items[0]);
const webApp = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'legacy-web', uid: webUID };
const webPool = autoPoolName(4, webApp, 'eth0');
await apply({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderIPPool',
  metadata: { name: webPool, finalizers: [FINALIZER], labels: autoPoolLabels(4, webApp, 'eth0', 'legacy-subnet', parsedCidr('10.50.0.0/24'), true) },
  spec: {
    subnet: '10.50.0.0/24',
    ips: ['10.50.0.20-10.50.0.21'],
    gateway: '10.50.0.1',
    podAffinity: { matchLabels: { 'ipam.spidernet.io/app-api-group': 'apps', 'ipam.spidernet.io/app-api-version': 'v1', 'ipam.spidernet.io/app-kind': 'Deployment', 'ipam.spidernet.io/app-name': 'legacy-web', 'ipam.spidernet.io/app-namespace': 'default' } },
  },
});
await setStatus('spiderippools', webPool, { allocatedIPCount: 1, totalIPCount: 2, allocatedIPs: JSON.stringify({ '10.50.0.20': { interface: 'eth0', pod: `default/${webPod.metadata!.name}`, podUid: webPod.metadata!.uid } }) });

// ---- Underpin is installed ----
const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), webhookReplicas: 1, webhookArgs: ['--trusted-users=underpin-admin'], reconcilerArgs: ['--resync-seconds=30'] });
cleanups.push(() => underpin.stop());
cleanups.push(() => simulator?.stop());
// Spiderpool's agent is gone with it; the pods' next sandboxes are Underpin's.
if (bins) await startSimulator();

t.test('live pods Spiderpool addressed are adopted: claims, binding and label as Spiderpool recorded them', async (t) => {
  for (const [name, address] of [['legacy-a', '10.50.0.10/24'], ['legacy-b', '10.50.0.11/24'], ['legacy-c', '10.51.0.10/24']] as const) {
    const pod = await eventually(`${name} adopted`, async () => {
      const p = await core.readNamespacedPod({ name, namespace: 'default' });
      return p.metadata?.labels?.['underpin.dev/binding-id'] ? p : undefined;
    });
    const binding = decodeBinding(pod.metadata!.annotations!['underpin.dev/binding']!)!;
    t.equal(binding.id, pod.metadata!.labels!['underpin.dev/binding-id']);
    t.same(binding.interfaces.map((i) => [i.interface, i.ipv4?.address, i.ipv4?.gateway]), [['eth0', address, address.startsWith('10.50') ? '10.50.0.1' : '10.51.0.1']], `${name}: its Spiderpool address`);
    const claim = await eventually(`${name}'s claim bound`, async () => (await claimsList()).find((c) => c.metadata.name === address.split('/')[0] && c.status?.podUID === pod.metadata!.uid));
    t.equal(claim.spec.bindingID, binding.id);
    const adopted = await eventually(`${name} Event`, async () => (await events('Pod', name)).find((e) => e.reason === 'AdoptedFromSpiderpool'));
    t.match(adopted.message, `adopted from Spiderpool: eth0 ${address}`);
  }
});

t.test('a pool is released once its live pods are adopted: Underpin\'s finalizer, its status from claims, the gone pod\'s record dropped', async (t) => {
  const released = await eventually('legacy-v4 released', async () => {
    const p = await readPool('legacy-v4');
    return p.metadata.annotations?.['underpin.dev/adopted-from-spiderpool'] ? p : undefined;
  });
  t.same(released.metadata.finalizers, ['underpin.dev/addresses-in-use'], "Spiderpool's finalizer swapped for Underpin's");
  const status = await eventually('status rewritten from claims', async () => {
    const allocated = JSON.parse((await readPool('legacy-v4')).status?.allocatedIPs ?? '{}') as Record<string, { pod: string }>;
    return Object.keys(allocated).sort().join(',') === '10.50.0.10,10.50.0.11' ? allocated : undefined;
  });
  t.same(Object.values(status).map((e) => e.pod).sort(), ['default/legacy-a', 'default/legacy-b']);
  const subnet = await eventually('the subnet released', async () => {
    const s = (await custom.getClusterCustomObject({ ...SPIDER, plural: 'spidersubnets', name: 'legacy-subnet' })) as { metadata: { finalizers?: string[]; annotations?: Record<string, string> } };
    return s.metadata.annotations?.['underpin.dev/adopted-from-spiderpool'] ? s : undefined;
  });
  t.same(subnet.metadata.finalizers, ['underpin.dev/addresses-in-use']);
  await eventually('the gone pod\'s SpiderEndpoint deleted', async () => {
    const list = (await custom.listNamespacedCustomObject({ ...SPIDER, plural: 'spiderendpoints', namespace: 'default' })) as { items: { metadata: { name: string; finalizers?: string[] } }[] };
    const names = list.items.map((e) => e.metadata.name);
    const a = list.items.find((e) => e.metadata.name === 'legacy-a');
    return !names.includes('gone-pod') && a && !(a.metadata.finalizers ?? []).includes(FINALIZER);
  });
  t.pass("the gone pod's record is gone; the adopted pod's endpoint is Underpin's to keep");
  const bad = await eventually('legacy-bad released (nothing live recorded)', async () => ((await readPool('legacy-bad')).metadata.annotations?.['underpin.dev/adopted-from-spiderpool'] ? true : undefined));
  t.ok(bad);
  const unreadable = await eventually('unreadable status reported', async () => (await events('SpiderIPPool', 'legacy-bad')).find((e) => e.reason === 'SpiderpoolRecordUnreadable'));
  t.match(unreadable.message, 'SpiderIPPool legacy-bad status.allocatedIPs is not JSON');
});

t.test('two records for one address: the pool status\'s pod keeps it, the other is a Warning Event, and the pool stays held', async (t) => {
  const warning = await eventually('conflict Event on legacy-d', async () => (await events('Pod', 'legacy-d')).find((e) => e.reason === 'SpiderpoolAdoptionBlocked'));
  t.equal(warning.type, 'Warning');
  t.equal(warning.message, 'pod default/legacy-d: 10.51.0.10 is recorded for this pod and for default/legacy-c: the pool status names the other pod, which keeps it; delete this pod so its controller recreates it with a fresh address');
  const outside = await eventually('outside-pool Event on legacy-e', async () => (await events('Pod', 'legacy-e')).find((e) => e.reason === 'SpiderpoolAdoptionBlocked'));
  t.match(outside.message, 'pool no-such-pool does not exist');
  const held = await readPool('legacy-conflict');
  t.same([held.metadata.finalizers?.includes(FINALIZER), held.metadata.annotations?.['underpin.dev/adopted-from-spiderpool']], [true, undefined], 'still held');
  const d = await core.readNamespacedPod({ name: 'legacy-d', namespace: 'default' });
  t.equal(d.metadata?.labels?.['underpin.dev/binding-id'], undefined, 'never a second owner');
  t.equal(JSON.parse(held.status!.allocatedIPs!)['10.51.0.10'].pod, 'default/legacy-c', "a held pool's status is left as Spiderpool wrote it");
});

t.test('new pods never get an adopted address', async (t) => {
  const newPod = (name: string) => ({ ...legacyPod(name, { 'ipam.spidernet.io/ippool': '{"ipv4":["legacy-v4"]}' }), spec: { nodeName: 'nowhere', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } });
  const got: string[] = [];
  for (const name of ['new-1', 'new-2']) {
    await apply(newPod(name));
    const p = await core.readNamespacedPod({ name, namespace: 'default' });
    got.push(decodeBinding(p.metadata!.annotations!['underpin.dev/binding']!)!.interfaces[0]!.ipv4!.address);
  }
  t.same(got.sort(), ['10.50.0.12/24', '10.50.0.13/24'], "the free ones (the gone pod's address is free)");
  const third = await kubectl(['apply', '-f', '-'], stringify(newPod('new-3')));
  t.not(third.code, 0);
  t.match(third.stderr, /no free IPv4 address/);
  const held = await kubectl(['apply', '-f', '-'], stringify({ ...newPod('new-4'), metadata: { ...newPod('new-4').metadata, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["legacy-conflict"]}' } } }));
  t.equal(held.code, 0, held.stderr);
  const p4 = await core.readNamespacedPod({ name: 'new-4', namespace: 'default' });
  t.not(decodeBinding(p4.metadata!.annotations!['underpin.dev/binding']!)!.interfaces[0]!.ipv4!.address, '10.51.0.10/24', "a held pool's recorded address is in use");
  // No kubelet runs for node "nowhere": the pods go at once.
  t.equal((await kubectl(['delete', 'pod', 'new-1', 'new-2', 'new-4', '--grace-period=0', '--force'])).code, 0);
});

if (unusable) t.comment(`the adopted pod on the node simulator skipped: ${unusable}`);
else {
  t.test("an adopted pod's sandbox comes up through Underpin's plugin with its Spiderpool address, and again after a restart", async (t) => {
    for (const round of ['its next sandbox, once adopted', 'after a sandbox restart']) {
      if (round.startsWith('after')) {
        await simulator!.stop();
        await startSimulator();
      }
      const sandbox = await eventually(`legacy-a sandbox (${round})`, async () => {
        const s = simulator!.sandbox(uidA);
        return s?.netns ? s : undefined;
      });
      const links = ipJSON<{ ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(sandbox.netns!, ['addr', 'show']);
      const eth0 = links.find((l) => l.ifname === 'eth0')?.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
      t.same(eth0, ['10.50.0.10/24'], `${round}: the address Spiderpool gave it`);
    }
  });
}

t.test("Spiderpool's auto pool is taken over: its pod adopted, the pool resized on scale, the new pod on it", async (t) => {
  const adopted = await eventually('legacy-web pod adopted', async () => {
    const p = await core.readNamespacedPod({ name: webPod.metadata!.name!, namespace: 'default' });
    return p.metadata?.labels?.['underpin.dev/binding-id'] ? p : undefined;
  });
  t.same(decodeBinding(adopted.metadata!.annotations!['underpin.dev/binding']!)!.interfaces[0]!.ipv4, { address: '10.50.0.20/24', pool: webPool, gateway: '10.50.0.1' });
  await eventually('auto pool released', async () => ((await readPool(webPool)).metadata.annotations?.['underpin.dev/adopted-from-spiderpool'] ? true : undefined));
  t.equal((await kubectl(['scale', 'deployment', 'legacy-web', '--replicas=2'])).code, 0);
  const second = await eventually('the second pod, bound', async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=legacy-web' })).items;
    return pods.find((p) => p.metadata?.uid !== webPod.metadata!.uid && p.metadata?.annotations?.['underpin.dev/binding']);
  });
  const entry = decodeBinding(second.metadata!.annotations!['underpin.dev/binding']!)!.interfaces[0]!.ipv4!;
  t.equal(entry.pool, webPool, 'from the same auto pool: its podAffinity matches the application');
  t.not(entry.address, '10.50.0.20/24', 'never the adopted address');
  const pool = await eventually('the pool holds replicas + 1', async () => {
    const p = (await custom.getClusterCustomObject({ ...SPIDER, plural: 'spiderippools', name: webPool })) as { spec: { ips: string[] } };
    return p.spec.ips.join(',') !== '10.50.0.20-10.50.0.21' ? p : undefined;
  });
  t.comment(`auto pool now ${pool.spec.ips.join(',')}`);
  t.pass('resized by Underpin');
  t.equal((await kubectl(['delete', 'deployment', 'legacy-web', '--wait=true', '--timeout=120s'])).code, 0);
});

t.test('deleting the adopted pods leaves no claim behind', async (t) => {
  t.equal((await kubectl(['delete', 'pod', '--all', '--wait=false'])).code, 0);
  // No kubelet runs for sim-a now: the pods go once their grace period is over or they are force-deleted.
  await kubectl(['delete', 'pod', '--all', '--grace-period=0', '--force']);
  const left = await eventually('no claims left', async () => ((await claimsList()).length === 0 ? true : undefined), { timeoutMs: 180_000 });
  t.ok(left);
  const pool = await eventually('legacy-v4 status empty', async () => {
    const p = await readPool('legacy-v4');
    return p.status?.allocatedIPs === '{}' ? p : undefined;
  });
  t.ok(pool);
});
