// Benchmark (not a test): Underpin against a real peer, Whereabouts, addressing the
// same number of pods on the same local control plane in one run.
//
//   npm run bench:peer            (BENCH_PODS, BENCH_CONCURRENCY; default 100, 16)
//
// Per pod, as a node would see it: create the pod through the API server, then run
// the IPAM plugin's CNI ADD for it as the runtime does (a new process, CNI env,
// config on stdin).
// - Underpin: the webhook claims the address at pod creation (IPClaim); ADD only
//   reads the pod and its claims (dist/cni/bin/underpin).
// - Whereabouts: the pod is created untouched (its namespace is opted out of
//   Underpin); ADD allocates, taking the Lease kube-system/whereabouts and updating
//   its IPPool object, with its default timings. It runs as its DaemonSet would: as
//   the ServiceAccount kube-system/whereabouts, bound to upstream's ClusterRole.
// Both run PODS pods, CONCURRENCY at a time, and must hand out distinct addresses.
//
// Whereabouts is not part of Underpin: hack/control-plane/build-whereabouts.sh builds
// v0.9.2 from the Go module proxy into the shared cache on first use (its header says
// what the plugin reads and touches at ADD). WHEREABOUTS_DIR=<dir with bin/whereabouts,
// crds/*.yaml and rbac.yaml> runs another build instead.
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../../cni/build-executables.js';
import { whereaboutsBuild, type WhereaboutsBuild } from '../../hack/control-plane/binaries.js';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { kubectlOrThrow } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { runPluginBinary, type PluginCall } from '../cni/plugin-binaries.js';
import { inBatches, percentile } from './load.js';
import { setUpWhereabouts } from './whereabouts-identity.js';

const PODS = Number(process.env.BENCH_PODS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const underpinPlugin = join(resolve(process.env.UNDERPIN_CNI_BIN ?? join(repoRoot(), 'dist/cni/bin')), 'underpin');
const peerDir = process.env.WHEREABOUTS_DIR;
const peer: WhereaboutsBuild = peerDir
  ? { plugin: join(peerDir, 'bin', 'whereabouts'), crdsDir: join(peerDir, 'crds'), rbac: join(peerDir, 'rbac.yaml') }
  : whereaboutsBuild();
const peerMissing = [peer.plugin, peer.crdsDir, peer.rbac].filter((path) => !existsSync(path));
if (peerMissing.length > 0) {
  console.error(`${peerMissing.join(', ')} missing: unset WHEREABOUTS_DIR to use hack/control-plane/build-whereabouts.sh's build, or point it at a directory with bin/whereabouts, crds/ and rbac.yaml`);
  process.exit(2);
}
if (!existsSync(underpinPlugin)) {
  console.error(`${underpinPlugin} is missing: run  npm run build  first`);
  process.exit(2);
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
  addresses: string[];
}

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-peer-'));
const plane = await LocalControlPlane.start({ dir, controllers: false });
try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), reconcilerReplicas: 0 });
  const kubectl = (args: string[], input?: string) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args, input);
  for (const file of readdirSync(peer.crdsDir).filter((f) => f.endsWith('.yaml'))) await kubectl(['apply', '-f', '-'], readFileSync(join(peer.crdsDir, file), 'utf8'));
  const ns = (name: string, labels: Record<string, string> = {}) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await kubectl(['apply', '-f', '-'], `${ns('bench-underpin')}---\n${ns('bench-whereabouts', { 'underpin.dev/ignore': 'true' })}`);
  const pool = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'bench-peer' }, spec: { subnet: '10.1.0.0/16', ips: ['10.1.0.10-10.1.3.250'] } };
  await kubectl(['apply', '-f', '-'], stringify(pool));
  // No controller-manager: the pods' service accounts are made here.
  for (const n of ['bench-underpin', 'bench-whereabouts']) await kubectl(['create', 'serviceaccount', 'default', '-n', n]);
  await kubectl(['wait', '--for=create', 'crd/ippools.whereabouts.cni.cncf.io', '--timeout=30s']);
  await new Promise((r) => setTimeout(r, 1000)); // the webhook's cache has the pool

  const kc = loadKubeConfig(plane.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const cniBase = { netns: '/var/run/netns/bench', ifname: 'eth0' };

  async function run(namespace: string, annotations: Record<string, string>, plugin: string, config: object, addressOf: (stdout: string) => string): Promise<Figures> {
    const latencies: number[] = [];
    const addresses: string[] = [];
    const start = process.hrtime.bigint();
    await inBatches(PODS, CONCURRENCY, async (i) => {
      const t0 = process.hrtime.bigint();
      const pod = await core.createNamespacedPod({
        namespace,
        body: { metadata: { name: `p-${i}`, annotations }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } },
      });
      const call: PluginCall = {
        command: 'ADD',
        containerID: `bench-${namespace}-${i}`,
        ...cniBase,
        path: join(plugin, '..'),
        args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: `p-${i}`, K8S_POD_UID: pod.metadata!.uid!, K8S_POD_INFRA_CONTAINER_ID: `bench-${i}` },
        config,
      };
      const result = await runPluginBinary(plugin, call);
      if (result.code !== 0) throw new Error(`${plugin} ADD for ${namespace}/p-${i} failed: ${result.stdout}${result.stderr}`);
      addresses.push(addressOf(result.stdout));
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    latencies.sort((a, b) => a - b);
    return { perSecond: PODS / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), addresses };
  }
  async function whereaboutsConfig(home: string): Promise<object> {
    const { flatFile } = await setUpWhereabouts(plane, kubectl, peer, home);
    return { cniVersion: '0.3.1', name: 'bench', type: 'macvlan', ipam: { type: 'whereabouts', range: '10.2.0.0/16', configuration_path: flatFile } };
  }
  const firstAddress = (stdout: string) => (JSON.parse(stdout) as { ips: { address: string }[] }).ips[0]!.address;

  const ours = await run('bench-underpin', { 'ipam.spidernet.io/ippool': '{"ipv4":["bench-peer"]}' }, underpinPlugin, {
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'macvlan',
    ipam: { type: 'underpin', kubeconfig: plane.kubeconfig },
  }, firstAddress);
  const peerConfig = await whereaboutsConfig(join(dir, 'whereabouts'));
  const theirs = await run('bench-whereabouts', {}, peer.plugin, peerConfig, firstAddress);

  const line = (name: string, f: Figures) =>
    console.log(`  ${name}: ${f.perSecond.toFixed(1)} pods/s, per pod p50 ${f.p50.toFixed(0)} ms, p99 ${f.p99.toFixed(0)} ms, distinct addresses ${new Set(f.addresses).size}/${PODS}`);
  console.log(`peer benchmark: ${PODS} pods, ${CONCURRENCY} at a time, create pod + IPAM CNI ADD each`);
  line('Underpin (claim at admission, ADD reads)', ours);
  line('Whereabouts v0.9.2 (ADD allocates under a Lease)', theirs);
  console.log(`  ratio Underpin / Whereabouts: ${(ours.perSecond / theirs.perSecond).toFixed(1)}x the pods/s, p99 ${(theirs.p99 / ours.p99).toFixed(1)}x lower`);
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
