// SpiderCoordinator on the real control plane: the reconciler creates `default` and
// fills its status with the cluster's Service CIDR (the API server's ServiceCIDR
// object) and the nodes' podCIDRs; upstream's chart object applies unchanged; a
// second SpiderCoordinator and invalid fields are refused with the webhook's
// message; podCIDRType calico without Calico is NotReady with the reason.
// (The plugin side, in network namespaces: tests/cni/coordinator-cluster-defaults.test.ts;
// the node simulator runs the coordinator in the host's namespace and so is never
// given underlay mode.)
import t from 'tap';
import { stringify } from 'yaml';
import { eventually } from '../../hack/processes.js';
import { SERVICE_CLUSTER_IP_RANGE } from '../../hack/control-plane/control-plane.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { controllers: false });
const apply = (...objects: object[]) => cluster.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const getJson = async (what: string[]) => {
  const result = await cluster.kubectl(['get', ...what, '-o', 'json']);
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
};
const coordinator = (name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name }, spec });
const DENIED = 'admission webhook "spider-resources.validate.underpin.dev" denied the request';
const WAIT = { timeoutMs: 30_000, intervalMs: 250 };

const statusWhere = (what: string, test: (status: any) => boolean) =>
  eventually(what, async () => {
    const scc = await getJson(['spidercoordinator', 'default']);
    return scc?.status && test(scc.status) ? scc.status : undefined;
  }, WAIT);

t.test('the reconciler creates default, with the Service CIDR in its status', async (t) => {
  const status = await statusWhere('SpiderCoordinator default with a status', (s) => s.phase === 'Synced');
  t.same(status.serviceCIDR, [SERVICE_CLUSTER_IP_RANGE], 'from the API server\'s ServiceCIDR object');
  t.same(status.overlayPodCIDR ?? [], [], 'no node has podCIDRs yet: auto is none');
  const scc = await getJson(['spidercoordinator', 'default']);
  t.match(scc.spec, { mode: 'auto', podCIDRType: 'auto', tunePodRoutes: true, hostRuleTable: 500, podRPFilter: 0 });
  const columns = await cluster.kubectl(['get', 'scc']);
  t.match(columns.stdout, /NAME\s+MODE\s+POD-CIDR-TYPE\s+PHASE\s+AGE\ndefault\s+auto\s+auto\s+Synced/);
});

t.test("a node's podCIDRs reach the status at once", async (t) => {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'scc-node-1' }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] } };
  const created = await apply(node);
  t.equal(created.code, 0, created.stderr);
  const status = await statusWhere('overlayPodCIDR from the node', (s) => (s.overlayPodCIDR ?? []).length === 2);
  t.same(status.overlayPodCIDR, ['10.244.1.0/24', 'fd00:244:1::/64']);
  t.equal(status.phase, 'Synced');
});

t.test("upstream's Helm chart object applies unchanged", async (t) => {
  const chart = coordinator('default', {
    mode: 'auto',
    podCIDRType: 'cluster',
    tunePodRoutes: true,
    podDefaultRouteNIC: '',
    podMACPrefix: '',
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
    vethLinkAddress: '',
    hijackCIDR: ['169.254.0.0/16'],
  });
  const result = await apply(chart);
  t.equal(result.code, 0, result.stderr);
  const scc = await getJson(['spidercoordinator', 'default']);
  t.same(scc.spec.hijackCIDR, ['169.254.0.0/16']);
  t.equal(scc.spec.podCIDRType, 'cluster');
  const status = await statusWhere('still Synced with podCIDRType cluster', (s) => s.phase === 'Synced' && (s.overlayPodCIDR ?? []).length === 2);
  t.same(status.serviceCIDR, [SERVICE_CLUSTER_IP_RANGE]);
});

t.test('a second SpiderCoordinator is refused, saying why', async (t) => {
  const result = await apply(coordinator('mine', { podCIDRType: 'cluster' }));
  t.not(result.code, 0);
  t.match(result.stderr, DENIED);
  t.match(
    result.stderr,
    'SpiderCoordinator mine is invalid:\nmetadata.name: is "mine"; the cluster has one SpiderCoordinator, named "default", whose spec every coordinator network follows: edit SpiderCoordinator default (kubectl edit scc default) instead of creating another',
  );
  t.equal(await getJson(['spidercoordinator', 'mine']), undefined);
});

t.test('invalid fields are refused, each with the field, the value and the fix', async (t) => {
  const result = await apply(coordinator('default', { podCIDRType: 'cluster', hostRuleTable: 254, podMACPrefix: '01:02', vethLinkAddress: '10.0.0.1', podRPFilter: 5 }));
  t.not(result.code, 0);
  for (const line of [
    'SpiderCoordinator default is invalid:',
    'spec.podMACPrefix: is "01:02", a multicast prefix (the lowest bit of the first byte is 1); a pod needs a unicast MAC, e.g. "00:02"',
    "spec.hostRuleTable: is 254, the kernel's main table; pick a table of its own, e.g. 500",
    'spec.podRPFilter: is 5; write 0 (off), 1 (strict), 2 (loose), or a negative number to leave it as it is',
    'spec.vethLinkAddress: is "10.0.0.1"; write an IPv4 link-local address (169.254.0.0/16), e.g. "169.254.100.1", or "" for none',
  ]) {
    t.match(result.stderr, line);
  }
  const mode = await apply(coordinator('default', { podCIDRType: 'cluster', mode: 'disable' }));
  t.match(mode.stderr, 'The SpiderCoordinator "default" is invalid', 'the CRD\'s enum answers first for mode');
  t.equal((await getJson(['spidercoordinator', 'default'])).spec.hostRuleTable, 500, 'the object is unchanged');
});

t.test('podCIDRType calico without Calico: NotReady, with the reason', async (t) => {
  const result = await cluster.kubectl(['patch', 'scc', 'default', '--type=merge', '-p', JSON.stringify({ spec: { podCIDRType: 'calico' } })]);
  t.equal(result.code, 0, result.stderr);
  const status = await statusWhere('NotReady', (s) => s.phase === 'NotReady');
  t.match(status.reason, /podCIDRType is calico, but the cluster serves no Calico IPPools \(crd\.projectcalico\.org\/v1 ippools\); install Calico, or set spec\.podCIDRType to cluster or none/);
  t.same(status.serviceCIDR, [SERVICE_CLUSTER_IP_RANGE], 'what was found is kept');
  const back = await cluster.kubectl(['patch', 'scc', 'default', '--type=merge', '-p', JSON.stringify({ spec: { podCIDRType: 'none' } })]);
  t.equal(back.code, 0, back.stderr);
  const synced = await statusWhere('Synced again, reason gone', (s) => s.phase === 'Synced' && s.reason === undefined);
  t.same(synced.overlayPodCIDR ?? [], []);
});
