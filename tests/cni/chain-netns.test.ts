// The real CNI chain in network namespaces, as a runtime runs it: Debian's `macvlan`
// (master: the host end of an uplink veth) with `underpin` as IPAM, then
// `underpin-coordinator`, for each CNI version; pod and claims from a stub API on
// 127.0.0.1. Reproduces the multi-NIC routing problem — a client in a third subnet,
// behind a router with strict rp_filter, reaches the pod's net1 address only when
// the coordinator makes replies leave by net1 — and checks that failed calls leave
// no partial routes and DEL leaves nothing.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { CLIENT, NetnsLab, SUBNET_A, SUBNET_B, SUBNET_B6, canUseNetns, ip, ipJSON } from './netns-lab.js';
import { REFERENCE_PLUGINS, pluginBinaries, runPluginBinary, type PluginCall, type PluginRun } from './plugin-binaries.js';
import { servePod, startStubApi, type PodFixture } from './stub-api-server.js';

const unusable = canUseNetns();
if (unusable) t.plan(0, `skipped: ${unusable}`);
else await suite();

async function suite(): Promise<void> {
  const lab = new NetnsLab();
  const bins = await pluginBinaries();
  const api = await startStubApi();
  t.teardown(async () => {
    lab.cleanup();
    await api.close();
    bins.cleanup();
  });
  lab.setUp();

  const POD_A = '198.18.1.10';
  const POD_B = '198.18.2.10';
  const POD_B6 = 'fd00:18:2::10';
  const PORT = 7777;
  const pod: PodFixture = {
    namespace: 'shop',
    name: 'db-0',
    uid: '0b0c9f5e-2222-4d4d-8e8e-000000000002',
    bindingID: 'b-db-0',
    nics: [
      { interface: 'eth0', ipv4: { address: `${POD_A}/24`, gateway: SUBNET_A.gateway, pool: 'pool-a' } },
      {
        interface: 'net1',
        ipv4: { address: `${POD_B}/24`, gateway: SUBNET_B.gateway, pool: 'pool-b' },
        ipv6: { address: `${POD_B6}/64`, gateway: SUBNET_B6.gateway, pool: 'pool-b6' },
        routes: [{ dst: '198.19.0.0/16', gw: SUBNET_B.gateway }],
      },
    ],
  };
  servePod(api, pod);
  const cniArgs = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: pod.namespace, K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: 'sandbox', K8S_POD_UID: pod.uid };
  const cniPath = `${bins.dir}:${REFERENCE_PLUGINS}`;

  const macvlanConf = (version: string, master: string, name: string) => ({
    cniVersion: version,
    name,
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: { type: 'underpin', kubeconfig: api.kubeconfig },
  });
  const coordinatorConf = (version: string, name: string, prevResult: unknown, extra: Record<string, unknown> = {}) => ({
    cniVersion: version,
    name,
    type: 'underpin-coordinator',
    kubeconfig: api.kubeconfig,
    ...extra,
    ...(prevResult === undefined ? {} : { prevResult }),
  });

  interface Sandbox {
    netns: string;
    path: string;
    containerID: string;
  }

  let sandboxes = 0;
  function newSandbox(): Sandbox {
    const netns = lab.addNetns(`up-${lab.id}-pod${++sandboxes}`);
    // No duplicate address detection for the NICs moved in: the test need not wait for it.
    lab.sysctl(netns, { 'net.ipv6.conf.default.accept_dad': '0', 'net.ipv6.conf.all.accept_dad': '0' });
    lab.flushRouterNeighbours();
    return { netns, path: `/run/netns/${netns}`, containerID: `ctr-${lab.id}-${sandboxes}` };
  }

  function callIn(sandbox: Sandbox, command: PluginCall['command'], ifname: string, config: unknown, args: PluginCall['args'] = cniArgs): PluginCall {
    return { command, config, containerID: sandbox.containerID, netns: sandbox.path, ifname, args, path: cniPath };
  }
  const macvlan = (call: PluginCall) => runPluginBinary(join(REFERENCE_PLUGINS, 'macvlan'), call);
  const coordinator = (call: PluginCall) => runPluginBinary(join(bins.dir, 'underpin-coordinator'), call);

  function ok(t: Test, run: PluginRun, what: string): any {
    t.equal(run.code, 0, `${what}: exit 0${run.code === 0 ? '' : ` (${run.stdout.trim()} ${run.stderr.trim()})`}`);
    return run.json;
  }

  /** ADD of both networks, eth0 then net1, as Multus does; returns the final results. */
  async function addPod(t: Test, sandbox: Sandbox, version: string, withCoordinator: boolean) {
    const results: Record<string, any> = {};
    for (const [ifname, master, net] of [
      ['eth0', lab.uplinkA, 'underlay-a'],
      ['net1', lab.uplinkB, 'underlay-b'],
    ] as const) {
      const main = ok(t, await macvlan(callIn(sandbox, 'ADD', ifname, macvlanConf(version, master, net))), `macvlan ADD ${ifname}`);
      results[ifname] = main;
      if (withCoordinator) results[ifname] = ok(t, await coordinator(callIn(sandbox, 'ADD', ifname, coordinatorConf(version, net, main))), `coordinator ADD ${ifname}`);
    }
    return results;
  }

  async function delPod(t: Test, sandbox: Sandbox, version: string, results: Record<string, any>, withCoordinator: boolean) {
    for (const [ifname, master, net] of [
      ['net1', lab.uplinkB, 'underlay-b'],
      ['eth0', lab.uplinkA, 'underlay-a'],
    ] as const) {
      const prev = version === '0.3.1' ? undefined : results[ifname];
      if (withCoordinator) ok(t, await coordinator(callIn(sandbox, 'DEL', ifname, coordinatorConf(version, net, prev))), `coordinator DEL ${ifname}`);
      ok(t, await macvlan(callIn(sandbox, 'DEL', ifname, { ...macvlanConf(version, master, net), ...(prev ? { prevResult: prev } : {}) })), `macvlan DEL ${ifname}`);
    }
  }

  const routesOf = (netns: string, table: string): any[] => {
    try {
      return ipJSON<any[]>(netns, ['-4', 'route', 'show', 'table', table]);
    } catch (error) {
      if (/FIB table does not exist/.test(String((error as { stderr?: unknown }).stderr))) return [];
      throw error;
    }
  };
  const ourRules = (netns: string, family: '-4' | '-6' = '-4') => ipJSON<any[]>(netns, [family, 'rule', 'show']).filter((r) => r.table !== 'local' && r.table !== 'main' && r.table !== 'default');
  const routes6Of = (netns: string, table: string): any[] => {
    try {
      return ipJSON<any[]>(netns, ['-6', 'route', 'show', 'table', table]);
    } catch {
      return [];
    }
  };

  t.test('without the coordinator, replies from net1 leave by eth0 and the router drops them', async (t) => {
    const sandbox = newSandbox();
    const results = await addPod(t, sandbox, '1.0.0', false);
    t.same(results.net1.ips.map((i: any) => i.address), [`${POD_B}/24`, `${POD_B6}/64`]);
    await lab.tcpServer(sandbox.netns, '0.0.0.0', PORT);
    t.equal(await lab.tcpExchange(POD_A, PORT), true, 'eth0 address answers (its replies take the default route, eth0)');
    t.equal(await lab.tcpExchange(POD_B, PORT), false, 'net1 address does not answer: reply via eth0, dropped by rp_filter');
    await delPod(t, sandbox, '1.0.0', results, false);
    lab.deleteNetns(sandbox.netns);
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
    t.test(`cniVersion ${version}: macvlan + underpin + underpin-coordinator`, async (t) => {
      const sandbox = newSandbox();
      const results = await addPod(t, sandbox, version, true);
      t.equal(results.eth0.cniVersion, version);
      t.same(results.eth0.ips.map((i: any) => i.address), [`${POD_A}/24`], 'eth0 result passed through the coordinator');

      const addrs = ipJSON<any[]>(sandbox.netns, ['addr', 'show']);
      const v4 = (name: string) => addrs.find((l) => l.ifname === name)?.addr_info.filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`);
      t.same(v4('eth0'), [`${POD_A}/24`], 'eth0 address');
      t.same(v4('net1'), [`${POD_B}/24`], 'net1 address');
      t.ok(
        addrs.find((l) => l.ifname === 'net1')?.addr_info.some((a: any) => a.family === 'inet6' && a.local === POD_B6 && a.prefixlen === 64),
        'net1 IPv6 address',
      );
      t.ok(routes6Of(sandbox.netns, '100').some((r) => r.dst === 'default' && r.gateway === SUBNET_B6.gateway && r.dev === 'net1'), 'table 100: IPv6 default via the net1 gateway');
      t.ok(ourRules(sandbox.netns, '-6').some((r) => r.src === POD_B6 && r.table === '100'), `rule from ${POD_B6} lookup 100`);
      t.notOk(routes6Of(sandbox.netns, 'main').some((r) => r.dst === 'default'), 'main: no IPv6 default (eth0 has no IPv6, net1 does not keep the default)');

      const main = routesOf(sandbox.netns, 'main');
      t.same(main.filter((r) => r.dst === 'default').map((r) => [r.gateway, r.dev]), [[SUBNET_A.gateway, 'eth0']], 'main: the default route is on eth0 only');
      t.same(
        main.filter((r) => r.dev === 'net1').map((r) => r.dst).sort(),
        ['198.18.2.0/24', '198.19.0.0/16'],
        "main: net1's subnet and binding route stay (destination routing; macvlan's CHECK looks for them), no default via net1",
      );
      const table100 = routesOf(sandbox.netns, '100');
      t.ok(table100.some((r) => r.dst === 'default' && r.gateway === SUBNET_B.gateway && r.dev === 'net1'), 'table 100: default via the net1 gateway');
      t.ok(table100.some((r) => r.dst === SUBNET_B.cidr && r.dev === 'net1'), "table 100: net1's subnet");
      t.ok(table100.some((r) => r.dst === '198.19.0.0/16' && r.gateway === SUBNET_B.gateway), "table 100: net1's route from the binding");
      const rules = ourRules(sandbox.netns);
      t.ok(rules.some((r) => r.src === POD_B && r.table === '100'), `rule from ${POD_B} lookup 100`);
      t.equal(rules.length, 1, 'one rule: from the net1 address');
      t.notOk(rules.some((r) => r.src === POD_A), 'eth0 (default route NIC, first) gets no table');
      const get = ip(['-n', sandbox.netns, 'route', 'get', '198.19.5.5']);
      t.match(get, /via 198\.18\.2\.1 dev net1/, 'the binding route of net1 still routes by destination');

      await lab.tcpServer(sandbox.netns, '0.0.0.0', PORT);
      t.equal(await lab.tcpExchange(POD_B, PORT), true, `client ${CLIENT.client} gets replies from net1 (${POD_B}) through the strict router`);
      t.equal(await lab.tcpExchange(POD_A, PORT), true, 'and from eth0');

      if (version !== '0.3.1') {
        for (const [ifname, master, net] of [
          ['eth0', lab.uplinkA, 'underlay-a'],
          ['net1', lab.uplinkB, 'underlay-b'],
        ] as const) {
          ok(t, await macvlan(callIn(sandbox, 'CHECK', ifname, { ...macvlanConf(version, master, net), prevResult: results[ifname] })), `macvlan+underpin CHECK ${ifname}`);
          ok(t, await coordinator(callIn(sandbox, 'CHECK', ifname, coordinatorConf(version, net, results[ifname]))), `coordinator CHECK ${ifname}`);
        }
      }

      await delPod(t, sandbox, version, results, true);
      t.same(ourRules(sandbox.netns), [], 'DEL removed the rules');
      t.same(ourRules(sandbox.netns, '-6'), [], 'DEL removed the IPv6 rules');
      t.same(routesOf(sandbox.netns, '100'), [], 'DEL emptied table 100');
      t.same(ipJSON<any[]>(sandbox.netns, ['link', 'show']).map((l) => l.ifname), ['lo'], 'macvlan DEL removed the NICs');
      lab.deleteNetns(sandbox.netns);
    });
  }

  t.test('the default route on net1 (podDefaultRouteNic): eth0 gets the next table', async (t) => {
    const sandbox = newSandbox();
    const results: Record<string, any> = {};
    for (const [ifname, master, net] of [
      ['eth0', lab.uplinkA, 'underlay-a'],
      ['net1', lab.uplinkB, 'underlay-b'],
    ] as const) {
      const main = ok(t, await macvlan(callIn(sandbox, 'ADD', ifname, macvlanConf('1.0.0', master, net))), `macvlan ADD ${ifname}`);
      results[ifname] = ok(t, await coordinator(callIn(sandbox, 'ADD', ifname, coordinatorConf('1.0.0', net, main, { podDefaultRouteNic: 'net1' }))), `coordinator ADD ${ifname}`);
    }
    const main = routesOf(sandbox.netns, 'main');
    t.same(main.filter((r) => r.dst === 'default').map((r) => [r.gateway, r.dev]), [[SUBNET_B.gateway, 'net1']], 'main: default via net1');
    t.ok(routesOf(sandbox.netns, '101').some((r) => r.dst === 'default' && r.dev === 'eth0'), 'table 101: default via eth0');
    t.ok(ourRules(sandbox.netns).some((r) => r.src === POD_A && r.table === '101'), `rule from ${POD_A} lookup 101`);
    await lab.tcpServer(sandbox.netns, '0.0.0.0', PORT);
    t.equal(await lab.tcpExchange(POD_A, PORT), true, 'eth0 answers through its own table');
    t.equal(await lab.tcpExchange(POD_B, PORT), true, 'net1 answers');
    await delPod(t, sandbox, '1.0.0', results, true);
    t.same(ourRules(sandbox.netns), []);
    lab.deleteNetns(sandbox.netns);
  });

  t.test('failures: a CNI error, non-zero exit, and no partial routes', async (t) => {
    const sandbox = newSandbox();
    const net1 = ok(t, await macvlan(callIn(sandbox, 'ADD', 'net1', macvlanConf('1.0.0', lab.uplinkB, 'underlay-b'))), 'macvlan ADD net1');
    const snapshot = () => ({ main: routesOf(sandbox.netns, 'main'), t100: routesOf(sandbox.netns, '100'), rules: ourRules(sandbox.netns) });
    const before = snapshot();

    const failing: [string, PluginCall, number, RegExp][] = [
      ['malformed stdin', callIn(sandbox, 'ADD', 'net1', '{"cniVersion": "1.0.0", "prevResult": '), 6, /not JSON/],
      ['unknown cniVersion', callIn(sandbox, 'ADD', 'net1', coordinatorConf('0.9.9', 'underlay-b', net1)), 1, /incompatible CNI versions/],
      ['missing CNI_ARGS', callIn(sandbox, 'ADD', 'net1', coordinatorConf('1.0.0', 'underlay-b', net1), ''), 4, /CNI_ARGS lacks K8S_POD_NAMESPACE/],
      ['no prevResult', callIn(sandbox, 'ADD', 'net1', coordinatorConf('1.0.0', 'underlay-b', undefined)), 7, /chained plugin/],
    ];
    for (const [what, call, code, pattern] of failing) {
      const run = await coordinator(call);
      t.not(run.code, 0, `${what}: non-zero exit`);
      t.equal(run.json?.code, code, `${what}: code (${run.stdout.trim()})`);
      t.match(run.json?.msg, pattern, `${what}: message`);
    }

    // Unreachable API: a loopback port nobody listens on.
    const [port] = await freeLoopbackPorts(1); // claimed: no local cluster will listen there
    const { readFileSync, writeFileSync } = await import('node:fs');
    const closed = join(api.dir, 'closed.kubeconfig');
    writeFileSync(closed, readFileSync(api.kubeconfig, 'utf8').replace(api.url, `https://127.0.0.1:${port}`));
    const unreachable = await coordinator(callIn(sandbox, 'ADD', 'net1', coordinatorConf('1.0.0', 'underlay-b', net1, { kubeconfig: closed })));
    t.equal(unreachable.json?.code, 11, `unreachable API: code 11 (${unreachable.stdout.trim()})`);

    // A failure half-way: table 100 already has a default route, so adding ours fails
    // after the subnet and binding routes were copied. Everything must be undone.
    ip(['-n', sandbox.netns, 'route', 'add', 'default', 'via', SUBNET_B.gateway, 'dev', 'net1', 'table', '100']);
    const withBlocker = snapshot();
    const halfway = await coordinator(callIn(sandbox, 'ADD', 'net1', coordinatorConf('1.0.0', 'underlay-b', net1)));
    t.equal(halfway.json?.code, 107, `half-way failure: code 107 (${halfway.stdout.trim()})`);
    t.match(halfway.json?.msg, /all changes were undone/);
    t.same(snapshot(), withBlocker, 'routes and rules exactly as before the failed ADD');
    ip(['-n', sandbox.netns, 'route', 'del', 'default', 'table', '100']);
    t.same(snapshot(), before, 'nothing left from any failed call');

    // DEL always succeeds: twice, with garbage, and once the namespace is gone.
    ok(t, await coordinator(callIn(sandbox, 'DEL', 'net1', 'garbage')), 'DEL with garbage');
    ok(t, await macvlan(callIn(sandbox, 'DEL', 'net1', { ...macvlanConf('1.0.0', lab.uplinkB, 'underlay-b'), prevResult: net1 })), 'macvlan DEL');
    lab.deleteNetns(sandbox.netns);
    ok(t, await coordinator(callIn(sandbox, 'DEL', 'net1', coordinatorConf('1.0.0', 'underlay-b', net1))), 'DEL after the namespace is gone');
  });

  t.test('no write to the API', async (t) => {
    t.same(api.requests.filter((r) => r.method !== 'GET'), []);
  });
}
