// Underlay mode in network namespaces, as a runtime runs the chain on a node:
// Debian's `macvlan` with `underpin` as IPAM, then `underpin-coordinator` with
// `mode: underlay`, all run inside a "node" namespace (node-lab.ts) — never in the
// real root namespace, which the coordinator would otherwise change. A macvlan pod
// cannot talk to its own node (the parent interface drops that traffic): with the
// veth the node reaches the pod (kubelet probes) and the pod reaches a ClusterIP
// on the node, without it neither; DEL leaves no link, route or rule; a failed ADD
// leaves nothing; a pod namespace that vanished before DEL leaves no stale rule
// behind once DEL runs, and none that blocks the next pod with the address.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { canUseNetns, ip, ipJSON } from './netns-lab.js';
import { LAN, LAN2, NODE, SERVICES } from './node-lab.js';
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
  const POD6 = 'fd00:18:1::10';
  const TABLE = 500;
  const POD_PORT = 8080;
  const SERVICE_PORT = 9090;
  const pod: PodFixture = {
    namespace: 'shop',
    name: 'web-0',
    uid: '0b0c9f5e-3333-4d4d-8e8e-000000000003',
    bindingID: 'b-web-0',
    nics: [
      {
        interface: 'eth0',
        ipv4: { address: `${POD4}/24`, gateway: LAN.gateway4, pool: 'pool-a' },
        ipv6: { address: `${POD6}/64`, gateway: LAN.gateway6, pool: 'pool-a6' },
      },
    ],
  };
  servePod(api, pod);
  const cniArgs = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: pod.namespace, K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: 'sandbox', K8S_POD_UID: pod.uid };
  const cniPath = `${bins.dir}:${REFERENCE_PLUGINS}`;

  const macvlanConf = (version: string) => ({
    cniVersion: version,
    name: 'underlay',
    type: 'macvlan',
    master: lab.uplink,
    mode: 'bridge',
    ipam: { type: 'underpin', kubeconfig: api.kubeconfig },
  });
  const underlay = { mode: 'underlay', serviceCIDR: [SERVICES.cidr4, SERVICES.cidr6], hostRuleTable: TABLE };
  const coordinatorConf = (version: string, prevResult: unknown, extra: Record<string, unknown> = underlay) => ({
    cniVersion: version,
    name: 'underlay',
    type: 'underpin-coordinator',
    kubeconfig: api.kubeconfig,
    ...extra,
    ...(prevResult === undefined ? {} : { prevResult }),
  });

  type Sandbox = ReturnType<typeof lab.addPod>;
  // Every plugin runs inside the node namespace: that is the "host" here.
  const call = (sandbox: Sandbox, command: PluginCall['command'], config: unknown, ifname = 'eth0', args: PluginCall['args'] = cniArgs): PluginCall => ({
    command,
    config,
    containerID: sandbox.containerID,
    netns: sandbox.path,
    ifname,
    args,
    path: cniPath,
    inNetns: lab.node,
  });
  const macvlan = (c: PluginCall) => runPluginBinary(join(REFERENCE_PLUGINS, 'macvlan'), c);
  const coordinator = (c: PluginCall) => runPluginBinary(join(bins.dir, 'underpin-coordinator'), c);

  function ok(t: Test, run: PluginRun, what: string): any {
    t.equal(run.code, 0, `${what}: exit 0${run.code === 0 ? '' : ` (${run.stdout.trim()} ${run.stderr.trim()})`}`);
    return run.json;
  }

  async function add(t: Test, sandbox: Sandbox, version: string, extra?: Record<string, unknown>) {
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(version))), 'macvlan ADD eth0');
    return ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf(version, main, extra))), 'coordinator ADD eth0');
  }

  async function del(t: Test, sandbox: Sandbox, version: string, result: unknown, extra?: Record<string, unknown>) {
    const prev = version === '0.3.1' ? undefined : result;
    ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf(version, prev, extra))), 'coordinator DEL eth0');
    ok(t, await macvlan(call(sandbox, 'DEL', { ...macvlanConf(version), ...(prev ? { prevResult: prev } : {}) })), 'macvlan DEL eth0');
  }

  const podRoutes = (netns: string, family: '-4' | '-6') => ipJSON<any[]>(netns, [family, 'route', 'show', 'table', 'main']);
  const ourRules = (family: '-4' | '-6') => ipJSON<any[]>(lab.node, [family, 'rule', 'show']).filter((r) => r.table === String(TABLE));
  const hostRoutes = (family: '-4' | '-6') => lab.nodeState(TABLE)[family === '-4' ? 'routes4' : 'routes6'] as any[];
  const clean = lab.nodeState(TABLE);

  t.test('without underlay mode, the node and its macvlan pod cannot reach each other', async (t) => {
    t.teardown(() => lab.stopProcesses());
    const sandbox = lab.addPod();
    const result = await add(t, sandbox, '1.0.0', { mode: 'auto' });
    await lab.tcpServer(sandbox.netns, '::', POD_PORT);
    await lab.tcpServer(lab.node, '::', SERVICE_PORT);
    t.equal(await lab.tcpExchange(lab.node, POD4, POD_PORT, 1000), false, 'node → pod (a kubelet probe) fails: the uplink does not hand it to its macvlan child');
    t.equal(await lab.tcpExchange(sandbox.netns, SERVICES.clusterIP4, SERVICE_PORT, 1000), false, 'pod → ClusterIP fails: the gateway knows no Service CIDR');
    t.same(lab.nodeState(TABLE), clean, 'mode auto does not touch the node');
    await del(t, sandbox, '1.0.0', result, { mode: 'auto' });
    lab.deleteNetns(sandbox.netns);
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
    // 1.0.0 names the node's addresses; the others let the coordinator read them from the node.
    const extra = version === '1.0.0' ? { ...underlay, nodeIPs: [NODE.ipv4, NODE.ipv6] } : underlay;
    t.test(`cniVersion ${version}: macvlan + underpin + underpin-coordinator, mode underlay${version === '1.0.0' ? ', nodeIPs given' : ''}`, async (t) => {
      t.teardown(() => lab.stopProcesses());
    const sandbox = lab.addPod();
      const hostVeth = hostVethName(sandbox.containerID);
      const result = await add(t, sandbox, version, extra);
      t.equal(result.cniVersion, version);
      t.same(result.ips.map((i: any) => i.address), [`${POD4}/24`, `${POD6}/64`], 'the main plugin\'s result passed through');

      const podLinks = ipJSON<any[]>(sandbox.netns, ['link', 'show']);
      t.ok(podLinks.find((l) => l.ifname === 'veth0')?.flags.includes('UP'), 'veth0 in the pod, up');
      const routes4 = podRoutes(sandbox.netns, '-4');
      t.ok(routes4.some((r) => r.dst === NODE.ipv4 && r.dev === 'veth0' && r.prefsrc === POD4), `pod: ${NODE.ipv4} dev veth0 src ${POD4}`);
      t.ok(routes4.some((r) => r.dst === SERVICES.cidr4 && r.gateway === NODE.ipv4 && r.dev === 'veth0'), `pod: ${SERVICES.cidr4} via ${NODE.ipv4} dev veth0`);
      t.ok(routes4.some((r) => r.dst === 'default' && r.gateway === LAN.gateway4 && r.dev === 'eth0'), 'pod: the default route stays on eth0');
      const routes6 = podRoutes(sandbox.netns, '-6');
      t.ok(routes6.some((r) => r.dst === NODE.ipv6 && r.dev === 'veth0'), `pod: ${NODE.ipv6} dev veth0`);
      t.ok(routes6.some((r) => r.dst === SERVICES.cidr6 && r.gateway === NODE.ipv6 && r.dev === 'veth0'), `pod: ${SERVICES.cidr6} via ${NODE.ipv6} dev veth0`);

      t.ok(lab.nodeState(TABLE).links.includes(hostVeth), `node: link ${hostVeth}`);
      t.same(ourRules('-4').map((r) => [r.priority, r.dst]), [[1000, POD4]], `node: rule to ${POD4} lookup ${TABLE} pref 1000`);
      t.same(ourRules('-6').map((r) => [r.priority, r.dst]), [[1000, POD6]], `node: rule to ${POD6} lookup ${TABLE}`);
      t.same(hostRoutes('-4').map((r) => [r.dst, r.dev, r.prefsrc]), [[POD4, hostVeth, NODE.ipv4]], `node: table ${TABLE} routes ${POD4} through ${hostVeth} from ${NODE.ipv4}`);
      t.same(hostRoutes('-6').map((r) => [r.dst, r.dev]), [[POD6, hostVeth]]);
      t.match(ip(['-n', lab.node, 'route', 'get', POD4]), new RegExp(`dev ${hostVeth} table ${TABLE} src ${NODE.ipv4.replaceAll('.', '\\.')}`), 'the node routes to the pod through the veth');

      await lab.tcpServer(sandbox.netns, '::', POD_PORT);
      await lab.tcpServer(lab.node, '::', SERVICE_PORT);
      t.equal(await lab.tcpExchange(lab.node, POD4, POD_PORT), true, `node → pod ${POD4} (a kubelet probe) through the veth, with strict rp_filter on the node`);
      t.equal(await lab.tcpExchange(lab.node, POD6, POD_PORT), true, `node → pod ${POD6}`);
      t.equal(await lab.tcpExchange(sandbox.netns, SERVICES.clusterIP4, SERVICE_PORT), true, `pod → ClusterIP ${SERVICES.clusterIP4} through the veth`);
      t.equal(await lab.tcpExchange(sandbox.netns, SERVICES.clusterIP6, SERVICE_PORT), true, `pod → ClusterIP ${SERVICES.clusterIP6}`);
      t.equal(await lab.tcpExchange(sandbox.netns, NODE.ipv4, SERVICE_PORT), true, `pod → the node's address ${NODE.ipv4}`);

      if (version !== '0.3.1') {
        ok(t, await macvlan(call(sandbox, 'CHECK', { ...macvlanConf(version), prevResult: result })), 'macvlan+underpin CHECK');
        ok(t, await coordinator(call(sandbox, 'CHECK', coordinatorConf(version, result, extra))), 'coordinator CHECK');
        ip(['-n', lab.node, '-4', 'rule', 'del', 'to', POD4, 'lookup', String(TABLE), 'pref', '1000']);
        const broken = await coordinator(call(sandbox, 'CHECK', coordinatorConf(version, result, extra)));
        t.equal(broken.json?.code, 106, `CHECK without the node's rule: code 106 (${broken.stdout.trim()})`);
        t.match(broken.json?.msg, new RegExp(`the node has no rule "to ${POD4.replaceAll('.', '\\.')} lookup ${TABLE}"`));
        ip(['-n', lab.node, '-4', 'rule', 'add', 'to', POD4, 'lookup', String(TABLE), 'pref', '1000', 'protocol', '85']);
      }

      await del(t, sandbox, version, result, extra);
      t.same(lab.nodeState(TABLE), clean, 'DEL: no link, rule, route or neighbour entry left on the node');
      t.same(ipJSON<any[]>(sandbox.netns, ['link', 'show']).map((l) => l.ifname), ['lo'], 'the pod has only lo');
      ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf(version, undefined, extra))), 'DEL again');
      lab.deleteNetns(sandbox.netns);
    });
  }

  t.test('the default route on net1: eth0 has its own table, and it routes to the node through the veth too', async (t) => {
    t.teardown(() => lab.stopProcesses());
    const twoNics: PodFixture = {
      namespace: 'shop',
      name: 'db-0',
      uid: '0b0c9f5e-4444-4d4d-8e8e-000000000004',
      bindingID: 'b-db-0',
      nics: [
        { interface: 'eth0', ipv4: { address: '198.18.1.11/24', gateway: LAN.gateway4, pool: 'pool-a' } },
        { interface: 'net1', ipv4: { address: '198.18.2.11/24', gateway: LAN2.gateway4, pool: 'pool-b' } },
      ],
    };
    servePod(api, twoNics);
    const args = { ...cniArgs, K8S_POD_NAME: twoNics.name, K8S_POD_UID: twoNics.uid };
    const sandbox = lab.addPod();
    const extra = { ...underlay, podDefaultRouteNic: 'net1' };
    const results: Record<string, any> = {};
    for (const [ifname, master] of [
      ['eth0', lab.uplink],
      ['net1', lab.uplink2],
    ] as const) {
      const main = ok(t, await macvlan(call(sandbox, 'ADD', { ...macvlanConf('1.0.0'), master }, ifname, args)), `macvlan ADD ${ifname}`);
      results[ifname] = ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf('1.0.0', main, extra), ifname, args)), `coordinator ADD ${ifname}`);
    }
    const table101 = ipJSON<any[]>(sandbox.netns, ['-4', 'route', 'show', 'table', '101']);
    t.ok(table101.some((r) => r.dst === NODE.ipv4 && r.dev === 'veth0'), `eth0's table 101: ${NODE.ipv4} dev veth0`);
    t.ok(table101.some((r) => r.dst === SERVICES.cidr4 && r.dev === 'veth0'), `eth0's table 101: ${SERVICES.cidr4} via veth0`);
    t.same(podRoutes(sandbox.netns, '-4').filter((r) => r.dst === 'default').map((r) => r.dev), ['net1'], 'main: the default route on net1');
    t.notOk(ipJSON<any[]>(sandbox.netns, ['-4', 'route', 'show', 'table', '100']).some((r) => r.dev === 'veth0'), "net1's table 100: no veth routes");

    await lab.tcpServer(sandbox.netns, '::', POD_PORT);
    await lab.tcpServer(lab.node, '::', SERVICE_PORT);
    t.equal(await lab.tcpExchange(lab.node, '198.18.1.11', POD_PORT), true, "node → pod's eth0 address: replies from it follow eth0's table back through the veth");
    t.equal(await lab.tcpExchange(sandbox.netns, SERVICES.clusterIP4, SERVICE_PORT), true, 'pod → ClusterIP through the veth');
    ok(t, await coordinator(call(sandbox, 'CHECK', coordinatorConf('1.0.0', results.eth0, extra), 'eth0', args)), 'coordinator CHECK eth0');

    for (const ifname of ['net1', 'eth0']) {
      ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf('1.0.0', results[ifname], extra), ifname, args)), `coordinator DEL ${ifname}`);
    }
    t.same(lab.nodeState(TABLE), clean, 'nothing left on the node');
    t.same(ipJSON<any[]>(sandbox.netns, ['-4', 'rule', 'show']).filter((r) => r.table !== 'local' && r.table !== 'main' && r.table !== 'default'), [], 'nor rules in the pod');
    lab.deleteNetns(sandbox.netns);
  });

  t.test('a failed ADD leaves the node and the pod as they were', async (t) => {
    t.teardown(() => lab.stopProcesses());
    const sandbox = lab.addPod();
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf('1.0.0'))), 'macvlan ADD eth0');
    // Another route to the pod's address in the table: the node's route add fails,
    // after the veth, the pod's routes and the IPv4 rule were made.
    ip(['-n', lab.node, '-6', 'route', 'add', `${POD6}/128`, 'dev', lab.uplink, 'table', String(TABLE)]);
    const before = { node: lab.nodeState(TABLE), pod: ipJSON<any[]>(sandbox.netns, ['link', 'show']).map((l) => l.ifname), routes: podRoutes(sandbox.netns, '-4') };
    const failed = await coordinator(call(sandbox, 'ADD', coordinatorConf('1.0.0', main)));
    t.not(failed.code, 0, 'non-zero exit');
    t.equal(failed.json?.code, 107, `code 107 (${failed.stdout.trim()})`);
    t.match(failed.json?.msg, new RegExp(`routes on the node to eth0's IPv6 addresses through ${hostVethName(sandbox.containerID)} \\(table ${TABLE}\\) failed in the node namespace \\(route add ${POD6}/128 .*File exists\\); all changes were undone`));
    const after = { node: lab.nodeState(TABLE), pod: ipJSON<any[]>(sandbox.netns, ['link', 'show']).map((l) => l.ifname), routes: podRoutes(sandbox.netns, '-4') };
    t.same(after, before, 'links, rules, routes and neighbours exactly as before');
    ip(['-n', lab.node, '-6', 'route', 'del', `${POD6}/128`, 'table', String(TABLE)]);
    t.same(lab.nodeState(TABLE), clean);
    ok(t, await coordinator(call(sandbox, 'DEL', 'garbage')), 'DEL with garbage: exit 0 (and the node untouched: the mode is unknown)');
    ok(t, await macvlan(call(sandbox, 'DEL', { ...macvlanConf('1.0.0'), prevResult: main })), 'macvlan DEL');
    lab.deleteNetns(sandbox.netns);
  });

  t.test('a pod namespace gone before DEL: its rule blocks nobody, and DEL removes it without touching a live pod\'s', async (t) => {
    t.teardown(() => lab.stopProcesses());
    const gone = lab.addPod();
    await add(t, gone, '1.0.0');
    lab.deleteNetns(gone.netns);
    t.notOk(lab.nodeState(TABLE).links.includes(hostVethName(gone.containerID)), 'the veth went with the namespace');
    t.same(ourRules('-4').map((r) => r.dst), [POD4], 'its rule outlives it');

    const next = lab.addPod();
    const result = await add(t, next, '1.0.0');
    t.same(ourRules('-4').map((r) => r.dst), [POD4], 'the next pod with the address: ADD replaced the stale rule');
    await lab.tcpServer(next.netns, '::', POD_PORT + 1);
    t.equal(await lab.tcpExchange(lab.node, POD4, POD_PORT + 1), true, 'and the node reaches it');

    ok(t, await coordinator(call(gone, 'DEL', coordinatorConf('1.0.0', undefined))), 'the late DEL of the vanished pod');
    t.same(ourRules('-4').map((r) => r.dst), [POD4], "the live pod's rule stays (its route is there)");
    t.equal(await lab.tcpExchange(lab.node, POD4, POD_PORT + 1), true, 'still reachable');

    const state = lab.nodeState(TABLE);
    lab.deleteNetns(next.netns);
    ok(t, await coordinator(call(next, 'DEL', coordinatorConf('1.0.0', result))), 'DEL after the namespace is gone');
    t.ok(state.links.includes(hostVethName(next.containerID)), 'the live pod had its veth until its namespace went');
    t.same(lab.nodeState(TABLE), clean, 'nothing left on the node');
  });

  t.test('no write to the API', async (t) => {
    t.same(api.requests.filter((r) => r.method !== 'GET'), []);
    t.ok(api.requests.length > 0, 'the plugins did reach the stub inside the node namespace');
  });
}
