// Workload admission on the real control plane, through kubectl as a user runs it:
// a Deployment, StatefulSet or CronJob that no pod of could pass is refused at
// `kubectl apply` with the pod's own message; what may pass by itself is a
// `Warning:` kubectl prints; `--dry-run=server` says the same; an image bump is
// never refused for a problem already there; a valid two-NIC Deployment is admitted
// silently; and the webhook counts denials and warnings by reason.
import t from 'tap';
import { stringify } from 'yaml';
import { eventually } from '../../hack/processes.js';
import { httpsRequest } from '../webhook/https-client.js';
import { startLocalCluster } from './local-cluster.js';

// One webhook replica: its /metrics then counts every admission of this file.
const cluster = await startLocalCluster(t, { webhookReplicas: 1 });
const kubectl = cluster.kubectl;
const apply = (object: object, ...args: string[]) => kubectl(['apply', ...args, '-f', '-'], stringify(object));
const DENIED = 'admission webhook "workloads.validate.underpin.dev" denied the request: ';

const pool = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
const subnet = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name }, spec });
const template = (app: string, annotations: Record<string, string>) => ({
  metadata: { labels: { app }, annotations },
  spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
});
const deployment = (name: string, annotations: Record<string, string>, replicas = 1, strategy: object = { type: 'Recreate' }) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: { replicas, strategy, selector: { matchLabels: { app: name } }, template: template(name, annotations) },
});
const ippool = (...names: string[]) => ({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: names }) });

await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
const setup = [
  pool('two-free', { subnet: '10.30.0.0/16', ips: ['10.30.0.10-10.30.0.11'] }),
  pool('bump-pool', { subnet: '10.33.0.0/16', ips: ['10.33.0.10-10.33.0.19'] }),
  subnet('wl-eth0', { subnet: '10.31.0.0/16', ips: ['10.31.0.10-10.31.0.100'] }),
  subnet('wl-net1', { subnet: '10.32.0.0/16', ips: ['10.32.0.10-10.32.0.100'] }),
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'macvlan-net1', namespace: 'kube-system' },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }) },
  },
];
t.equal((await kubectl(['apply', '-f', '-'], setup.map((o) => stringify(o)).join('---\n'))).code, 0);

t.test('Deployment naming a pool that does not exist: refused at kubectl apply, and with --dry-run=server', async (t) => {
  const typo = deployment('typo-app', ippool('no-such-pool'));
  const message = `${DENIED}Deployment default/typo-app: IPv4 pool "no-such-pool" for interface eth0 does not exist (named by annotation ipam.spidernet.io/ippool); create it or fix the name`;
  const dry = await apply(typo, '--dry-run=server');
  t.not(dry.code, 0);
  t.match(dry.stderr, message, 'dry run: the same denial');
  const real = await apply(typo);
  t.not(real.code, 0, 'refused');
  t.match(real.stderr, message);
  t.not((await kubectl(['get', 'deployment', 'typo-app'])).code, 0, 'not created');
});

t.test('Deployment of 5 replicas on a pool of 2 free addresses: created, with a warning kubectl prints', async (t) => {
  const five = deployment('five', ippool('two-free'), 5);
  const warning =
    'Warning: Deployment default/five: 5 replicas need 5 IPv4 addresses for interface eth0, but pool two-free has 2 for it (2 usable, none held by other pods): 3 pods will be refused until addresses are freed or added (spec.ips of pool two-free, or another pool in annotation ipam.spidernet.io/ippool)';
  const dry = await apply(five, '--dry-run=server');
  t.equal(dry.code, 0);
  t.match(dry.stderr, warning, 'dry run: the same warning');
  const real = await apply(five);
  t.equal(real.code, 0, 'created');
  t.match(real.stderr, warning);
  // Its own two pods hold both addresses; they are its own, so 2 replicas fit and 6 do not.
  const claimsOf = async (name: string) => (await kubectl(['get', 'ipclaims', '-o', 'jsonpath={.items[*].spec.pool}'])).stdout.split(' ').filter((p) => p === name).length;
  await eventually('two pods bound', async () => (await claimsOf('two-free')) === 2);
  const down = await kubectl(['scale', 'deployment', 'five', '--replicas', '2']);
  t.equal(down.code, 0);
  t.notMatch(down.stderr, 'Warning', 'its own pods\' addresses count for it');
  const up = await kubectl(['scale', 'deployment', 'five', '--replicas', '6']);
  t.equal(up.code, 0, 'kubectl scale is never refused for the pool');
  t.match(up.stderr, 'Warning: Deployment default/five: 6 replicas need 6 IPv4 addresses for interface eth0, but pool two-free has 2 for it');
});

t.test('subnets naming net1 without a Multus network for it: refused, and no auto pool carved', async (t) => {
  const annotations = { 'ipam.spidernet.io/subnets': JSON.stringify([{ interface: 'eth0', ipv4: ['wl-eth0'] }, { interface: 'net1', ipv4: ['wl-net1'] }]) };
  const result = await apply(deployment('no-net1', annotations, 2));
  t.not(result.code, 0);
  t.match(
    result.stderr,
    `${DENIED}Deployment default/no-net1: annotation ipam.spidernet.io/subnets: interface "net1" is not a NIC of this pod (it has eth0); attach it with k8s.v1.cni.cncf.io/networks or fix the name`,
  );
  const pools = await kubectl(['get', 'spiderippools', '-l', 'ipam.spidernet.io/owner-application-name=no-net1', '-o', 'name']);
  t.equal(pools.stdout.trim(), '', 'no auto pool for a denied Deployment');
});

