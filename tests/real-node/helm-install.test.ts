// `helm install` of charts/underpin on the real node gives the same running system as
// `kubectl apply -k manifests/` (tests/real-node/install.test.ts): the controller pod
// runs from the image and becomes ready, a pod gets its binding and its address; then
// `helm upgrade` with a changed setting rolls the controller, and `helm uninstall`
// leaves none of the release's objects (the CRDs stay, as Helm keeps crds/).
// The cluster it is installed into is a Spiderpool one: a pool with Spiderpool's
// finalizer and `status.allocatedIPs`, and a pod Spiderpool addressed whose sandbox
// cannot start without Spiderpool's agent; after `helm install` the pod is adopted
// and runs as a real container with the address Spiderpool recorded.
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { BINDING_ANNOTATION, decodeBinding } from '../../ipam/binding.js';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { kubectlOrThrow, runKubectl } from '../../hack/control-plane/kubectl.js';
import { eventually } from '../../hack/processes.js';
import { helmOn, HELM_RELEASE, HELM_RELEASE_NAMESPACE, writeRealNodeValues } from '../../hack/real-node/helm-install.js';
import { RealNode, realNodeSockets, realNodeUnavailable, REAL_NODE_NAME } from '../../hack/real-node/real-node.js';
import { startUnderpinOnRealNode, type UnderpinOnRealNode } from '../../hack/real-node/underpin-on-real-node.js';
import { BUSYBOX_IMAGE } from '../../hack/images/base-images.js';
import { repoPath } from '../../hack/repo-paths.js';
import { REAL_NODE_NETWORK } from '../../hack/real-node/node-config.js';

const unavailable = realNodeUnavailable() ?? (existsSync('/usr/bin/buildah') ? undefined : '/usr/bin/buildah is missing: apt-get install buildah');
if (unavailable) {
  t.comment(`real-node tests skipped: ${unavailable}`);
  process.exit(0);
}

await RealNode.waitUntilFree(REAL_NODE_NAME, 600_000, (line) => t.comment(line));
const dir = mkdtempSync(join(tmpdir(), 'underpin-real-node-helm-'));
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
  metadata: { name: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; containerStatuses?: { ready: boolean }[] };
}
const readyPods = (selector: string, namespace: string) =>
  eventually(`a Ready pod ${selector}`, async () => {
    const pods = (JSON.parse(await kubectlOk(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json'])).items as PodJson[]).filter((p) => !p.metadata.deletionTimestamp);
    return pods.length === 1 && pods[0]!.status.phase === 'Running' && pods[0]!.status.containerStatuses?.every((c) => c.ready) && pods;
  });

const SPIDERPOOL_ERA_ADDRESS = '10.6.0.30';
/** Spiderpool's CRDs (Underpin serves the same ones), a pool it holds and a pod it addressed, before Underpin is installed. */
async function spiderpoolCluster(): Promise<void> {
  await kubectlOk(['apply', '--server-side', '-k', repoPath('manifests', 'crds')]);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
  await kubectlOk(['apply', '-f', '-'], stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'spiderpool-era', finalizers: ['spiderpool.spidernet.io'] }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.30-10.6.0.31'], gateway: '10.6.0.1' } }));
  await kubectlOk(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
  await kubectlOk(['apply', '-f', '-'], stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'spiderpool-era-app', namespace: 'default', labels: { app: 'spiderpool-era-app' } },
    spec: { nodeName: REAL_NODE_NAME, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }] },
  }));
  const uid = (await kubectlOk(['-n', 'default', 'get', 'pod', 'spiderpool-era-app', '-o', 'jsonpath={.metadata.uid}'])).trim();
  const status = { allocatedIPCount: 1, totalIPCount: 2, allocatedIPs: JSON.stringify({ [SPIDERPOOL_ERA_ADDRESS]: { interface: 'eth0', pod: 'default/spiderpool-era-app', podUid: uid } }) };
  await kubectlOk(['patch', 'spiderippool', 'spiderpool-era', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

t.test('helm install: the controller runs from the image, a pod gets its binding and address', async (t) => {
  onNode = await startUnderpinOnRealNode(plane, { dir: join(dir, 'underpin'), installer: 'helm', beforeInstall: spiderpoolCluster, log: (line) => t.comment(line) });
  t.comment(`helm install → controller Ready ${(onNode.timings.controllerReadyMs / 1000).toFixed(1)} s, → CNI installed ${(onNode.timings.cniInstalledMs / 1000).toFixed(1)} s`);
  const [controller] = await readyPods('app.kubernetes.io/component=controller', 'underpin-system');
  t.equal(controller!.spec.nodeName, REAL_NODE_NAME, 'the controller pod runs on the real node');
  // The node's network, as install.test.ts: the reconciler renders default/underlay from it.
  await kubectlOk(['apply', '-f', '-'], stringify(REAL_NODE_NETWORK));
  await eventually('NetworkAttachmentDefinition default/underlay', async () => (await kubectl(['-n', 'default', 'get', 'network-attachment-definitions.k8s.cni.cncf.io', 'underlay'])).code === 0);
  await kubectlOk(['apply', '-f', '-'], stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'helm-a' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'], gateway: '10.6.0.1' } }));
  await kubectlOk(['apply', '-f', '-'], stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helm-app', namespace: 'default', labels: { app: 'helm-app' }, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["helm-a"]}', 'v1.multus-cni.io/default-network': 'default/underlay' } },
    spec: { nodeName: REAL_NODE_NAME, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sleep', '3600'] }] },
  }));
  const [pod] = await readyPods('app=helm-app', 'default');
  const binding = decodeBinding(pod!.metadata.annotations![BINDING_ANNOTATION]!);
  t.equal(binding?.interfaces[0]?.ipv4?.pool, 'helm-a', 'the webhook wrote the binding');
  t.equal(pod!.status.podIP, binding?.interfaces[0]?.ipv4?.address.split('/')[0], 'the pod runs with its bound address');
  await kubectlOk(['delete', 'pod', 'helm-app', '--wait=true']);
});

