// Benchmark (not a test): pod admission on the real local control plane.
//   npm run bench
// 1. The webhook handler's own latency: PodAdmission.mutate called in this process
//    against the real API (claims really created, the ledger really read), N times
//    one at a time and N times 32 at a time; p50/p99.
// 2. End to end, API saturated: N pods created directly through the API server, 32
//    at a time, with the webhook on (pods bound) and off (namespace opted out), same
//    cluster, same run; pods/s and the ratio. On this 2-core machine the API server,
//    etcd, both webhook replicas and this client share the CPU, so this measures the
//    CPU each bound pod costs: one extra write (its IPClaim) and one webhook call.
//    A third run creates pods the webhook is called for but leaves alone (no Underpin
//    annotation, no default pool): the floor any mutating pod webhook pays here. With
//    BENCH_CLUSTER_NETWORK_IPAM=other the API server skips the call for those pods
//    (matchConditions), and this run shows what they pay then.
// 3. End to end, as users create pods: a ReplicaSet of N replicas made by the real
//    kube-controller-manager (the local one runs with --kube-api-qps=200), on vs off.
import { AsyncLocalStorage } from 'node:async_hooks';
import { AppsV1Api, CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { AdmissionLedger } from '../../webhook/admission-ledger.js';
import { APIClaimStore } from '../../kube/api-claim-store.js';
import { PodAdmission } from '../../webhook/pod-admission.js';
import { UnderlayCache } from '../../kube/underlay-cache.js';
import { PodContextCache } from '../../kube/pod-context-cache.js';
import { clusterPodState } from '../../webhook/underlay-state.js';
import { podCreateRequest } from '../webhook/admission-requests.js';
import { inBatches, percentile } from './load.js';

const N = Number(process.env.BENCH_PODS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** BENCH_CLUSTER_NETWORK_IPAM=other: eth0 is another CNI's, so pods without Underpin annotations skip the webhook. */
const OVERLAY = process.env.BENCH_CLUSTER_NETWORK_IPAM === 'other';

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-'));
const plane = await LocalControlPlane.start({ dir });
try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), reconcilerReplicas: 0, clusterNetworkIPAM: OVERLAY ? 'other' : 'underpin' });
  const kubectl = (args: string[], input?: string) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
  // The controller-manager creates each namespace's default ServiceAccount; pods wait for it.
  const waitForDefaultServiceAccount = async (namespace: string) => {
    for (let i = 0; i < 200; i++) {
      if ((await kubectl(['get', 'serviceaccount', 'default', '-n', namespace])).code === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no default ServiceAccount in ${namespace}`);
  };
  const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await kubectl(['apply', '-f', '-'], [ns('bench-handler'), ns('bench-on'), ns('bench-noop'), ns('bench-off', { 'underpin.dev/ignore': 'true' }), ns('bench-rs-on'), ns('bench-rs-off', { 'underpin.dev/ignore': 'true' })].map((o) => stringify(o)).join('---\n'));
  for (const n of ['bench-on', 'bench-noop', 'bench-off', 'bench-rs-on', 'bench-rs-off']) await waitForDefaultServiceAccount(n);
  const pool = (name: string, ips: string) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.0.0.0/8', ips: [ips] } });
  await kubectl(['apply', '-f', '-'], [pool('bench-handler', '10.1.0.0-10.1.255.255'), pool('bench-e2e', '10.2.0.0-10.2.255.255')].map((o) => stringify(o)).join('---\n'));

  // 1. Handler latency, in process, with the same caches and claim store the webhook uses.
  const kc = loadKubeConfig(plane.kubeconfig);
  const cache = new UnderlayCache(kc, pino({ level: 'warn' }));
  const context = new PodContextCache(kc, pino({ level: 'warn' }));
  await Promise.all([cache.start(), context.start()]);
  // Time spent waiting on the API server (claim creation, the fence read after it) is
  // measured apart from the handler's own work, per request (AsyncLocalStorage).
  // One request at a time needs no context (and AsyncLocalStorage's promise hooks would
  // add their own cost to what is measured): that run goes first and uses `sequentialSpent`.
  const apiTime = new AsyncLocalStorage<{ ms: number }>();
  let sequentialSpent = { ms: 0 };
  const timedApi = async <T>(call: () => Promise<T>): Promise<T> => {
    const start = process.hrtime.bigint();
    try {
      return await call();
    } finally {
      (apiTime.getStore() ?? sequentialSpent).ms += Number(process.hrtime.bigint() - start) / 1e6;
    }
  };
  const store = new APIClaimStore(kc);
  const timedStore = {
    get: store.get.bind(store),
    release: store.release.bind(store),
    reserve: (claim: Parameters<APIClaimStore['reserve']>[0]) => timedApi(() => store.reserve(claim)),
  };
  const ledger = new AdmissionLedger(kc, 'underpin-system');
  const podState = clusterPodState(cache, context, timedStore, ledger, kc);
  const admission = new PodAdmission({
    ...podState,
    get hasSynced() {
      return podState.hasSynced;
    },
    addressesLeavingPool: (pool, family) => timedApi(() => ledger.leaving(pool, family)),
  }, { trustedUsers: [] });
  // Run at concurrency 1, "own work" is the handler's CPU; at 32 it also holds the
  // time a request waits for the event loop behind the other 31.
  const handlerRun = async (count: number, concurrency: number, offset: number) => {
    const latencies: number[] = [];
    const ownWork: number[] = [];
    await inBatches(count, concurrency, async (j) => {
      const i = offset + j;
      const request = podCreateRequest(
        { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'h-', namespace: 'bench-handler', annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["bench-handler"]}' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        { uid: `bench-${i}`, namespace: 'bench-handler', userInfo: { username: 'bench' } },
      );
      const spent = { ms: 0 };
      const start = process.hrtime.bigint();
      if (concurrency === 1) sequentialSpent = spent;
      const decision = await (concurrency === 1 ? admission.mutate(request) : apiTime.run(spent, () => admission.mutate(request)));
      const total = Number(process.hrtime.bigint() - start) / 1e6;
      latencies.push(total);
      if (!decision.allowed) throw new Error(`handler denied: ${decision.message}`);
      ownWork.push(total - spent.ms);
    });
    return { latencies: latencies.sort((a, b) => a - b), ownWork: ownWork.sort((a, b) => a - b) };
  };
  const alone = await handlerRun(N, 1, 0);
  const { latencies, ownWork } = await handlerRun(N, CONCURRENCY, N);
  await Promise.all([cache.stop(), context.stop()]);

  // 2. Pods bound per second through the API server, webhook on vs off.
  const core = kc.makeApiClient(CoreV1Api);
  const createPods = async (namespace: string, annotate: boolean) => {
    const start = Date.now();
    await inBatches(N, CONCURRENCY, async (i) => {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `p-${i}`, ...(annotate ? { annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["bench-e2e"]}' } } : {}) },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'x' }] },
        },
      });
    });
    return N / ((Date.now() - start) / 1000);
  };
  const probe = (label: string) => {
    if (!process.env.BENCH_CPU_PROBE) return;
    console.log(`--- ${label}\n${execFileSync(process.env.BENCH_CPU_PROBE).toString()}`);
  };
  probe('before off');
  const off = await createPods('bench-off', false);
  probe('after off');
  const noop = await createPods('bench-noop', false);
  probe('after noop');
  const on = await createPods('bench-on', true);
  probe('after on');

  // 3. Pods made by a ReplicaSet: time from creating it until all N pods exist (and
  // are bound), seen through a watch.
  const apps = kc.makeApiClient(AppsV1Api);
  const replicaSetRun = async (namespace: string, annotate: boolean) => {
    let seen = 0;
    let allSeen!: () => void;
    const done = new Promise<void>((resolve) => (allSeen = resolve));
    const informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
    informer.on('add', (pod) => {
      if (annotate && !pod.metadata?.annotations?.['underpin.dev/binding']) throw new Error(`pod ${pod.metadata?.name} has no binding`);
      if (++seen === N) allSeen();
    });
    await informer.start();
    const start = Date.now();
    await apps.createNamespacedReplicaSet({
      namespace,
      body: {
        metadata: { name: 'bench' },
        spec: {
          replicas: N,
          selector: { matchLabels: { app: 'bench' } },
          template: {
            metadata: { labels: { app: 'bench' }, ...(annotate ? { annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["bench-e2e"]}' } } : {}) },
            spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    });
    await done;
    const perSecond = N / ((Date.now() - start) / 1000);
    await informer.stop();
    return perSecond;
  };
  const rsOff = await replicaSetRun('bench-rs-off', false);
  const rsOn = await replicaSetRun('bench-rs-on', true);

  console.log(`pod admission benchmark: ${N} pods, concurrency ${CONCURRENCY}, webhook replicas 2`);
  const ms = (sorted: number[], p: number) => `${percentile(sorted, p).toFixed(2)} ms`;
  console.log(`  handler own work, one request at a time (mutate minus waiting on the API): p50 ${ms(alone.ownWork, 50)}, p99 ${ms(alone.ownWork, 99)}`);
  console.log(`  handler own work, ${CONCURRENCY} at a time (adds waiting for the event loop behind the others): p50 ${ms(ownWork, 50)}, p99 ${ms(ownWork, 99)}`);
  console.log(`  handler latency incl. IPClaim create and ledger read, ${CONCURRENCY} at a time: p50 ${ms(latencies, 50)}, p99 ${ms(latencies, 99)}, max ${latencies.at(-1)!.toFixed(2)} ms`);
  const ratio = (label: string, offRate: number, onRate: number, noopRate?: number) => {
    console.log(`  ${label}`);
    console.log(`    webhook off: ${offRate.toFixed(0)} pods/s created`);
    if (noopRate !== undefined && OVERLAY) console.log(`    pod without Underpin annotations, skipped by matchConditions (clusterNetworkIPAM: other): ${noopRate.toFixed(0)} pods/s (ratio ${(noopRate / offRate).toFixed(3)})`);
    else if (noopRate !== undefined) console.log(`    webhook called, pod left alone: ${noopRate.toFixed(0)} pods/s (ratio ${(noopRate / offRate).toFixed(3)}: the cost of any mutating pod webhook here)`);
    console.log(`    webhook on:  ${onRate.toFixed(0)} pods/s created and bound`);
    console.log(`    ratio on/off: ${(onRate / offRate).toFixed(3)} (slowdown ${((1 - onRate / offRate) * 100).toFixed(1)} %)`);
  };
  ratio(`API saturated (${CONCURRENCY} concurrent creates, CPU shared by API server, etcd, webhooks and client):`, off, on, noop);
  ratio('through a ReplicaSet (kube-controller-manager, --kube-api-qps=200):', rsOff, rsOn);
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
