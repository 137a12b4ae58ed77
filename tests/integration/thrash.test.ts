// Control-plane faults: 20 rounds of scaling a two-NIC Deployment 0 ↔ 200 (dual stack
// in some rounds) while, at moments drawn from a seeded generator, a webhook replica,
// the reconciler, the API server or etcd is killed (SIGKILL) and started again. After
// each scale converges, `underpin check` must find nothing: no address bound to two
// live pods, no claim without a live pod, none outside its pool or on a reserved
// address, pool and subnet status equal to the claims. Same seed, same faults
// (UNDERPIN_FUZZ_SEED, which .ci/run pins); the seed is printed.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { sleep } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { chooseSeed, Rng } from '../webhook/generated/prng.js';
import { checkConverged } from './consistency.js';
import { startLocalCluster, type LocalCluster } from './local-cluster.js';

const ROUNDS = 20;
const PODS = 200;
const ORPHAN_TTL_SECONDS = 15;
const ROUND_TIMEOUT_MS = 180_000;

const seed = chooseSeed();
t.comment(`thrash seed ${seed} (replay: UNDERPIN_FUZZ_SEED=${seed})`);
const rng = new Rng(seed);

// Restarted on exit, as in a pod: a reconciler that cannot renew its Lease while the API server is down exits.
const cluster = await startLocalCluster(t, { restartOnExit: true, reconcilerArgs: [`--orphan-claim-ttl-seconds=${ORPHAN_TTL_SECONDS}`, '--resync-seconds=10'] });
const core = loadKubeConfig(cluster.plane.kubeconfig).makeApiClient(CoreV1Api);

/** kubectl, retried while the API server or etcd is down. */
async function kubectl(args: string[], input?: string): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const result = await cluster.kubectl(args, input);
    if (result.code === 0) return result.stdout;
    if (Date.now() > deadline) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    await sleep(1000);
  }
}

const spider = (kind: string, name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind, metadata: { name }, spec });
const setup = [
  spider('SpiderSubnet', 'thrash-eth0', { subnet: '10.50.0.0/16', ips: ['10.50.0.1-10.50.0.254'] }),
  spider('SpiderIPPool', 'thrash-eth0-v4', { subnet: '10.50.0.0/16', ips: ['10.50.0.10-10.50.0.250'] }),
  spider('SpiderIPPool', 'thrash-net1-v4', { subnet: '10.51.0.0/16', ips: ['10.51.0.10-10.51.0.250'] }),
  spider('SpiderIPPool', 'thrash-eth0-v6', { subnet: 'fd00:50::/64', ips: ['fd00:50::10-fd00:50::fa'] }),
  spider('SpiderIPPool', 'thrash-net1-v6', { subnet: 'fd00:51::/64', ips: ['fd00:51::10-fd00:51::fa'] }),
  // Inside the eth0 pool: never handed out, whatever crashes.
  spider('SpiderReservedIP', 'thrash-keep-out', { ips: ['10.50.0.15', '10.50.0.100'] }),
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'thrash-net1', namespace: 'kube-system' },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }) },
  },
];

function deployment(replicas: number, dualStack: boolean) {
  const pools = (nic: string) => ({ interface: nic, ipv4: [`thrash-${nic}-v4`], ...(dualStack ? { ipv6: [`thrash-${nic}-v6`] } : {}) });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'thrash', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'thrash' } },
      template: {
        metadata: {
          labels: { app: 'thrash' },
          annotations: { 'k8s.v1.cni.cncf.io/networks': 'kube-system/thrash-net1', 'ipam.spidernet.io/ippools': JSON.stringify([pools('eth0'), pools('net1')]) },
        },
        // No node: the pods stay Pending, and a pod never scheduled is deleted at once.
        spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
      },
    },
  };
}

type Target = 'underpin-webhook-0' | 'underpin-webhook-1' | 'underpin-reconciler-0' | 'kube-apiserver' | 'etcd';
const TARGETS: readonly Target[] = ['underpin-webhook-0', 'underpin-webhook-1', 'underpin-reconciler-0', 'kube-apiserver', 'etcd'];

async function crash(target: Target, downMs: number): Promise<void> {
  if (target === 'kube-apiserver' || target === 'etcd') await cluster.plane.crashAndRestart(target, downMs);
  else await cluster.underpin.crashAndRestart(target, downMs);
}

/** The pods of the Deployment: how many exist, and how many carry a binding. */
async function podCounts(): Promise<{ pods: number; bound: number }> {
  const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=thrash' })).items;
  return { pods: pods.length, bound: pods.filter((p) => p.metadata?.annotations?.['underpin.dev/binding']).length };
}

async function waitForPods(pods: number): Promise<void> {
  const deadline = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const counts = await podCounts().catch(() => undefined);
    if (counts && counts.pods === pods && counts.bound === pods) return;
    if (Date.now() > deadline) throw new Error(`waited ${ROUND_TIMEOUT_MS / 1000} s for ${pods} bound pods; have ${JSON.stringify(counts)}`);
    await sleep(500);
  }
}

/** Scale, crash something at a drawn moment meanwhile, and wait for the scale to be done and checked clean. */
async function scaleThroughFault(cluster: LocalCluster, replicas: number, dualStack: boolean, log: string[]): Promise<void> {
  const target = rng.pick(TARGETS);
  const afterMs = rng.int(0, 4000);
  const downMs = rng.int(0, 3000);
  log.push(`scale to ${replicas}${dualStack ? ' (dual stack)' : ''}: ${target} killed after ${afterMs} ms, down ${downMs} ms`);
  const fault = sleep(afterMs).then(() => crash(target, downMs));
  await kubectl(['apply', '-f', '-'], stringify(deployment(replicas, dualStack)));
  await fault;
  await waitForPods(replicas);
  // Converged: clean, and the claims exactly the pods' addresses (claims of admissions
  // whose pod create failed in a crash go once they are older than the orphan TTL).
  const claims = replicas * (dualStack ? 4 : 2);
  await checkConverged(cluster, { orphanClaimTtlSeconds: ORPHAN_TTL_SECONDS, timeoutMs: ROUND_TIMEOUT_MS, also: (report) => report.counted.claims === claims });
}

t.test(`${ROUNDS} rounds of 0 ↔ ${PODS} pods with two NICs through crashes of the webhook, the reconciler, the API server and etcd`, async (t) => {
  await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
  await kubectl(['apply', '-f', '-'], setup.map((o) => stringify(o)).join('---\n'));
  const started = Date.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const dualStack = rng.chance(0.3);
    const log: string[] = [];
    const roundStart = Date.now();
    try {
      await scaleThroughFault(cluster, PODS, dualStack, log);
      await scaleThroughFault(cluster, 0, dualStack, log);
    } catch (error) {
      const reconciler = cluster.underpin.processes.find((p) => p.name === 'underpin-reconciler-0');
      const tail = reconciler ? readFileSync(reconciler.logFile, 'utf8').split('\n').slice(-40).join('\n') : '(no reconciler process)';
      t.fail(`round ${round}: ${(error as Error).message}\n${log.join('\n')}\nreplay: UNDERPIN_FUZZ_SEED=${seed}\nthe reconciler's last log lines:\n${tail}`);
      return;
    }
    t.pass(`round ${round} clean in ${Math.round((Date.now() - roundStart) / 1000)} s: ${log.join('; ')}`);
  }
  t.comment(`${ROUNDS} rounds in ${Math.round((Date.now() - started) / 1000)} s, seed ${seed}: 0 breaches, 0 leaks`);
});
