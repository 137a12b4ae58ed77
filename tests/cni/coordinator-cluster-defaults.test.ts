// underpin-coordinator's defaults from SpiderCoordinator `default`, in network
// namespaces (node-lab.ts plays the node): a network whose coordinator configuration
// says nothing but its kubeconfig gets underlay mode, the hijackCIDR and the Service
// CIDRs the object's status found, and DEL (same configuration) removes the veth it
// made; the network's own fields win; without the object (or with one the plugin
// cannot read) the built-in defaults hold and ADD still succeeds.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { canUseNetns, ipJSON } from './netns-lab.js';
import { LAN, NODE, SERVICES } from './node-lab.js';
import { startNodeLab } from './node-lab-suite.js';
import { REFERENCE_PLUGINS, runPluginBinary, type PluginCall, type PluginRun } from './plugin-binaries.js';
import { servePod, type PodFixture } from './stub-api-server.js';
import { hostVethName } from '../../cni/coordinator/veth-names.js';

const unusable = canUseNetns();
if (unusable) t.plan(0, `skipped: ${unusable}`);
else await suite();

async function suite(): Promise<void> {
  const { lab, bins, api } = await startNodeLab(t);

  const POD4 = '198.18.1.10';
  const TABLE = 510;
  const NODELOCALDNS = '169.254.20.10/32';
  const pod: PodFixture = {
    namespace: 'shop',
    name: 'web-0',
    uid: '0b0c9f5e-4444-4d4d-8e8e-000000000004',
    bindingID: 'b-web-0',
    nics: [{ interface: 'eth0', ipv4: { address: `${POD4}/24`, gateway: LAN.gateway4, pool: 'pool-a' } }],
  };
  servePod(api, pod);
  const coordinatorObject = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderCoordinator',
    metadata: { name: 'default' },
    spec,
    ...(status ? { status } : {}),
  });
  const cniArgs = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: pod.namespace, K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: 'sandbox', K8S_POD_UID: pod.uid };
  const cniPath = `${bins.dir}:${REFERENCE_PLUGINS}`;
  const macvlanConf = { cniVersion: '1.0.0', name: 'underlay', type: 'macvlan', master: lab.uplink, mode: 'bridge', ipam: { type: 'underpin', kubeconfig: api.kubeconfig } };
  // What a network needs to say once the cluster says the rest.
  const coordinatorConf = (prevResult: unknown, extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: 'underlay',
    type: 'underpin-coordinator',
    kubeconfig: api.kubeconfig,
    ...extra,
    ...(prevResult === undefined ? {} : { prevResult }),
  });

  type Sandbox = ReturnType<typeof lab.addPod>;
  const call = (sandbox: Sandbox, command: PluginCall['command'], config: unknown): PluginCall => ({
    command,
    config,
    containerID: sandbox.containerID,
    netns: sandbox.path,
    ifname: 'eth0',
    args: cniArgs,
    path: cniPath,
    inNetns: lab.node,
  });
  const macvlan = (c: PluginCall) => runPluginBinary(join(REFERENCE_PLUGINS, 'macvlan'), c);
  const coordinator = (c: PluginCall) => runPluginBinary(join(bins.dir, 'underpin-coordinator'), c);
  function ok(t: Test, run: PluginRun, what: string): any {
    t.equal(run.code, 0, `${what}: exit 0${run.code === 0 ? '' : ` (${run.stdout.trim()} ${run.stderr.trim()})`}`);
    return run.json;
  }
  const podRoutes = (netns: string) => ipJSON<any[]>(netns, ['-4', 'route', 'show', 'table', 'main']);
  const nodeLinks = () => ipJSON<any[]>(lab.node, ['link', 'show']).map((l) => l.ifname as string);

  async function run(t: Test, extra: Record<string, unknown> = {}) {
    const sandbox = lab.addPod();
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf)), 'macvlan ADD');
    const result = ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf(main, extra))), 'coordinator ADD');
    const routes = podRoutes(sandbox.netns);
    const links = ipJSON<any[]>(sandbox.netns, ['link', 'show']).map((l) => l.ifname as string);
    const del = async () => {
      ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf(result, extra))), 'coordinator DEL');
      ok(t, await macvlan(call(sandbox, 'DEL', { ...macvlanConf, prevResult: result })), 'macvlan DEL');
      lab.deleteNetns(sandbox.netns);
    };
    return { sandbox, routes, links, del };
  }

  t.test('a network that says nothing takes mode, hijackCIDR, hostRuleTable and the Service CIDRs from SpiderCoordinator default', async (t) => {
    api.coordinators.set('default', coordinatorObject({ mode: 'underlay', podCIDRType: 'cluster', hijackCIDR: ['169.254.20.10'], hostRuleTable: TABLE }, { phase: 'Synced', serviceCIDR: [SERVICES.cidr4], overlayPodCIDR: ['198.18.64.0/20'] }));
    t.teardown(() => api.coordinators.clear());
    const { sandbox, routes, links, del } = await run(t);
    t.ok(links.includes('veth0'), 'underlay mode, from the cluster: veth0 in the pod');
    for (const cidr of [SERVICES.cidr4, '198.18.64.0/20', NODELOCALDNS]) {
      const dst = cidr.replace(/\/32$/, '');
      t.ok(routes.some((r) => r.dst === dst && r.gateway === NODE.ipv4 && r.dev === 'veth0'), `pod: ${cidr} via ${NODE.ipv4} dev veth0`);
    }
    const rules = ipJSON<any[]>(lab.node, ['-4', 'rule', 'show']).filter((r) => r.table === String(TABLE));
    t.equal(rules.length, 1, `the node's rule to the pod looks up table ${TABLE}, the cluster's hostRuleTable`);
    t.ok(nodeLinks().includes(hostVethName(sandbox.containerID)), "the node's end of the veth");
    t.ok(api.requests.some((r) => r.path === '/apis/spiderpool.spidernet.io/v2beta1/spidercoordinators/default'), 'one GET of SpiderCoordinator default');
    t.notOk(api.requests.some((r) => r.method !== 'GET'), 'never a write');
    await del();
    t.notOk(nodeLinks().includes(hostVethName(sandbox.containerID)), "DEL with the same configuration knew the mode: the node's end is gone");
    t.equal(ipJSON<any[]>(lab.node, ['-4', 'rule', 'show']).filter((r) => r.table === String(TABLE)).length, 0, 'and its rule');
  });

  t.test("the network's own fields win; podCIDRType none routes no pod CIDR", async (t) => {
    api.coordinators.set('default', coordinatorObject({ mode: 'underlay', hijackCIDR: [NODELOCALDNS], hostRuleTable: TABLE }, { phase: 'Synced', serviceCIDR: [SERVICES.cidr4], overlayPodCIDR: ['198.18.64.0/20'] }));
    t.teardown(() => api.coordinators.clear());
    const own = await run(t, { hijackCIDR: ['198.18.200.0/24'], podCIDRType: 'none' });
    t.ok(own.routes.some((r) => r.dst === '198.18.200.0/24' && r.dev === 'veth0'), "the network's hijackCIDR");
    t.notOk(own.routes.some((r) => r.dst === '169.254.20.10'), "not the cluster's");
    t.notOk(own.routes.some((r) => r.dst === '198.18.64.0/20'), 'podCIDRType none: no pod CIDR');
    t.ok(own.routes.some((r) => r.dst === SERVICES.cidr4 && r.dev === 'veth0'), 'the Service CIDR still from the status');
    await own.del();
    const auto = await run(t, { mode: 'auto' });
    t.notOk(auto.links.includes('veth0'), "mode auto in the network wins over the cluster's underlay: no veth");
    await auto.del();
  });

  t.test('no SpiderCoordinator, or one the plugin cannot use: built-in defaults, ADD succeeds', async (t) => {
    const missing = await run(t);
    t.notOk(missing.links.includes('veth0'), 'absent: built-in mode auto, no veth');
    await missing.del();
    api.coordinators.set('default', coordinatorObject({ mode: 'underlay', hostRuleTable: 254 }));
    t.teardown(() => api.coordinators.clear());
    const invalid = await run(t);
    t.notOk(invalid.links.includes('veth0'), 'invalid (hostRuleTable 254, written past the webhook): built-in defaults');
    await invalid.del();
  });
}
