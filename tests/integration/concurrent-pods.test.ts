// 200 pods created at once, through two webhook replicas, into a pool of exactly
// 200 addresses: every pod bound, every address distinct, one claim each.
import t from 'tap';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { stringify } from 'yaml';
import { decodeBinding } from '../../ipam/binding.js';
import { startLocalCluster } from './local-cluster.js';

const PODS = 200;
const cluster = await startLocalCluster(t, { controllers: false });
const kc = loadKubeConfig(cluster.plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const pool = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'exact' }, spec: { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.200'] } };
t.test(`${PODS} concurrent pods into a pool of exactly ${PODS} addresses`, async (t) => {
  t.equal((await cluster.kubectl(['apply', '-f', '-'], stringify(pool))).code, 0);
  // No controller-manager here: make the service account it would have made.
  t.equal((await cluster.kubectl(['create', 'serviceaccount', 'default'])).code, 0);
  await new Promise((r) => setTimeout(r, 500)); // both replicas' caches see the pool
  const started = Date.now();
  const results = await Promise.allSettled(
    Array.from({ length: PODS }, (_, i) =>
      core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: `burst-${i}`, annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["exact"]}' } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
        },
      }),
    ),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason?.body ?? r.reason).slice(0, 300));
  t.same(failures, [], 'every pod admitted');
  t.comment(`${PODS} pods admitted in ${Date.now() - started} ms`);

  const pods = (await core.listNamespacedPod({ namespace: 'default' })).items.filter((p) => p.metadata?.name?.startsWith('burst-'));
  t.equal(pods.length, PODS);
  const addresses = pods.map((p) => decodeBinding(p.metadata?.annotations?.['underpin.dev/binding'] ?? '')?.interfaces[0]?.ipv4?.address);
  t.equal(addresses.filter(Boolean).length, PODS, 'no pod without a binding');
  t.equal(new Set(addresses).size, PODS, 'all addresses distinct');
  const claims = ((await custom.listClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' })) as { items: { spec: { address: string; bindingID: string } }[] }).items;
  t.equal(claims.length, PODS, 'one claim per pod, none leaked');
  const claimed = new Set(claims.map((c) => `${c.spec.address}/16`));
  t.ok(addresses.every((a) => claimed.has(a!)), 'every bound address is claimed');
  const ids = new Set(pods.map((p) => p.metadata?.labels?.['underpin.dev/binding-id']));
  t.ok(claims.every((c) => ids.has(c.spec.bindingID)), 'every claim belongs to a pod');

  const one = await cluster.kubectl(['create', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one-too-many', annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["exact"]}' } }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
  t.not(one.code, 0);
  t.match(one.stderr, 'exact has no free IPv4 address (200 of 200 in use)');
});
