// Underpin as users run it: its image built from the Dockerfile, a real node
// (kubelet, containerd, runc) on the local control plane, `kubectl apply -k` of
// manifests/. The controller runs as real pods on the node's network, the API server
// calls the webhook through its Service, the CNI installer DaemonSet places the
// plugins, and annotated pods run as real containers with exactly their bound
// addresses. Then: kubectl logs, a kubelet crash, CNI DEL on delete, a pod that
// bypassed the webhook, system pods in kube-system, no webhook answering, and a
// teardown that leaves the machine as it found it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BINDING_ANNOTATION, decodeBinding } from '../../ipam/binding.js';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { kubectlOrThrow, runKubectl } from '../../hack/control-plane/kubectl.js';
import { eventually } from '../../hack/processes.js';
import { cgroupMounts, KUBELET_SYSCTLS, NODE_MOUNTPOINTS, readSysctls } from '../../hack/real-node/host-changes.js';
import { RealNode, realNodeSockets, realNodeUnavailable, REAL_NODE_NAME } from '../../hack/real-node/real-node.js';
import { startUnderpinOnRealNode, type UnderpinOnRealNode } from '../../hack/real-node/underpin-on-real-node.js';
import { BUSYBOX_IMAGE } from '../../hack/images/base-images.js';
import { defaultNetwork, REAL_NODE_NETWORK } from '../../hack/real-node/node-config.js';

const unavailable = realNodeUnavailable() ?? (existsSync('/usr/bin/buildah') ? undefined : '/usr/bin/buildah is missing: apt-get install buildah');
if (unavailable) {
  t.comment(`real-node tests skipped: ${unavailable}`);
  process.exit(0);
}

/** What the machine looks like outside the node: compared after teardown. */
function hostSnapshot() {
  const sh = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' });
  return {
    links: sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter(Boolean).sort(),
    netns: sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean).sort(),
    routes: sh('ip', ['route', 'show', 'table', 'all']).split('\n').sort(),
    iptables: ['iptables-save', 'ip6tables-save'].map((tool) => (existsSync(`/usr/sbin/${tool}`) ? sh(tool, []).split('\n').filter((l) => !l.startsWith('#')).join('\n') : '')),
    sysctls: readSysctls(),
    mountpoints: NODE_MOUNTPOINTS.filter((dir) => existsSync(dir)),
  };
}

// The machine's one real node may be another test file's right now (the demo's):
// the machine is judged before and after only once it is free.
await RealNode.waitUntilFree(REAL_NODE_NAME, 600_000, (line) => t.comment(line));
const before = hostSnapshot();
const dir = mkdtempSync(join(tmpdir(), 'underpin-real-node-'));
const plane = await LocalControlPlane.start({ dir: join(dir, 'cluster'), clusterEgressSocket: realNodeSockets().egress });
const kubectl = (args: string[], input?: string) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
const kubectlOk = (args: string[], input?: string) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args, input);
let onNode: UnderpinOnRealNode | undefined;
t.teardown(async () => {
  await onNode?.node.stop().catch(() => {});
  await plane.stop({ removeData: true });
  rmSync(dir, { recursive: true, force: true });
});

interface PodJson {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; hostNetwork?: boolean };
  status: { phase?: string; podIP?: string; containerStatuses?: { containerID?: string; restartCount: number; ready: boolean }[] };
}
const podsOf = async (selector: string, namespace = 'default'): Promise<PodJson[]> =>
  (JSON.parse(await kubectlOk(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json'])).items as PodJson[]).filter((p) => !p.metadata.deletionTimestamp);
const runningPods = (selector: string, count: number, namespace = 'default') =>
  eventually(`${count} pods ${selector} Running`, async () => {
    const pods = await podsOf(selector, namespace);
    return pods.length === count && pods.every((p) => p.status.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready)) && pods;
  });
const execIn = (pod: string, args: string[], namespace = 'default') => kubectlOk(['-n', namespace, 'exec', pod, '--', ...args]);
const globalIPv4 = (addr: string) => [...addr.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+) .*scope global/g)].map((m) => m[1]);

const pool = (name: string, spec: Record<string, unknown>) => stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
const deployment = (name: string, namespace: string, replicas: number, annotations: Record<string, string>, extra: Record<string, unknown> = {}) =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }], ...extra },
      },
    },
  });

