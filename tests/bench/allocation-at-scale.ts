// Benchmark (not a test): does allocation stay cheap, and each process within its
// memory limit, with 200,000 IPClaims in the cluster?
//   npm run bench:allocation-scale        (BENCH_CLAIMS=200000, BENCH_PODS=200, BENCH_CONCURRENCY=32)
//   UNDERPIN_WEBHOOK_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:allocation-scale
//     writes each webhook replica's CPU profile when the run ends.
//
// One run on the real local control plane with Underpin installed (two webhook
// replicas behind a loopback balancer, one reconciler; all from dist/ with the
// manifests' node flags). BENCH_PODS pods are created through the API server,
// BENCH_CONCURRENCY at a time, and admitted by the webhook (no node: they are never
// scheduled, only admitted and bound):
//   1. baseline: into an empty pool, no claims in the cluster;
//   2. Underpin is stopped, BENCH_CLAIMS IPClaims are created in one big pool the way
//      the webhook creates them, leaving only its LAST addresses free, and Underpin is
//      started again (as after a rollout: each process lists all claims at start); the
//      run waits until each process is ready and its CPU has gone quiet (the
//      reconciler checks each claim once). Filling with Underpin stopped keeps three
//      processes from decoding every watch event on this 2-core machine: the fill
//      takes minutes either way;
//   3. fresh: the same pods into an empty pool next to those claims;
//   4. nearly full: the same pods into the big pool's last free addresses. Each
//      admission starts its search at a point of the pool derived from its binding
//      and walks past the claimed addresses: the hard case.
// For each it prints total time, pods/s, create latency p50/p99 (as the client sees
// it: API server, webhook call, IPClaim write) and the webhooks' CPU per pod; the
// ratio to the baseline (goal <= 1.5); and the resident set of each Underpin process
// after the fill against its container's limit (manifests/controller/deployment.yaml).
// The claims' pods never exist: the reconciler runs with a long orphan TTL and keeps them.
import { CoreV1Api } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { isAlive, sleep, type ManagedProcess } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { fillClaims, ipv4After, ipv4Text } from './claim-fill.js';
import { inBatches, percentile } from './load.js';
import { cpuOf, cpuSince, processCpu } from './process-cpu.js';
import { processMemory, type ProcessMemory } from './process-memory.js';

const PODS = Number(process.env.BENCH_PODS ?? 200);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 200_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const GOAL_RATIO = 1.5;
/** The webhook's and the reconciler's container memory limit in manifests/controller/deployment.yaml. */
const BUDGET_MIB = 512;
/** Settled: no Underpin process used more than this share of a core over SETTLE_WINDOW_MS. */
const QUIET_SHARE = 0.1;
const SETTLE_WINDOW_MS = 5_000;
/** Past this the run goes on, saying which process was still busy. */
const SETTLE_TIMEOUT_MS = 90_000;

/** The big pool: a /13 whose range ends PODS addresses after the claims. */
const FULL_BASE = '10.64.0.0';
const FULL_SUBNET = '10.64.0.0/13';

