// Benchmark (not a test): a rolling update of a 10-replica Deployment with
// ippool-ip-number "+1", against the same update without Underpin, in one run on
// the real control plane (pods made Ready by hack/node-simulator/kubelet-simulator.ts).
//   node --import tsx tests/bench/rolling-update.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { KubeletSimulator } from '../../hack/node-simulator/kubelet-simulator.js';
import { registerReadyNode } from '../../hack/node-simulator/nodes.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { loadKubeConfig } from '../../kube/kube-config.js';

const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 10);
const NODES = ['sim-node-1', 'sim-node-2', 'sim-node-3'];

const dir = mkdtempSync(join(tmpdir(), 'underpin-rollout-'));
const plane = await LocalControlPlane.start({ dir });
const kubectl = async (args: string[], input?: string) => {
  const r = await runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin') });
  const kc = loadKubeConfig(plane.kubeconfig);
  for (const node of NODES) await registerReadyNode(kc, { name: node });
  const kubelet = new KubeletSimulator(kc, new Set(NODES));
  await kubelet.start();

  const ns = (name: string, labels: Record<string, string> = {}) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await kubectl(['apply', '-f', '-'], `${ns('plain', { 'underpin.dev/ignore': 'true' })}---\n${ns('underpin')}`);
  for (const n of ['plain', 'underpin']) {
    for (let i = 0; i < 100; i++) {
      if ((await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['get', 'serviceaccount', 'default', '-n', n])).code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'bench-subnet' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.250'] } }));

  const deployment = (namespace: string, annotations: Record<string, string>, version: string) =>
    stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' }, annotations: { ...annotations, version } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/app:1' }] },
        },
      },
    });
  // Time the update from a settled start: every claim bound by the reconciler. Pods deleted
  // before its caches synced would otherwise hold their claims until the orphan TTL (120 s).
  const claimsSettled = async () => {
    for (let i = 0; i < 600; i++) {
      const phases = (await kubectl(['get', 'ipclaims', '-o', 'jsonpath={.items[*].status.phase}'])).split(' ').filter(Boolean);
      if (phases.length === REPLICAS && phases.every((p) => p === 'Bound')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the claims of the first rollout were not all bound within 120 s');
  };
  const rollout = async (namespace: string, annotations: Record<string, string>, settled = async () => {}) => {
    await kubectl(['apply', '-f', '-'], deployment(namespace, annotations, 'v1'));
    await kubectl(['rollout', 'status', `deployment/app`, '-n', namespace, '--timeout=300s']);
    await settled();
    const start = Date.now();
    await kubectl(['apply', '-f', '-'], deployment(namespace, annotations, 'v2'));
    await kubectl(['rollout', 'status', `deployment/app`, '-n', namespace, '--timeout=600s']);
    return (Date.now() - start) / 1000;
  };
  const without = await rollout('plain', {});
  const withUnderpin = await rollout('underpin', { 'ipam.spidernet.io/subnet': '{"interface":"eth0","ipv4":["bench-subnet"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' }, claimsSettled);

  console.log(`rolling update of a ${REPLICAS}-replica Deployment (maxSurge/maxUnavailable 25 %), pods made Ready by a kubelet simulator`);
  console.log(`  without Underpin: ${without.toFixed(1)} s`);
  console.log(`  with Underpin, auto pool of replicas + 1: ${withUnderpin.toFixed(1)} s`);
  console.log(`  ratio: ${(withUnderpin / without).toFixed(2)}`);
  await kubelet.stop();
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