t.test('kubectl apply -k manifests/ on a real node: the controller runs as pods from the image', async (t) => {
  onNode = await startUnderpinOnRealNode(plane, { dir: join(dir, 'underpin'), log: (line) => t.comment(line) });
  const { timings } = onNode;
  t.comment(`images ${(timings.imagesMs / 1000).toFixed(1)} s, node start → Ready ${(timings.nodeReadyMs / 1000).toFixed(1)} s, apply -k → controller Ready ${(timings.controllerReadyMs / 1000).toFixed(1)} s, → CNI installed ${(timings.cniInstalledMs / 1000).toFixed(1)} s`);
  const [controller] = await runningPods('app.kubernetes.io/component=controller', 1, 'underpin-system');
  t.equal(controller!.spec.nodeName, REAL_NODE_NAME, 'the controller pod runs on the real node');
  t.equal(controller!.spec.hostNetwork, true, 'on the node\'s network: it needs no address from the CNI it serves');
  const images = await kubectlOk(['-n', 'underpin-system', 'get', 'pods', '-o', 'jsonpath={.items[*].status.containerStatuses[*].image}']);
  t.match(images, /localhost\/underpin:dev/, 'from the image built here');
  // The API server reached the webhook through its Service: a pool is defaulted (a mutation).
  await kubectlOk(['apply', '-f', '-'], pool('real-a', { subnet: '10.6.0.1/16', ips: ['10.6.0.10-10.6.0.20'], gateway: '10.6.0.1' }));
  t.equal(await kubectlOk(['get', 'spiderippool', 'real-a', '-o', 'jsonpath={.spec.subnet}']), '10.6.0.0/16', 'the mutating webhook defaulted the subnet');
  const denied = await kubectl(['apply', '-f', '-'], pool('real-bad', { subnet: '10.6.0.0/16', ips: ['10.6.0.300'] }));
  t.not(denied.code, 0);
  t.match(denied.stderr, /spec\.ips\[0\]: "10\.6\.0\.300" is not an IPv4 address/, 'the validating webhook answers with its message');
  const placed = await onNode.node.exec(['ls', '/opt/cni/bin', '/etc/cni/net.d/underpin.d']);
  for (const file of ['underpin', 'spiderpool', 'underpin-coordinator', 'coordinator', 'underpin.kubeconfig']) t.match(placed, new RegExp(`^${file}$`, 'm'), `the CNI installer placed ${file}`);
});