interface PodRun {
  label: string;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  webhookCpuMsPerPod: number;
}

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-scale-'));
const plane = await LocalControlPlane.start({ dir });
try {
  const install = () => installUnderpin(plane, { dir: join(dir, 'underpin'), reconcilerArgs: ['--orphan-claim-ttl-seconds=86400'] });
  let underpin = await install();
  const webhooks = () => underpin.processes.filter((p) => p.name.startsWith('underpin-webhook-'));
  const underpinProcesses = () => underpin.processes.filter((p) => p.name !== 'webhook-balancer');
  const kubectl = async (args: string[], input?: string) => {
    const result = await runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  const namespaces = ['bench-warm-up', 'bench-empty', 'bench-fresh', 'bench-full'];
  await kubectl(['apply', '-f', '-'], namespaces.map((name) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })).join('---\n'));
  // The controller-manager creates each namespace's default ServiceAccount; pods wait for it.
  for (const namespace of namespaces) {
    for (let i = 0; (await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['get', 'serviceaccount', 'default', '-n', namespace])).code !== 0; i++) {
      if (i > 200) throw new Error(`no default ServiceAccount in ${namespace}`);
      await sleep(100);
    }
  }
  const lastFull = ipv4Text(ipv4After(FULL_BASE, CLAIMS + PODS));
  const pool = (name: string, subnet: string, ips: string) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet, ips: [ips] } });
  await kubectl(
    ['apply', '-f', '-'],
    [pool('bench-warm-up', '10.89.0.0/16', '10.89.0.1-10.89.255.254'), pool('bench-empty', '10.90.0.0/16', '10.90.0.1-10.90.255.254'), pool('bench-fresh', '10.91.0.0/16', '10.91.0.1-10.91.255.254'), pool('bench-full', FULL_SUBNET, `10.64.0.1-${lastFull}`)]
      .map((o) => stringify(o))
      .join('---\n'),
  );
  const kc = loadKubeConfig(plane.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);

  const admitPods = async (label: string, namespace: string, poolName: string, prefix = 'p'): Promise<PodRun> => {
    const latencies: number[] = [];
    const cpuBefore = cpuOf(webhooks().map((p) => p.pid));
    const start = Date.now();
    await inBatches(PODS, CONCURRENCY, async (i) => {
      const began = process.hrtime.bigint();
      const pod = await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `${prefix}-${i}`, annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [poolName] }) } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'x' }] },
        },
      });
      latencies.push(Number(process.hrtime.bigint() - began) / 1e6);
      if (!pod.metadata?.annotations?.['underpin.dev/binding']) throw new Error(`${namespace}/${prefix}-${i} was admitted without a binding`);
    });
    const seconds = (Date.now() - start) / 1000;
    const cpu = cpuSince(cpuOf(webhooks().map((p) => p.pid)), cpuBefore);
    latencies.sort((a, b) => a - b);
    return { label, seconds, perSecond: PODS / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)!, webhookCpuMsPerPod: cpu.ownMs / PODS };
  };
  const memoryNow = () => new Map(underpinProcesses().map((p) => [p.name, processMemory(p.pid)] as const));

  // Not measured: the first admissions pay for JIT compilation and new connections.
  await admitPods('warm-up', 'bench-warm-up', 'bench-warm-up');
  const baseline = await admitPods('empty pool, no claims', 'bench-empty', 'bench-empty');
  const memoryEmpty = memoryNow();
  console.log(`baseline: ${PODS} pods in ${baseline.seconds.toFixed(1)} s`);

  await underpin.stop();
  const fillStart = Date.now();
  console.log(`creating ${CLAIMS} IPClaims in bench-full (10.64.0.1-${ipv4Text(ipv4After(FULL_BASE, CLAIMS))}; free: the last ${PODS}, up to ${lastFull})`);
  const created = await fillClaims(kc, {
    pool: 'bench-full',
    count: CLAIMS,
    address: (i) => ipv4After(FULL_BASE, i + 1),
    progress: (n) => console.log(`  ${n} IPClaims after ${((Date.now() - fillStart) / 1000).toFixed(0)} s (${(n / ((Date.now() - fillStart) / 1000)).toFixed(0)}/s)`),
  });
  const fillSeconds = (Date.now() - fillStart) / 1000;
  console.log(`created ${created} IPClaims in ${fillSeconds.toFixed(0)} s (${(created / fillSeconds).toFixed(0)}/s)`);
  const restart = Date.now();
  underpin = await install();
  console.log(`Underpin started again and ready (webhooks' caches listed) in ${((Date.now() - restart) / 1000).toFixed(1)} s`);
  console.log(await settle(underpinProcesses()));
  // New processes: warm them up as the first ones were (into the empty warm-up pool).
  await admitPods('warm-up', 'bench-warm-up', 'bench-warm-up', 'again');
  const memoryFull = memoryNow();

  const fresh = await admitPods('fresh pool next to the claims', 'bench-fresh', 'bench-fresh');
  const full = await admitPods(`last ${PODS} free addresses of a pool holding ${created}`, 'bench-full', 'bench-full');
  const memoryAfter = memoryNow();

  console.log(`\nallocation at scale: ${PODS} pods per run, ${CONCURRENCY} concurrent creates, 2 webhook replicas; ${created} IPClaims`);
  console.log(`${'run'.padEnd(52)}${'s'.padStart(7)}${'pods/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'webhook CPU ms/pod'.padStart(20)}${'x baseline'.padStart(12)}`);
  for (const run of [baseline, fresh, full]) {
    const ratio = run.seconds / baseline.seconds;
    console.log(
      `${run.label.padEnd(52)}${run.seconds.toFixed(1).padStart(7)}${run.perSecond.toFixed(0).padStart(8)}${run.p50.toFixed(1).padStart(9)}${run.p99.toFixed(1).padStart(9)}${run.max.toFixed(0).padStart(9)}${run.webhookCpuMsPerPod.toFixed(1).padStart(20)}${ratio.toFixed(2).padStart(12)}`,
    );
  }
  for (const run of [fresh, full]) {
    const ratio = run.seconds / baseline.seconds;
    console.log(`${run.label}: time ${ratio.toFixed(2)}x baseline, p50 ${(run.p50 / baseline.p50).toFixed(2)}x, p99 ${(run.p99 / baseline.p99).toFixed(2)}x (goal <= ${GOAL_RATIO}): ${ratio <= GOAL_RATIO ? 'met' : 'MISSED'}`);
  }
  console.log(`\nresident set (MiB): with no claims; started again with ${created} claims and settled; after the pods; the high-water mark since that start. Budget ${BUDGET_MIB} MiB each`);
  console.log(`${'process'.padEnd(24)}${'empty'.padStart(8)}${'settled'.padStart(12)}${'after pods'.padStart(12)}${'peak'.padStart(8)}  within budget`);
  for (const p of underpinProcesses()) {
    const cell = (m: ProcessMemory | undefined) => (m ? m.rssMiB.toFixed(0) : 'gone');
    const last = memoryAfter.get(p.name);
    const within = last !== undefined && last.peakMiB <= BUDGET_MIB;
    console.log(`${p.name.padEnd(24)}${cell(memoryEmpty.get(p.name)).padStart(8)}${cell(memoryFull.get(p.name)).padStart(12)}${cell(last).padStart(12)}${(last?.peakMiB.toFixed(0) ?? '-').padStart(8)}  ${within ? 'yes' : 'NO'}`);
  }
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}

