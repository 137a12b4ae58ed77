// Pods created through the real control plane reach Running on simulated nodes with
// the addresses of their binding: the node simulator runs the real CNI chain
// (Debian's macvlan on a per-node uplink, `underpin` IPAM with the read-only CNI
// identity, `underpin-coordinator`) in a network namespace per pod, for the seed
// scenario's two-NIC Deployment; deleting pods removes their namespaces; stopping
// leaves nothing of the simulator's prefix in the host.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { decodeBinding } from '../../ipam/binding.js';
import { addNetns, ip, leftovers, listNetns } from '../../hack/node-simulator/host.js';
import { podDelegates, readNetworkList } from '../../hack/node-simulator/multus.js';
import { NodeSimulator } from '../../hack/node-simulator/node-simulator.js';
import { eventually } from '../../hack/processes.js';
import { repoPath } from '../../hack/repo-paths.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { canUseNetns, ipJSON } from '../cni/netns-lab.js';
import { pluginBinaries } from '../cni/plugin-binaries.js';
import { startLocalCluster } from './local-cluster.js';

// Multus's reading, without a cluster: the forms of the annotations and of spec.config.
t.test('the pod\'s networks are read as Multus reads them', async (t) => {
  const nad = (namespace: string, name: string, config: unknown) => ({ metadata: { namespace, name }, spec: { config: JSON.stringify(config) } });
  const store = new Map([
    ['kube-system/main', nad('kube-system', 'main', { cniVersion: '1.0.0', type: 'macvlan', master: 'uplink0', ipam: { type: 'spiderpool' } })],
    ['shop/storage', nad('shop', 'storage', { cniVersion: '0.4.0', name: 'stor', plugins: [{ type: 'ipvlan', master: 'uplink1' }, { type: 'coordinator' }] })],
    ['other/backup', nad('other', 'backup', { cniVersion: '1.0.0', type: 'macvlan', master: 'uplink2' })],
  ]);
  const lookup = async (ref: { namespace: string; name: string }) => store.get(`${ref.namespace}/${ref.name}`);
  const pod = (annotations: Record<string, string>) => ({ metadata: { namespace: 'shop', name: 'web', annotations } });

  const short = await podDelegates(pod({ 'v1.multus-cni.io/default-network': 'main', 'k8s.v1.cni.cncf.io/networks': 'storage, other/backup@bk0' }), lookup);
  t.same(short.map((d) => [d.ifname, d.network, d.list.name, d.list.plugins.map((p) => p.type)]), [
    ['eth0', 'kube-system/main', 'main', ['macvlan']],
    ['net1', 'shop/storage', 'stor', ['ipvlan', 'coordinator']],
    ['bk0', 'other/backup', 'backup', ['macvlan']],
  ], 'short form: default network in kube-system, networks in the pod\'s namespace unless named, @ifname, net<position>; a single configuration is a list of one named after its definition');
  const json = await podDelegates(pod({ 'k8s.v1.cni.cncf.io/networks': '[{"name":"backup","namespace":"other","interface":"bk1"},{"name":"storage"}]' }), lookup);
  t.same(json.map((d) => [d.ifname, d.network]), [['bk1', 'other/backup'], ['net2', 'shop/storage']], 'JSON form; no eth0 without a default network');
  const withCluster = await podDelegates(pod({}), lookup, { namespace: 'kube-system', name: 'main' });
  t.same(withCluster.map((d) => d.ifname), ['eth0'], 'the cluster network gives eth0 to a pod that names none');

  await t.rejects(podDelegates(pod({ 'k8s.v1.cni.cncf.io/networks': 'missing' }), lookup), /NetworkAttachmentDefinition shop\/missing \(for net1\) does not exist; create it/);
  await t.rejects(podDelegates(pod({ 'k8s.v1.cni.cncf.io/networks': 'a/b/c' }), lookup), /annotation k8s\.v1\.cni\.cncf\.io\/networks: "a\/b\/c" has more than one "\/"/);
  t.throws(() => readNetworkList(nad('x', 'y', { type: 'macvlan' })), /NetworkAttachmentDefinition x\/y: spec\.config cniVersion: "cniVersion" is missing/);
  t.throws(() => readNetworkList({ metadata: { namespace: 'x', name: 'y' }, spec: {} }), /has no spec\.config/);
});