t.test("the pod Spiderpool addressed is adopted and runs as a real container with Spiderpool's address", async (t) => {
  const [pod] = await readyPods('app=spiderpool-era-app', 'default');
  const binding = decodeBinding(pod!.metadata.annotations![BINDING_ANNOTATION]!);
  t.same(binding?.interfaces.map((i) => [i.interface, i.ipv4?.address, i.ipv4?.pool]), [['eth0', `${SPIDERPOOL_ERA_ADDRESS}/16`, 'spiderpool-era']], 'adopted: the binding Spiderpool recorded');
  t.equal(pod!.status.podIP, SPIDERPOOL_ERA_ADDRESS, 'its sandbox came up through Underpin with that address');
  const adopted = (await kubectlOk(['get', 'spiderippool', 'spiderpool-era', '-o', 'jsonpath={.metadata.finalizers}'])).trim();
  t.equal(adopted, '["underpin.dev/addresses-in-use"]', 'the pool released from Spiderpool');
  await kubectlOk(['delete', 'pod', 'spiderpool-era-app', '--wait=true']);
});

t.test('helm upgrade with a changed setting rolls the controller, which reads it', async (t) => {
  const values = writeRealNodeValues({ dir: join(dir, 'upgrade'), image: onNode!.images.underpin.ref, nodeName: REAL_NODE_NAME });
  const [before] = await readyPods('app.kubernetes.io/component=controller', 'underpin-system');
  await helmOn(plane, ['upgrade', HELM_RELEASE, repoPath('charts', 'underpin'), '-n', HELM_RELEASE_NAMESPACE, '-f', values, '--set', 'config.logLevel=debug']);
  await kubectlOk(['-n', 'underpin-system', 'rollout', 'status', 'deployment/underpin-controller', '--timeout=180s']);
  const [after] = await readyPods('app.kubernetes.io/component=controller', 'underpin-system');
  t.not(after!.metadata.name, before!.metadata.name, 'a new controller pod');
  const config = parse(await kubectlOk(['-n', 'underpin-system', 'get', 'configmap', 'underpin-config', '-o', 'jsonpath={.data.config\\.yaml}'])) as Record<string, unknown>;
  t.equal(config.logLevel, 'debug', 'the ConfigMap holds the upgraded setting');
});

t.test('helm uninstall leaves none of the release\'s objects; the CRDs stay', async (t) => {
  const release = parseAllDocuments(await helmOn(plane, ['get', 'manifest', HELM_RELEASE, '-n', HELM_RELEASE_NAMESPACE]))
    .map((doc) => doc.toJS() as { kind: string; apiVersion: string; metadata: { name: string; namespace?: string } } | null)
    .filter((object) => object !== null);
  await helmOn(plane, ['uninstall', HELM_RELEASE, '-n', HELM_RELEASE_NAMESPACE, '--wait', '--timeout=180s']);
  for (const object of release) {
    const group = object.apiVersion.includes('/') ? `.${object.apiVersion.split('/')[0]}` : '';
    const args = ['get', `${object.kind}${group}`, object.metadata.name, '--ignore-not-found', '-o', 'name', ...(object.metadata.namespace ? ['-n', object.metadata.namespace] : [])];
    await eventually(`${object.kind}/${object.metadata.name} gone`, async () => (await kubectlOk(args)).trim() === '');
  }
  t.pass(`all ${release.length} objects of the release are gone`);
  t.equal((await kubectl(['get', 'crd', 'spiderippools.spiderpool.spidernet.io'])).code, 0, 'the CRDs stay');
});
