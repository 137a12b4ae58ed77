// Cluster default pools from Underpin's settings (clusterDefaultIPv4IPPool, as in
// Spiderpool's ConfigMap): pods that name no pool get one of them, before any pool
// marked spec.default: true; a configured name with no pool is a clear denial.
import t from 'tap';
import { stringify } from 'yaml';
import { decodeBinding } from '../../ipam/binding.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { controllers: false, reconcilerReplicas: 0, webhookArgs: ['--cluster-default-ipv4-ippool=site-default-*'] });
const kubectl = cluster.kubectl;
const apply = (...objects: object[]) => kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const pool = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } });
async function addressOf(name: string): Promise<string | undefined> {
  const r = await kubectl(['get', 'pod', name, '-o', 'json']);
  return decodeBinding(JSON.parse(r.stdout).metadata.annotations?.['underpin.dev/binding'] ?? '')?.interfaces[0]?.ipv4?.address;
}

await kubectl(['create', 'serviceaccount', 'default']);

t.test('a configured default that names no pool yet: pods are denied, saying which setting', async (t) => {
  const denied = await apply(pod('early'));
  t.not(denied.code, 0);
  t.match(denied.stderr, 'pod default/early: no IPv4 address for interface eth0: no pool matches site-default-*; fix the cluster default pools (settings clusterDefaultIPv4IPPool/clusterDefaultIPv6IPPool, then pools with spec.default: true)');
});

t.test('the configured pools first, in order, then the pools marked spec.default', async (t) => {
  t.equal((await apply(pool('marked-default', { subnet: '10.11.0.0/16', ips: ['10.11.0.10-10.11.0.19'], default: true }), pool('site-default-a', { subnet: '10.12.0.0/16', ips: ['10.12.0.10'] }))).code, 0);
  await new Promise((r) => setTimeout(r, 500)); // both webhook replicas' caches
  t.equal((await apply(pod('first'))).code, 0);
  t.equal(await addressOf('first'), '10.12.0.10/16', 'the configured pool');
  t.equal((await apply(pod('second'))).code, 0);
  t.match(await addressOf('second'), /^10\.11\.0\.1\d\/16$/, 'then the marked one, the configured one being full');
});