t.test('a valid two-NIC Deployment of replicas + 1 is admitted with no warning', async (t) => {
  const annotations = {
    'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-net1',
    'ipam.spidernet.io/subnets': JSON.stringify([{ interface: 'eth0', ipv4: ['wl-eth0'] }, { interface: 'net1', ipv4: ['wl-net1'] }]),
    'ipam.spidernet.io/ippool-ip-number': '+1',
  };
  const result = await apply(deployment('two-nic', annotations, 2, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }));
  t.equal(result.code, 0);
  t.equal(result.stderr, '', 'no warning');
  const pools = await kubectl(['get', 'spiderippools', '-l', 'ipam.spidernet.io/owner-application-name=two-nic', '-o', 'jsonpath={.items[*].metadata.name}']);
  t.equal(pools.stdout.split(' ').filter(Boolean).length, 2, 'its two auto pools');
});

t.test('StatefulSet and CronJob templates are judged the same way', async (t) => {
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'typo-db', namespace: 'default' },
    spec: { replicas: 1, serviceName: 'typo-db', selector: { matchLabels: { app: 'typo-db' } }, template: template('typo-db', ippool('no-such-pool')) },
  };
  const stsResult = await apply(sts);
  t.not(stsResult.code, 0);
  t.match(stsResult.stderr, `${DENIED}StatefulSet default/typo-db: IPv4 pool "no-such-pool" for interface eth0 does not exist`);
  const cron = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'typo-backup', namespace: 'default' },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { ...template('typo-backup', { 'ipam.spidernet.io/ippool': '{"ipv4":["two-free"' }), spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } } } },
  };
  const cronResult = await apply(cron);
  t.not(cronResult.code, 0);
  t.match(cronResult.stderr, `${DENIED}CronJob default/typo-backup: annotation ipam.spidernet.io/ippool: not valid JSON`);
  t.match(cronResult.stderr, 'e.g. {"ipv4":["pool-a"],"ipv6":["pool-a6"]}', 'with a valid example, as on a pod');
});

t.test('an image bump is not refused for a pool deleted since: it is a warning', async (t) => {
  t.equal((await apply(deployment('bump', ippool('bump-pool')))).code, 0);
  await eventually('the pod bound', async () => (await kubectl(['get', 'ipclaims', '-o', 'jsonpath={.items[*].spec.pool}'])).stdout.split(' ').includes('bump-pool'));
  // In use: the pool stays, being deleted, until its pods are gone.
  t.equal((await kubectl(['delete', 'spiderippool', 'bump-pool', '--wait=false'])).code, 0);
  await eventually('the pool is being deleted', async () => (await kubectl(['get', 'spiderippool', 'bump-pool', '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout !== '');
  const bump = await kubectl(['set', 'image', 'deployment/bump', 'app=registry.invalid/app:2']);
  t.equal(bump.code, 0, 'rolled out');
  t.match(
    bump.stderr,
    "Warning: Deployment default/bump: no IPv4 address for interface eth0: bump-pool is being deleted; fix annotation ipam.spidernet.io/ippool (admitted: this update leaves the pod template's networking as it was, but its new pods will be refused until this is fixed)",
  );
  const changed = await apply(deployment('bump', { ...ippool('bump-pool'), 'example.com/touched': 'v2' }));
  t.not(changed.code, 0, 'an update that changes the template metadata is judged as a create');
  // Recreate: the old pod may be gone by now, its address released and the pool with it.
  t.match(changed.stderr, new RegExp(`Deployment default/bump: (no IPv4 address for interface eth0: bump-pool is being deleted|IPv4 pool "bump-pool" for interface eth0 does not exist)`));
  t.match(changed.stderr, DENIED);
});

t.test('the webhook counts denials and warnings by reason', async (t) => {
  const reply = await httpsRequest(`${cluster.underpin.webhookUrl}/metrics`, { ca: cluster.underpin.webhookCaPem });
  const count = (kind: string, verdict: string, reason: string) =>
    reply.body
      .split('\n')
      .filter((line) => line.startsWith('underpin_admission_findings_total{') && line.includes(`kind="${kind}"`) && line.includes(`verdict="${verdict}"`) && line.includes(`reason="${reason}"`))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  t.ok(count('Deployment', 'denied', 'unknown-pool') >= 2, 'unknown pool (dry run and real)');
  t.ok(count('Deployment', 'warned', 'replicas-exceed-pool') >= 2, 'replicas above the pool');
  t.ok(count('Scale', 'warned', 'replicas-exceed-pool') >= 1, 'kubectl scale');
  t.ok(count('CronJob', 'denied', 'invalid-request') >= 1, 'malformed annotation');
});