/** Waits until no process used more than QUIET_SHARE of a core over SETTLE_WINDOW_MS (at most SETTLE_TIMEOUT_MS); says how it went. */
async function settle(processes: ManagedProcess[]): Promise<string> {
  const started = Date.now();
  let busiest = '';
  while (Date.now() - started < SETTLE_TIMEOUT_MS) {
    // A process that exited (a reconciler losing its Lease, an out-of-memory crash) is reported with its last log lines.
    const gone = processes.find((p) => !isAlive(p.pid));
    if (gone) return `${gone.name} EXITED; its last log lines:\n${readFileSync(gone.logFile, 'utf8').trim().split('\n').slice(-5).join('\n')}`;
    const before = processes.map((p) => processCpu(p.pid).ownMs);
    await sleep(SETTLE_WINDOW_MS);
    const used = processes.map((p, i) => ({ name: p.name, ms: processCpu(p.pid).ownMs - before[i]! })).sort((a, b) => b.ms - a.ms);
    busiest = `${used[0]!.name} used ${((used[0]!.ms / SETTLE_WINDOW_MS) * 100).toFixed(0)} % of a core`;
    if (used[0]!.ms <= QUIET_SHARE * SETTLE_WINDOW_MS) return `Underpin processes quiet ${((Date.now() - started) / 1000).toFixed(0)} s after ready`;
  }
  return `NOT SETTLED after ${SETTLE_TIMEOUT_MS / 1000} s (in the last ${SETTLE_WINDOW_MS / 1000} s ${busiest}); measuring anyway`;
}