t.test('the node\'s network is the NetworkAttachmentDefinition Underpin renders for its SpiderMultusConfig', async (t) => {
  await kubectlOk(['apply', '-f', '-'], stringify(REAL_NODE_NETWORK));
  const nad = await eventually('NetworkAttachmentDefinition default/underlay', async () => {
    const r = await kubectl(['-n', 'default', 'get', 'network-attachment-definitions.k8s.cni.cncf.io', 'underlay', '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as { metadata: { ownerReferences?: { kind: string }[] }; spec: { config: string } }) : undefined;
  });
  t.same(JSON.parse(nad.spec.config), defaultNetwork(), 'rendered by the reconciler: the conflist containerd runs on this node');
  t.match(nad.metadata.ownerReferences, [{ kind: 'SpiderMultusConfig' }], 'owned by the SpiderMultusConfig');
});

t.test('SpiderCoordinator default: made by the reconciler in its pod, its status read from the cluster', async (t) => {
  const serviceCIDRs = JSON.parse(await kubectlOk(['get', 'servicecidrs.networking.k8s.io', 'kubernetes', '-o', 'jsonpath={.spec.cidrs}'])) as string[];
  const status = await eventually('SpiderCoordinator default Synced', async () => {
    const r = await kubectl(['get', 'spidercoordinator', 'default', '-o', 'jsonpath={.status}']);
    const s = r.code === 0 && r.stdout ? (JSON.parse(r.stdout) as { phase?: string; serviceCIDR?: string[] }) : undefined;
    return s?.phase === 'Synced' ? s : undefined;
  });
  t.same(status.serviceCIDR, serviceCIDRs, 'the Service CIDRs of the API server\'s ServiceCIDR object');
});

t.test('an annotated Deployment runs as real containers with exactly their bound addresses', async (t) => {
  const created = Date.now();
  // Multus would attach default/underlay; on this node containerd runs that same config as its default network.
  await kubectlOk(['apply', '-f', '-'], deployment('web', 'default', 2, { 'ipam.spidernet.io/ippool': '{"ipv4":["real-a"]}', 'v1.multus-cni.io/default-network': 'default/underlay' }));
  const pods = await runningPods('app=web', 2);
  t.comment(`Deployment create → 2 pods Running on ${REAL_NODE_NAME}: ${((Date.now() - created) / 1000).toFixed(1)} s`);
  for (const pod of pods) {
    const eth0 = decodeBinding(pod.metadata.annotations?.[BINDING_ANNOTATION] ?? '')?.interfaces.find((i) => i.interface === 'eth0');
    t.ok(eth0?.ipv4, `${pod.metadata.name} is bound`);
    t.equal(pod.spec.nodeName, REAL_NODE_NAME);
    t.equal(pod.status.podIP, eth0!.ipv4!.address.split('/')[0], 'the pod IP kubelet reports is the bound address');
    const addr = await execIn(pod.metadata.name, ['ip', '-4', 'addr', 'show']);
    t.same(globalIPv4(addr), [eth0!.ipv4!.address], `inside ${pod.metadata.name}: exactly the bound address`);
    const routes = await execIn(pod.metadata.name, ['ip', '-4', 'route', 'show']);
    t.match(routes, /^default via 10\.6\.0\.1 dev eth0/m, 'default route through the pool gateway');
    const rules = await execIn(pod.metadata.name, ['ip', 'rule', 'show']);
    t.match(rules, /lookup main/, 'the policy rules are the coordinator\'s (one NIC: main only)');
  }
  // The two containers reach each other over the node's underlay (macvlan bridge mode), nothing else.
  const [a, b] = pods as [PodJson, PodJson];
  t.match(await execIn(a.metadata.name, ['ping', '-c', '1', '-W', '2', b.status.podIP!]), /1 packets received/, 'pod to pod on the underlay');
  const logs = await kubectlOk(['-n', 'underpin-system', 'logs', 'deploy/underpin-controller', '-c', 'webhook', '--tail=5']);
  t.ok(logs.length > 0, 'kubectl logs reaches the kubelet through the API server\'s cluster egress');
});

t.test('kubelet crashes and restarts: running pods keep their containers and addresses', async (t) => {
  const before = await runningPods('app=web', 2);
  const crashedAt = new Date();
  await onNode!.node.crashKubelet();
  await eventually('the new kubelet renews the node lease', async () => {
    const renewed = await kubectlOk(['-n', 'kube-node-lease', 'get', 'lease', REAL_NODE_NAME, '-o', 'jsonpath={.spec.renewTime}']);
    return new Date(renewed) > crashedAt;
  });
  // One pod sync period (syncFrequency 10 s) and then some: the new kubelet has looked at every pod.
  await new Promise((resolve) => setTimeout(resolve, 15_000));
  await onNode!.node.waitReady();
  const after = await runningPods('app=web', 2);
  t.same(
    after.map((p) => [p.metadata.uid, p.status.podIP, p.status.containerStatuses?.[0]?.containerID, p.status.containerStatuses?.[0]?.restartCount]),
    before.map((p) => [p.metadata.uid, p.status.podIP, p.status.containerStatuses?.[0]?.containerID, p.status.containerStatuses?.[0]?.restartCount]),
    'same pods, same containers, no restart, same addresses',
  );
});

t.test('deleting a pod runs CNI DEL: its sandbox network namespace goes, its claim is released', async (t) => {
  const [victim] = await podsOf('app=web');
  const address = victim!.status.podIP!;
  const sandboxes = async () => (await onNode!.node.exec(['ip', 'netns', 'list'])).split('\n').filter(Boolean).length;
  const sandboxesBefore = await sandboxes();
  await kubectlOk(['delete', 'pod', victim!.metadata.name, '--wait=true', '--timeout=120s']);
  await eventually('replacement Running', async () => (await podsOf('app=web')).filter((p) => p.status.phase === 'Running' && p.metadata.name !== victim!.metadata.name).length === 2);
  t.equal(await sandboxes(), sandboxesBefore, 'one sandbox torn down, one made: as many network namespaces as pods');
  await eventually('claim released', async () => (await kubectl(['get', 'ipclaim', address])).code !== 0 || !(await kubectlOk(['get', 'ipclaim', address, '-o', 'jsonpath={.status.podUID}'])).includes(victim!.metadata.uid));
  t.pass(`the claim of ${address} no longer names the deleted pod`);
  const containerd = readFileSync(join(dir, 'underpin', 'node', 'logs', 'containerd.log'), 'utf8');
  t.match(containerd, new RegExp(`TearDown network for sandbox|StopPodSandbox for "[0-9a-f]+" returns successfully`), 'containerd tore the sandbox network down (CNI DEL)');
});

t.test('a pod that bypassed the webhook is refused by the plugin, with its message in FailedCreatePodSandBox', async (t) => {
  await kubectlOk(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bypass', namespace: 'default', labels: { 'underpin.dev/ignore': 'true' } }, spec: { containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }] } }));
  const message = await eventually('FailedCreatePodSandBox', async () => {
    const events = JSON.parse(await kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=bypass,reason=FailedCreatePodSandBox', '-o', 'json'])).items as { message: string }[];
    return events[0]?.message;
  });
  t.match(message, /underpin/i, 'the event carries the underpin plugin\'s words');
  t.match(message, /binding|webhook/, 'saying why: the pod has no binding from the webhook');
  t.comment(message);
  await kubectlOk(['delete', 'pod', 'bypass', '--wait=false']);
});

t.test('system pods: a CoreDNS-like Deployment in kube-system gets addresses; hostNetwork pods are never bound', async (t) => {
  await kubectlOk(['apply', '-f', '-'], pool('system', { subnet: '10.6.0.0/16', ips: ['10.6.0.30-10.6.0.35'], gateway: '10.6.0.1' }));
  await kubectlOk(['annotate', '--overwrite', 'namespace', 'kube-system', 'ipam.spidernet.io/default-ipv4-ippool=["system"]']);
  await kubectlOk(['apply', '-f', '-'], deployment('dns', 'kube-system', 1, {}));
  const [dns] = await runningPods('app=dns', 1, 'kube-system');
  t.match(dns!.status.podIP, /^10\.6\.0\.3[0-5]$/, 'the kube-system pod got an address from its namespace default pool');
  await kubectlOk(['apply', '-f', '-'], deployment('hostnet', 'default', 1, { 'ipam.spidernet.io/ippool': '{"ipv4":["real-a"]}' }, { hostNetwork: true }));
  const [hostnet] = await runningPods('app=hostnet', 1);
  t.equal(hostnet!.metadata.annotations?.[BINDING_ANNOTATION], undefined, 'a hostNetwork pod carries no binding, even when it names a pool');
});

t.test('while no webhook answers: hostNetwork pods and workloads start, others are refused with the API server\'s message', async (t) => {
  await kubectlOk(['-n', 'underpin-system', 'scale', 'deployment/underpin-controller', '--replicas=0']);
  await eventually('controller gone', async () => (await podsOf('app.kubernetes.io/component=controller', 'underpin-system')).length === 0);
  const refused = await eventually('a pod refused', async () => {
    const r = await kubectl(['run', `refused-${Date.now()}`, `--image=${BUSYBOX_IMAGE}`, '--', 'sleep', '3600']);
    return r.code !== 0 && r.stderr;
  });
  t.match(refused, /failed calling webhook "pods\.mutate\.underpin\.dev"/, 'a pod: the API server names the webhook');
  t.comment(refused.trim());
  const workload = await kubectl(['apply', '-f', '-'], deployment('later', 'default', 1, {}));
  t.not(workload.code, 0);
  t.match(workload.stderr, /failed calling webhook "workloads\.validate\.underpin\.dev"/, 'a workload of pod-network pods: refused at apply, naming the webhook');
  // (kubectl scale would be refused: a Scale object does not say whether the pods are hostNetwork.)
  await kubectlOk(['apply', '-f', '-'], deployment('agent', 'kube-system', 1, {}, { hostNetwork: true }));
  await runningPods('app=agent', 1, 'kube-system');
  t.pass('a hostNetwork workload (a node agent in kube-system) is admitted and its pod runs');
  await kubectlOk(['-n', 'underpin-system', 'scale', 'deployment/underpin-controller', '--replicas=1']);
  await runningPods('app.kubernetes.io/component=controller', 1, 'underpin-system');
  await eventually('pods admitted again', async () => (await kubectl(['run', 'after', `--image=${BUSYBOX_IMAGE}`, '--', 'sleep', '3600'])).code === 0);
  t.pass('and once the controller is back, pods are admitted again');
});

/** Every process in the mount or network namespace of `pid`, or naming `dir` in its arguments. */
function processesSharing(namespaces: string[], dir: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .filter((pid) => {
      try {
        const own = ['mnt', 'net'].map((kind) => readlinkSync(`/proc/${pid}/ns/${kind}`));
        return own.some((ns) => namespaces.includes(ns)) || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
}

t.test('teardown leaves the machine as it found it', async (t) => {
  const init = readFileSync(join(onNode!.node.state.dir, 'init.pid'), 'utf8').trim();
  const namespaces = ['mnt', 'net'].map((kind) => readlinkSync(`/proc/${init}/ns/${kind}`));
  t.not(namespaces[0], readlinkSync('/proc/self/ns/mnt'), 'the node had a mount namespace of its own');
  await onNode!.node.stop();
  onNode = undefined;
  const after = hostSnapshot();
  t.same(after.links, before.links, 'links');
  t.same(after.netns, before.netns, 'network namespaces');
  t.same(after.routes, before.routes, 'routes');
  t.same(after.iptables, before.iptables, 'iptables and ip6tables rules');
  t.same(after.sysctls, before.sysctls, `sysctls ${KUBELET_SYSCTLS.join(', ')}`);
  t.same(after.mountpoints, before.mountpoints, `${NODE_MOUNTPOINTS.join(', ')} as they were`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.notOk(mounts.includes(dir), 'no mount of the node left');
  t.ok(cgroupMounts().every((mount) => !existsSync(join(mount, `underpin-${REAL_NODE_NAME}`))), 'no cgroup left');
  t.same(processesSharing(namespaces, join(dir, 'underpin')), [], 'no process left: none in the node\'s namespaces, none naming its directory');
});