const unusable = canUseNetns();
if (unusable) t.comment(`network namespace tests skipped: ${unusable}`);
else await suite();

async function suite(): Promise<void> {
  const started = Date.now();
  const cluster = await startLocalCluster(t);
  const bins = await pluginBinaries();
  const workDir = mkdtempSync(join(tmpdir(), 'underpin-node-sim-'));
  const kc = loadKubeConfig(cluster.plane.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const simulator = new NodeSimulator({ kubeConfig: kc, nodes: ['sim-a', 'sim-b'], cniBinDir: bins.dir, workDir, log: (line) => t.comment(line) });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await simulator.stop();
    bins.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });
  await simulator.start();
  t.comment(`control plane and simulator up in ${((Date.now() - started) / 1000).toFixed(1)} s (prefix ${simulator.prefix})`);
  await cluster.kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);

  const appPods = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=test-app' })).items;
  const running = (count: number) => async () => {
    const pods = (await appPods()).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === count && pods.every((p) => p.status?.phase === 'Running' && p.status.podIPs?.length) ? pods : undefined;
  };
  /** What a stalled wait leaves to read: the pods, the ReplicaSets' conditions, the claims. */
  const stateOfTestApp = async () => {
    const pods = (await appPods()).map((p) => `${p.metadata!.name} ${p.status?.phase}${p.metadata?.deletionTimestamp ? ' terminating' : ''} on ${p.spec?.nodeName ?? '-'}`);
    const sets = await cluster.kubectl(['get', 'replicasets', '-l', 'app=test-app', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.replicas}/{.spec.replicas} {.status.conditions}{"\\n"}{end}']);
    const claims = await cluster.kubectl(['get', 'ipclaims', '-o', 'wide']);
    const events = await cluster.kubectl(['get', 'events', '-n', 'default', '--sort-by=.lastTimestamp']);
    return [`pods: ${pods.join('; ')}`, `replicasets: ${sets.stdout}`, `claims:\n${claims.stdout}`, `events (last 15):\n${events.stdout.split('\n').slice(-16).join('\n')}`].join('\n');
  };
  const ownNetns = async () => (await listNetns()).filter((n) => simulator.names.ownsNetns(n) && n !== simulator.names.fabricNetns).sort();

  /** Global addresses per interface inside the pod's namespace, as `ip` shows them. */
  const addressesIn = (netns: string) => {
    const links = ipJSON<{ ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(netns, ['addr', 'show']);
    return Object.fromEntries(links.map((l) => [l.ifname, l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)]));
  };

  function checkPod(t: Test, pod: V1Pod): string {
    const name = pod.metadata!.name!;
    const binding = decodeBinding(pod.metadata?.annotations?.['underpin.dev/binding'] ?? '');
    t.ok(binding, `${name} has a binding`);
    const sandbox = simulator.sandbox(pod.metadata!.uid!);
    t.ok(sandbox?.netns, `${name} has a network namespace`);
    const netns = sandbox!.netns!;
    t.ok(netns.startsWith(`${simulator.prefix}-default-${name}-`), `namespace ${netns} carries the simulator's prefix and the pod's name`);
    const eth0 = binding!.interfaces.find((i) => i.interface === 'eth0')!.ipv4!.address;
    const net1 = binding!.interfaces.find((i) => i.interface === 'net1')!.ipv4!.address;
    t.same(addressesIn(netns), { lo: [], eth0: [eth0], net1: [net1] }, `${name}: eth0 ${eth0} and net1 ${net1}, as bound, and nothing else`);
    t.same(pod.status?.podIPs, [{ ip: eth0.split('/')[0] }], `${name}: status.podIPs is eth0's address`);
    t.equal(pod.status?.podIP, eth0.split('/')[0]);
    // Multus's network-status, as the simulator (playing Multus) writes it with the status.
    const status = JSON.parse(pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]') as { interface: string; ips: string[]; mac?: string; default?: boolean }[];
    t.same(status.map((s) => [s.interface, s.ips, Boolean(s.default)]), [['eth0', [eth0.split('/')[0]], true], ['net1', [net1.split('/')[0]], false]], `${name}: network-status lists eth0 (default) and net1 with their addresses`);
    t.ok(status.every((s) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(s.mac ?? '')), `${name}: network-status carries each NIC's MAC`);
    const rules = ipJSON<{ src?: string; table?: string }[]>(netns, ['-4', 'rule', 'show']);
    t.ok(rules.some((r) => r.src === net1.split('/')[0] && r.table === '100'), `${name}: rule from ${net1.split('/')[0]} lookup 100 (the coordinator's, for net1)`);
    const table100 = ipJSON<{ dst: string; gateway?: string; dev: string }[]>(netns, ['-4', 'route', 'show', 'table', '100']);
    t.ok(table100.some((r) => r.dst === 'default' && r.gateway === '10.7.0.1' && r.dev === 'net1'), `${name}: table 100 routes by the net1 gateway`);
    // The simulator gives each network's gateway to its bridge in the fabric namespace: the pod reaches it, as on a real underlay.
    for (const [nic, gateway] of [['eth0', '10.6.0.1'], ['net1', '10.7.0.1']]) {
      const ping = spawnSync('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', '-I', nic!, gateway!], { encoding: 'utf8' });
      t.equal(ping.status, 0, `${name}: pings its ${nic} gateway ${gateway} ${ping.status === 0 ? '' : ping.stdout + ping.stderr}`);
    }
    const main = ipJSON<{ dst: string; gateway?: string; dev: string }[]>(netns, ['-4', 'route', 'show']);
    t.same(main.filter((r) => r.dst === 'default').map((r) => [r.gateway, r.dev]), [['10.6.0.1', 'eth0']], `${name}: the default route is eth0's`);
    return netns;
  }

  t.test('the seed Deployment (two NICs: macvlan + underpin + coordinator) runs on simulated nodes with the bound addresses', async (t) => {
    const applied = await cluster.kubectl(['apply', '-f', repoPath('hack', 'dev', 'demo', 'seed.yaml')]);
    t.equal(applied.code, 0, applied.stderr);
    const startedAt = Date.now();
    const pods = await eventually('2 Running pods', running(2));
    t.comment(`2 pods Running in ${((Date.now() - startedAt) / 1000).toFixed(1)} s after kubectl apply`);
    const first = pods.map((p) => checkPod(t, p));
    t.same(await ownNetns(), [...first].sort(), 'one namespace per pod, nothing more');
    t.ok(pods.every((p) => ['sim-a', 'sim-b'].includes(p.spec!.nodeName!)), 'scheduled to the simulated nodes');

    // Replacements get namespaces of their own; the deleted pods' go.
    t.equal((await cluster.kubectl(['delete', 'pods', '-l', 'app=test-app', '--wait=false'])).code, 0);
    // Two stages under load: the old pods' sandboxes go and their claims are released,
    // then the ReplicaSet (prompted by the reconciler) gets the freed addresses.
    const replaced = await eventually('2 new Running pods', async () => {
      const now = await running(2)();
      return now && now.every((p) => !pods.some((old) => old.metadata!.uid === p.metadata!.uid)) ? now : undefined;
    }, { timeoutMs: 240_000 }).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await stateOfTestApp()}`, { cause: error });
    });
    const second = replaced.map((p) => checkPod(t, p));
    await eventually('old namespaces removed', async () => (await ownNetns()).join() === [...second].sort().join());
    t.pass('the deleted pods\' namespaces are gone; the replacements\' are there');

    t.equal((await cluster.kubectl(['delete', 'deployment', 'test-app'])).code, 0);
    await eventually('every pod gone', async () => (await appPods()).length === 0 && (await ownNetns()).length === 0);
    t.pass('the Deployment deleted: no pod and no pod namespace left');
  });

  t.test("SpiderCoordinator default's podDefaultRouteNIC applies to networks that say nothing (read with the CNI identity)", async (t) => {
    const patch = (nic: string) => cluster.kubectl(['patch', 'scc', 'default', '--type=merge', '-p', JSON.stringify({ spec: { podDefaultRouteNIC: nic } })]);
    await eventually('SpiderCoordinator default created by the reconciler', async () => (await cluster.kubectl(['get', 'scc', 'default'])).code === 0);
    // Whatever the first test left (it stops at its first failure), this one starts from no Deployment.
    await cluster.kubectl(['delete', 'deployment', 'test-app', '--ignore-not-found']);
    await eventually('no test-app pod left', async () => (await appPods()).length === 0);
    const patched = await patch('net1');
    t.equal(patched.code, 0, patched.stderr);
    t.teardown(async () => {
      await cluster.kubectl(['delete', 'deployment', 'test-app', '--ignore-not-found']);
      await patch('');
    });
    // The first test's auto pools go with its Deployment, after the fact: apply once they have.
    await eventually('the earlier auto pools gone, the seed applied again', async () => (await cluster.kubectl(['apply', '-f', repoPath('hack', 'dev', 'demo', 'seed.yaml')])).code === 0, { timeoutMs: 120_000, intervalMs: 2000 });
    const pods = await eventually('2 Running pods', running(2));
    for (const pod of pods) {
      const netns = simulator.sandbox(pod.metadata!.uid!)!.netns!;
      const main = ipJSON<{ dst: string; gateway?: string; dev: string }[]>(netns, ['-4', 'route', 'show']);
      t.same(main.filter((r) => r.dst === 'default').map((r) => [r.gateway, r.dev]), [['10.7.0.1', 'net1']], `${pod.metadata!.name}: the default route is net1's, as SpiderCoordinator default says`);
    }
    t.equal((await cluster.kubectl(['delete', 'deployment', 'test-app'])).code, 0);
    await eventually('every pod gone', async () => (await appPods()).length === 0 && (await ownNetns()).length === 0);
  });

  t.test('a network the simulator cannot make: a Warning Event on the pod says why', async (t) => {
    const nad = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'host-bridge', namespace: 'default' },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.9.0.0/24' } }) },
    };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'on-bridge', namespace: 'default', annotations: { 'v1.multus-cni.io/default-network': 'default/host-bridge' } },
      spec: { nodeName: 'sim-a', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
    };
    const applied = await cluster.kubectl(['apply', '-f', '-'], `${stringify(nad)}---\n${stringify(pod)}`);
    t.equal(applied.code, 0, applied.stderr);
    const message = await eventually('a FailedCreatePodSandBox event', async () => {
      const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=on-bridge,reason=FailedCreatePodSandBox' });
      return events.items[0]?.message;
    });
    t.match(message, /NetworkAttachmentDefinition default\/host-bridge: plugin type "bridge" is not supported/);
    t.equal((await core.readNamespacedPod({ name: 'on-bridge', namespace: 'default' })).status?.phase, 'Pending', 'the pod stays Pending');
    t.same(await ownNetns(), [], 'no namespace left from the failed attempt');
    t.equal((await cluster.kubectl(['delete', 'pod', 'on-bridge', '--wait=true', '--timeout=120s'])).code, 0, 'and it can be deleted');
  });

  t.test('stop() leaves no namespace or link of the prefix; a new simulator cleans up a crashed one\'s', async (t) => {
    const before = await leftovers(simulator.names);
    t.ok(before.netns.includes(simulator.names.fabricNetns), 'the fabric namespace exists while running');
    t.ok(before.links.length >= 2, `uplinks exist while running (${before.links.join(', ')})`);
    await simulator.stop();
    stopped = true;
    t.same(await leftovers(simulator.names), { netns: [], links: [] }, 'nothing of the prefix left');

    // What a SIGKILLed simulator would leave: a pod namespace and an uplink.
    const stale = { netns: `${simulator.prefix}-default-gone-0000abcd`, link: simulator.names.uplink(1, 0) };
    const again = new NodeSimulator({ kubeConfig: kc, nodes: ['sim-a', 'sim-b'], cniBinDir: bins.dir, workDir, prefix: simulator.prefix });
    try {
      await addNetns(stale.netns);
      await ip(['link', 'add', stale.link, 'type', 'veth', 'peer', 'name', 'eth9', 'netns', stale.netns]);
      await again.start();
      t.same(await leftovers(simulator.names), { netns: [], links: [] }, 'start() removed the namespace and link an earlier run of its prefix left');
    } finally {
      await again.stop(); // removes them too if start() did not get that far
    }
  });
}
