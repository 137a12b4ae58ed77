// Benchmark (not a test): replacement speed after a node dies. Two Deployments of 6
// replicas spread over the same 3 simulated nodes, one on an Underpin auto pool of
// replicas + 1, one without fixed-IP IPAM (its namespace labelled underpin.dev/ignore);
// one node's kubelet stops (heartbeats and pods), the node lifecycle controller marks
// it NotReady and evicts its pods. Timed, for each, from the node's NotReady condition
// to 6 replicas Running again on the other nodes, in one run; the ratio last.
//   node --import tsx tests/bench/node-loss.ts     (BENCH_ROUNDS=3 repeats it)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { KubeletSimulator } from '../../hack/node-simulator/kubelet-simulator.js';
import { registerReadyNode } from '../../hack/node-simulator/nodes.js';
import { sleep } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const REPLICAS = 6;
const NODE_MONITOR_GRACE_SECONDS = 15;
// As a user of either would set them: a lost node's pods are evicted after 5 s, and have 5 s to stop.
const TOLERATION_SECONDS = 5;
const GRACE_SECONDS = 5;

const dir = mkdtempSync(join(tmpdir(), 'underpin-node-loss-'));
const plane = await LocalControlPlane.start({ dir, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS });
const kc = loadKubeConfig(plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const kubectl = async (args: string[], input?: string) => {
  const r = await runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function deployment(namespace: string, annotations: Record<string, string>) {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' }, annotations },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: GRACE_SECONDS,
          tolerations: ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: TOLERATION_SECONDS })),
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: { app: 'app' } } }],
          containers: [{ name: 'c', image: 'registry.invalid/app:1' }],
        },
      },
    },
  });
}

const running = (pods: V1Pod[]) => pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
const runningIn = async (namespace: string) => running((await core.listNamespacedPod({ namespace, labelSelector: 'app=app' })).items);

try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin') });
  const ns = (name: string, labels: Record<string, string> = {}) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await kubectl(['apply', '-f', '-'], `${ns('plain', { 'underpin.dev/ignore': 'true' })}---\n${ns('underpin')}`);
  for (const n of ['plain', 'underpin']) await until(`${n}'s service account`, async () => ((await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['get', 'serviceaccount', 'default', '-n', n])).code === 0 ? true : undefined));
  await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'bench-subnet' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.250'] } }));

  const results: { underpin: number; plain: number; notReadyAfter: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const nodes = [1, 2, 3].map((i) => `r${round}-node-${i}`);
    for (const name of nodes) await registerReadyNode(kc, { name });
    const kubelet = new KubeletSimulator(kc, new Set(nodes), { heartbeatMs: 2000 });
    await kubelet.start();
    await kubectl(['apply', '-f', '-'], deployment('plain', {}));
    await kubectl(['apply', '-f', '-'], deployment('underpin', { 'ipam.spidernet.io/subnet': '{"ipv4":["bench-subnet"]}', 'ipam.spidernet.io/ippool-ip-number': '+1' }));
    await until('12 Running', async () => ((await runningIn('plain')).length === REPLICAS && (await runningIn('underpin')).length === REPLICAS ? true : undefined));

    const lost = nodes[2]!;
    const lostAt = Date.now();
    kubelet.lose(lost);
    const notReady = await until('NotReady', async () => {
      const ready = (await core.readNode({ name: lost })).status?.conditions?.find((c) => c.type === 'Ready')?.status;
      return ready !== 'True' ? Date.now() : undefined;
    });
    const back = async (namespace: string) => {
      await until(`${namespace}: ${REPLICAS} Running off ${lost}`, async () => {
        const pods = await runningIn(namespace);
        return pods.length === REPLICAS && pods.every((p) => p.spec?.nodeName !== lost) ? true : undefined;
      });
      return (Date.now() - notReady) / 1000;
    };
    const [plain, withUnderpin] = await Promise.all([back('plain'), back('underpin')]);
    results.push({ plain, underpin: withUnderpin, notReadyAfter: (notReady - lostAt) / 1000 });
    // The next round starts from nothing: no Deployment, no pod, none of this round's nodes.
    for (const namespace of ['plain', 'underpin']) {
      await kubectl(['delete', 'deployment', 'app', '-n', namespace]);
      await kubectl(['delete', 'pods', '--all', '-n', namespace, '--grace-period=0', '--force']);
    }
    await kubelet.stop();
    await kubectl(['delete', 'node', ...nodes]);
  }

  console.log(`node loss: ${REPLICAS} replicas over 3 simulated nodes, one node's kubelet stops; node-monitor-grace-period ${NODE_MONITOR_GRACE_SECONDS} s, tolerationSeconds ${TOLERATION_SECONDS}, terminationGracePeriodSeconds ${GRACE_SECONDS}`);
  console.log('  from the node NotReady to all replicas Running again on the other nodes:');
  for (const [i, r] of results.entries()) {
    console.log(`  round ${i + 1}: NotReady ${r.notReadyAfter.toFixed(1)} s after the kubelet stopped; without fixed-IP IPAM ${r.plain.toFixed(1)} s, Underpin (auto pool of replicas + 1) ${r.underpin.toFixed(1)} s, ratio ${(r.underpin / r.plain).toFixed(2)}`);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`underpin/plain ${(median(results.map((r) => r.underpin)) / median(results.map((r) => r.plain))).toFixed(2)}`);
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
