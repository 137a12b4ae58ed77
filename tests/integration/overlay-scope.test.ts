// clusterNetworkIPAM: other (eth0 is another CNI's): the controller narrows the pod
// webhook with matchConditions, so the API server no longer calls it for pods that
// cannot be Underpin's, still calls it for the ones that can (pool annotations, a
// forged binding to scrub), and puts the conditions back after a re-apply removed them.
import t from 'tap';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { BINDING_ANNOTATION } from '../../ipam/binding.js';
import { MUTATING_CONFIGURATION_NAME, NOT_HOST_NETWORK, POD_MUTATE_WEBHOOK } from '../../webhook/configurations.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { keepPodWebhookScope } from '../../webhook/pod-webhook-scope.js';
import { httpsRequest } from '../webhook/https-client.js';
import { startLocalCluster } from './local-cluster.js';
import { HANG_TIMEOUT_MS, waitUntil } from '../../hack/processes.js';


t.test('the pod webhook is skipped for pods that cannot be Underpin\'s', async (t) => {
  // One replica, so its /metrics count every pod admission.
  const cluster = await startLocalCluster(t, { controllers: false, reconcilerReplicas: 0, webhookReplicas: 1, webhookArgs: ['--cluster-network-ipam=other', '--cert-sync-seconds=1'] });
  const kc = loadKubeConfig(cluster.plane.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  t.equal((await cluster.kubectl(['create', 'serviceaccount', 'default'])).code, 0);
  const pool = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'legacy' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.50'] } };
  t.equal((await cluster.kubectl(['apply', '-f', '-'], stringify(pool))).code, 0);

  const registeredConditions = async () =>
    (await admission.readMutatingWebhookConfiguration({ name: MUTATING_CONFIGURATION_NAME })).webhooks?.find((w) => w.name === POD_MUTATE_WEBHOOK)?.matchConditions ?? [];
  const waitForConditions = (present: boolean) =>
    waitUntil('matchConditions', async () => (await registeredConditions()).some((c) => c.name === 'may-be-underpins') === present, { timeoutMs: HANG_TIMEOUT_MS, intervalMs: 200 }).then(
      () => true,
      () => false,
    );
  t.ok(await waitForConditions(true), 'the controller registered matchConditions on the pod webhook');

  const podCalls = async () => {
    const reply = await httpsRequest(`${cluster.underpin.webhookUrl}/metrics`, { ca: cluster.underpin.webhookCaPem });
    return reply.body
      .split('\n')
      .filter((line) => line.startsWith('underpin_admission_decisions_total{') && line.includes('kind="Pod"') && line.includes('operation="CREATE"'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  };
  let n = 0;
  const createPod = async (metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}) =>
    core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: `p-${n++}`, ...metadata }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } } });

  // The API server picks up configuration changes asynchronously: wait until a plain pod is no longer sent.
  const skipped = await waitUntil(
    'a plain pod skipped',
    async () => {
      const before = await podCalls();
      await createPod();
      return (await podCalls()) === before;
    },
    { timeoutMs: HANG_TIMEOUT_MS, intervalMs: 250 },
  ).then(
    () => true,
    () => false,
  );
  t.ok(skipped, 'a pod with no Underpin or Multus annotation is not sent to the webhook');
  const plainBefore = await podCalls();
  for (let i = 0; i < 5; i++) await createPod({ annotations: { 'example.com/other': 'x' }, labels: { app: 'web' } });
  t.equal(await podCalls(), plainBefore, 'five more plain pods, no webhook call');

  const annotated = await createPod({ annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["legacy"]}' } });
  t.equal(await podCalls(), plainBefore + 1, 'a pod naming a pool is sent');
  t.match(annotated.metadata?.annotations?.[BINDING_ANNOTATION] ?? '', /10\.6\.1\./, 'and bound');

  const forged = await createPod({ annotations: { [BINDING_ANNOTATION]: '{"id":"stolen","interfaces":[]}' } });
  t.equal(await podCalls(), plainBefore + 2, 'a pod carrying a binding annotation is sent');
  t.equal(forged.metadata?.annotations?.[BINDING_ANNOTATION], undefined, 'and its forged binding is removed');

  const multus = await createPod({ annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan-other' } });
  t.equal(await podCalls(), plainBefore + 3, 'a pod attaching Multus networks is sent');
  t.ok(multus.metadata?.name, 'and admitted (the network is not Underpin\'s)');

  // `kubectl apply -k manifests/` would register the configuration with the default's
  // conditions (hostNetwork pods only): the replica narrows it again within a check interval.
  t.equal(await keepPodWebhookScope(kc, MUTATING_CONFIGURATION_NAME, [NOT_HOST_NETWORK]), 'updated', 'conditions widened, as a re-apply of the manifests would');
  t.ok(await waitForConditions(true), 'the controller put them back');
});
