// Benchmark (not a test): a rolling update of a 10-replica Deployment with
// ippool-ip-number "+1", against the same update without Underpin, in one run on
// the real control plane (pods made Ready by hack/kubelet-simulator.ts).
//   node --import tsx tests/bench/rolling-update.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane.js';
import { runKubectl } from '../../hack/kubectl.js';
import { KubeletSimulator } from '../../hack/kubelet-simulator.js';
import { installUnderpin } from '../../hack/underpin-install.js';
import { loadKubeConfig } from '../../webhook/kube-config.js';

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
  for (const node of NODES) {
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'kubernetes.io/hostname': node } } }));
    const resources = { cpu: '64', memory: '256Gi', pods: '500' };
    await kubectl(['patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] } })]);
    await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['taint', 'node', node, 'node.kubernetes.io/not-ready-']);
  }
  const kubelet = new KubeletSimulator(loadKubeConfig(plane.kubeconfig), new Set(NODES));
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
  const rollout = async (namespace: string, annotations: Record<string, string>) => {
    await kubectl(['apply', '-f', '-'], deployment(namespace, annotations, 'v1'));
    await kubectl(['rollout', 'status', `deployment/app`, '-n', namespace, '--timeout=300s']);
    const start = Date.now();
    await kubectl(['apply', '-f', '-'], deployment(namespace, annotations, 'v2'));
    await kubectl(['rollout', 'status', `deployment/app`, '-n', namespace, '--timeout=600s']);
    return (Date.now() - start) / 1000;
  };
  const without = await rollout('plain', {});
  const withUnderpin = await rollout('underpin', { 'ipam.spidernet.io/subnet': '{"interface":"eth0","ipv4":["bench-subnet"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' });

  console.log(`rolling update of a ${REPLICAS}-replica Deployment (maxSurge/maxUnavailable 25 %), pods made Ready by a kubelet simulator`);
  console.log(`  without Underpin: ${without.toFixed(1)} s`);
  console.log(`  with Underpin, auto pool of replicas + 1: ${withUnderpin.toFixed(1)} s`);
  console.log(`  ratio: ${(withUnderpin / without).toFixed(2)}`);
  await kubelet.stop();
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
