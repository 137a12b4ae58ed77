// `underpin check` against the real control plane: clean on a converged cluster, and
// each breach seeded on purpose (pods and claims written past the webhook, as a bug
// or a hand edit would) is reported, with exit status 1, until it is undone.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { eventually } from '../../hack/processes.js';
import { encodeBinding } from '../../ipam/binding.js';
import { checkConverged } from './consistency.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t);
const kubectl = cluster.kubectl;
const applyAll = (...objects: object[]) => kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));

/** The command as an operator runs it (from source, as the npm scripts run TypeScript). */
async function underpinCheck(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'reconciler/check/main.ts', 'check', '--kubeconfig', cluster.plane.kubeconfig, ...args]);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
t.equal((await applyAll({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'check-pool' }, spec: { subnet: '10.40.0.0/16', ips: ['10.40.0.10-10.40.0.19'] } })).code, 0);

t.test('a cluster with a bound pod is clean', async (t) => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'honest', namespace: 'default', annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["check-pool"]}' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] } };
  t.equal((await applyAll(pod)).code, 0);
  const report = await checkConverged(cluster);
  t.equal(report.counted.pods, 1);
  t.equal(report.counted.claims, 1);
  const run = await underpinCheck();
  t.equal(run.code, 0);
  t.match(run.stdout, /checked 1 pod with a binding, 1 IPClaim, 1 SpiderIPPool[\s\S]*\nno breach, no drift\n$/);
});

/** A pod the webhook never saw (labelled underpin.dev/ignore), carrying a binding written by hand. */
const forgedPod = (name: string, id: string, address: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'default',
    labels: { 'underpin.dev/ignore': 'true', 'underpin.dev/binding-id': id },
    annotations: { 'underpin.dev/binding': encodeBinding({ version: 1, id, interfaces: [{ interface: 'eth0', ipv4: { address: `${address}/16`, pool: 'check-pool' }, routes: [] }] }) },
  },
  spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
});
const claim = (address: string, id: string) => ({
  apiVersion: 'underpin.dev/v1alpha1',
  kind: 'IPClaim',
  metadata: { name: address },
  spec: { address, family: 4, pool: 'check-pool', interface: 'eth0', namespace: 'default', bindingID: id },
});

t.test('seeded breaches are each reported, with exit status 1, until undone', async (t) => {
  const honest = JSON.parse((await kubectl(['get', 'pod', 'honest', '-o', 'json'])).stdout);
  const taken = JSON.parse(honest.metadata.annotations['underpin.dev/binding']).interfaces[0].ipv4.address.split('/')[0] as string;
  t.equal(
    (
      await applyAll(
        // The honest pod's address, handed to a second pod.
        forgedPod('twin', 'seeded-twin', taken),
        // A pod and its claim on an address outside the pool.
        forgedPod('outsider', 'seeded-out', '10.40.0.99'),
        claim('10.40.0.99', 'seeded-out'),
        // The honest pod's address reserved after it was handed out.
        { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderReservedIP', metadata: { name: 'late-reserve' }, spec: { ips: [taken] } },
      )
    ).code,
    0,
  );
  const run = await eventually('underpin check reports the seeded breaches', async () => {
    const result = await underpinCheck();
    return result.code === 1 && result.stdout.includes('claim-outside-pool') ? result : undefined;
  });
  t.match(run.stdout, `BREACH address-bound-twice: ${taken} is bound to 2 live pods: default/honest, default/twin`);
  t.match(run.stdout, `BREACH address-claimed-by-another-pod: ${taken} of pod default/twin is claimed by another binding`);
  t.match(run.stdout, 'BREACH claim-outside-pool: IPClaim 10.40.0.99 is outside its pool check-pool');
  t.match(run.stdout, `BREACH reserved-address-claimed: IPClaim ${taken} (pool check-pool) is on an address a SpiderReservedIP reserves`);
  const json = JSON.parse((await underpinCheck('-o', 'json')).stdout);
  t.ok(json.breaches >= 4, `-o json counts them (${json.breaches})`);
  t.ok(json.findings.every((f: { objects: string[]; fix: string }) => f.objects.length > 0 && f.fix.length > 0), 'each names objects and a fix');

  t.equal((await kubectl(['delete', 'pod', 'twin', 'outsider', '--grace-period=0', '--force'])).code, 0);
  await kubectl(['delete', 'ipclaim', '10.40.0.99', '--ignore-not-found']);
  await kubectl(['delete', 'spiderreservedip', 'late-reserve']);
  await checkConverged(cluster);
  t.equal((await underpinCheck()).code, 0, 'clean again');
});
