// Crashes in the middle of a 200-pod scale up and down: the reconciler and a
// webhook replica are SIGKILLed and restarted. Afterwards the claims must be
// exactly the live pods' addresses, and no address bound twice (invariants 1, 2).
import t from 'tap';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { decodeBinding } from '../../ipam/binding.js';
import { KubeletSimulator } from '../../hack/node-simulator/kubelet-simulator.js';
import { HANG_TIMEOUT_MS, sleep, waitUntil } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { createReadyNode } from './fake-nodes.js';
import { checkConverged } from './consistency.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { reconcilerArgs: ['--orphan-claim-ttl-seconds=20', '--resync-seconds=10'] });
const kc = loadKubeConfig(cluster.plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

t.test('claims converge to the live pods after crashes mid-scale', async (t) => {
  for (const node of ['chaos-1', 'chaos-2']) await createReadyNode(cluster, node);
  const kubelet = new KubeletSimulator(kc, new Set(['chaos-1', 'chaos-2']));
  await kubelet.start();
  t.teardown(() => kubelet.stop());
  await cluster.kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);

  const subnet = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name: 'chaos' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.3.250'] } };
  const deployment = (replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'chaos', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'chaos' } },
      template: {
        metadata: { labels: { app: 'chaos' }, annotations: { 'ipam.spidernet.io/subnet': '{"interface":"eth0","ipv4":["chaos"]}', 'ipam.spidernet.io/ippool-ip-number': '+5' } },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
      },
    },
  });
  t.equal((await cluster.kubectl(['apply', '-f', '-'], `${stringify(subnet)}---\n${stringify(deployment(10))}`)).code, 0);

  const crash = async () => {
    await sleep(1500);
    await cluster.underpin.crashAndRestart('underpin-reconciler-0', 3000);
    await cluster.underpin.crashAndRestart('underpin-webhook-1', 1000);
  };
  t.equal((await cluster.kubectl(['scale', 'deployment', 'chaos', '--replicas', '200'])).code, 0);
  await crash();
  // Let the scale-up finish (bound pods) before scaling down through another crash.
  let peak = 0;
  const boundPods = async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=chaos' })).items;
    peak = pods.filter((p) => p.metadata?.annotations?.['underpin.dev/binding']).length;
    return peak === 200;
  };
  await waitUntil('200 bound pods', boundPods, { timeoutMs: 2 * HANG_TIMEOUT_MS, intervalMs: 1000 }).catch(() => undefined);
  t.equal(peak, 200, 'scaled up to 200 bound pods through the crashes');
  t.equal((await cluster.kubectl(['scale', 'deployment', 'chaos', '--replicas', '40'])).code, 0);
  await crash();

  // Converged: every live pod bound, every claim a live pod's address, nothing twice.
  let report = '';
  const deadline = Date.now() + 240_000;
  for (;;) {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=chaos' })).items;
    const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
    const bound = live.map((p) => decodeBinding(p.metadata?.annotations?.['underpin.dev/binding'] ?? '')?.interfaces[0]?.ipv4?.address.split('/')[0]);
    const claims = ((await custom.listClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' })) as { items: { spec: { address: string } }[] }).items;
    const claimed = claims.map((c) => c.spec.address).sort();
    const expected = [...bound].filter((a): a is string => Boolean(a)).sort();
    report = `${live.length} live pods, ${expected.length} bound, ${new Set(expected).size} distinct; ${claimed.length} claims`;
    if (live.length === 40 && pods.length === 40 && expected.length === 40 && new Set(expected).size === 40 && claimed.join() === expected.join()) break;
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  t.comment(report);
  t.match(report, /^40 live pods, 40 bound, 40 distinct; 40 claims$/, 'claims == live pods, no address twice');
  const check = await checkConverged(cluster, { orphanClaimTtlSeconds: 20 });
  t.equal(check.counted.claims, 40, 'underpin check: clean, 40 claims');
});
