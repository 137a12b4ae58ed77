// The coordinator's checks before ADD succeeds, and podMACPrefix, in network
// namespaces: Debian's `macvlan` (on the node lab's uplink) with `underpin` as IPAM,
// then `underpin-coordinator`, all inside the lab's node namespace; the "lan"
// namespace at the other end of the uplink is the neighbour on the link — it holds
// the gateways, and, for a conflict, the pod's own address. IPv4 and IPv6; the
// pod's IPv6 duplicate address detection off (the ndisc6 probe finds the holder)
// and on (the kernel finds it). A failed ADD leaves the pod's namespace as the main
// plugin left it. Retries are kept small through detectOptions.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canUseNetns, ip, ipJSON } from './netns-lab.js';
import { LAN } from './node-lab.js';
import { startNodeLab } from './node-lab-suite.js';
import { REFERENCE_PLUGINS, runPluginBinary, type PluginCall, type PluginRun } from './plugin-binaries.js';
import { servePod, type PodFixture } from './stub-api-server.js';

const missingTool = ['arping', 'ndisc6'].find((tool) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${tool}`)));
const unusable = canUseNetns() ?? (missingTool ? `needs ${missingTool} (Debian ${missingTool === 'arping' ? 'iputils-arping' : 'ndisc6'}; hack/ensure-dependencies.mjs installs it)` : undefined);
if (unusable) t.plan(0, `skipped: ${unusable}`);
else await suite();

async function suite(): Promise<void> {
  const { lab, bins, api } = await startNodeLab(t);
  const cniPath = `${bins.dir}:${REFERENCE_PLUGINS}`;

  const POD4 = '198.18.1.10';
  const POD6 = 'fd00:18:1::10';
  const QUICK = { retries: 2, interval: '10ms', timeout: '100ms' };
  let pods = 0;
  /** A pod bound to POD4 and POD6 (or one of them), with these gateways. */
  function podWith(nic: { ipv4?: string | null; gateway4?: string; ipv6?: string | null; gateway6?: string }): { fixture: PodFixture; args: Record<string, string> } {
    const n = ++pods;
    const fixture: PodFixture = {
      namespace: 'probe',
      name: `web-${n}`,
      uid: `0b0c9f5e-5555-4d4d-8e8e-${String(n).padStart(12, '0')}`,
      bindingID: `b-web-${n}`,
      nics: [
        {
          interface: 'eth0',
          ...(nic.ipv4 === null ? {} : { ipv4: { address: `${nic.ipv4 ?? POD4}/24`, gateway: nic.gateway4 ?? LAN.gateway4, pool: 'pool-a' } }),
          ...(nic.ipv6 === null ? {} : { ipv6: { address: `${nic.ipv6 ?? POD6}/64`, gateway: nic.gateway6 ?? LAN.gateway6, pool: 'pool-a6' } }),
        },
      ],
    };
    servePod(api, fixture);
    return { fixture, args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: fixture.namespace, K8S_POD_NAME: fixture.name, K8S_POD_INFRA_CONTAINER_ID: 'sandbox', K8S_POD_UID: fixture.uid } };
  }

  const macvlanConf = (prevResult?: unknown) => ({
    cniVersion: '1.0.0',
    name: 'probed',
    type: 'macvlan',
    master: lab.uplink,
    mode: 'bridge',
    ipam: { type: 'underpin', kubeconfig: api.kubeconfig },
    ...(prevResult === undefined ? {} : { prevResult }),
  });
  const coordinatorConf = (prevResult: unknown, extra: Record<string, unknown>) => ({
    cniVersion: '1.0.0',
    name: 'probed',
    type: 'underpin-coordinator',
    kubeconfig: api.kubeconfig,
    mode: 'auto',
    ...extra,
    ...(prevResult === undefined ? {} : { prevResult }),
  });
  type Sandbox = ReturnType<typeof lab.addPod>;
  const call = (sandbox: Sandbox, command: PluginCall['command'], config: unknown, args: Record<string, string>, extraEnv?: PluginCall['extraEnv']): PluginCall => ({
    command,
    config,
    containerID: sandbox.containerID,
    netns: sandbox.path,
    ifname: 'eth0',
    args,
    path: cniPath,
    inNetns: lab.node,
    ...(extraEnv ? { extraEnv } : {}),
  });
  const macvlan = (c: PluginCall) => runPluginBinary(join(REFERENCE_PLUGINS, 'macvlan'), c);
  const coordinator = (c: PluginCall) => runPluginBinary(join(bins.dir, 'underpin-coordinator'), c);
  function ok(t: Test, run: PluginRun, what: string): any {
    t.equal(run.code, 0, `${what}: exit 0${run.code === 0 ? '' : ` (${run.stdout.trim()} ${run.stderr.trim()})`}`);
    return run.json;
  }

  /** Everything the coordinator could change in the pod: links and their MACs, addresses, routes, rules. */
  const podState = (netns: string) => ({
    links: ipJSON<any[]>(netns, ['link', 'show']).map((l) => [l.ifname, l.address, l.flags.includes('UP')]),
    addresses: ipJSON<any[]>(netns, ['addr', 'show']).flatMap((l) => (l.addr_info ?? []).map((a: any) => `${l.ifname} ${a.local}/${a.prefixlen}`)),
    routes4: ipJSON<any[]>(netns, ['-4', 'route', 'show', 'table', 'all']),
    routes6: ipJSON<any[]>(netns, ['-6', 'route', 'show', 'table', 'all']).filter((r) => r.type !== 'multicast'),
    rules4: ipJSON<any[]>(netns, ['-4', 'rule', 'show']),
    rules6: ipJSON<any[]>(netns, ['-6', 'rule', 'show']),
  });
  const lanMac = (ipJSON<any[]>(lab.lan, ['link', 'show', 'dev', 'lan0'])[0].address as string).toLowerCase();
  /** The neighbour holds `address` on lan0 while `work` runs. */
  async function neighbourHolds<T>(address: string, prefix: number, work: () => Promise<T>): Promise<T> {
    ip(['-n', lab.lan, 'addr', 'add', `${address}/${prefix}`, 'dev', 'lan0', ...(address.includes(':') ? ['nodad'] : [])]);
    try {
      return await work();
    } finally {
      ip(['-n', lab.lan, 'addr', 'del', `${address}/${prefix}`, 'dev', 'lan0']);
      ip(['-n', lab.lan, 'neigh', 'flush', 'all']);
    }
  }
  const dadOn = (sandbox: Sandbox) => lab.sysctl(sandbox.netns, { 'net.ipv6.conf.default.accept_dad': '1', 'net.ipv6.conf.all.accept_dad': '1' });

  /** macvlan ADD, then the coordinator's ADD expected to fail with `code`; the pod as macvlan left it; macvlan DEL. */
  async function failingAdd(t: Test, sandbox: Sandbox, pod: ReturnType<typeof podWith>, extra: Record<string, unknown>, code: number, msg: RegExp, extraEnv?: PluginCall['extraEnv']): Promise<void> {
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD');
    const before = podState(sandbox.netns);
    const failed = await coordinator(call(sandbox, 'ADD', coordinatorConf(main, extra), pod.args, extraEnv));
    t.not(failed.code, 0, 'coordinator ADD fails');
    t.equal(failed.json?.code, code, `code ${code} (${failed.stdout.trim()})`);
    t.match(failed.json?.msg, msg, 'the message');
    t.same(podState(sandbox.netns), before, 'the pod exactly as the main plugin left it (MAC, addresses, routes, rules)');
    ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf(main, extra), pod.args)), 'coordinator DEL');
    ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(main), pod.args)), 'macvlan DEL');
    lab.deleteNetns(sandbox.netns);
  }
  const re = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

  t.test('detectIPConflict: the neighbour already holds the IPv4 address → ADD fails naming the address, the NIC and the MAC', (t) =>
    neighbourHolds(POD4, 24, () =>
      failingAdd(t, lab.addPod(), podWith({}), { detectIPConflict: true, detectOptions: QUICK }, 108, re(`IP conflict: ${POD4} of eth0 is already in use on the link by the host with MAC ${lanMac}`)),
    ),
  );

  t.test('detectIPConflict: the neighbour holds the IPv6 address, the pod\'s DAD off → the ndisc6 probe finds it', (t) =>
    neighbourHolds(POD6, 64, () =>
      failingAdd(t, lab.addPod(), podWith({}), { detectIPConflict: true, detectOptions: QUICK }, 108, re(`IP conflict: ${POD6} of eth0 is already in use on the link by the host with MAC ${lanMac}`)),
    ),
  );

  t.test('the pod\'s DAD on: macvlan itself fails on an IPv6 conflict; a main plugin that does not wait leaves it to the coordinator (dadfailed)', (t) =>
    neighbourHolds(POD6, 64, async () => {
      const first = lab.addPod();
      dadOn(first);
      const pod = podWith({ ipv4: null });
      const refused = await macvlan(call(first, 'ADD', macvlanConf(), pod.args));
      t.match(refused.json?.msg, re(`${POD6} in DADFAILED state`), 'the reference macvlan waits for the kernel\'s DAD and fails on its own');
      lab.deleteNetns(first.netns);

      // As a main plugin that does not wait for DAD leaves it: the address added
      // while the neighbour holds it, the kernel's DAD running or failed.
      const sandbox = lab.addPod();
      const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD (DAD off for now)');
      dadOn(sandbox);
      ip(['netns', 'exec', sandbox.netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_dad=1']);
      ip(['-n', sandbox.netns, 'addr', 'del', `${POD6}/64`, 'dev', 'eth0']);
      ip(['-n', sandbox.netns, 'addr', 'add', `${POD6}/64`, 'dev', 'eth0']);
      const flags = ipJSON<any[]>(sandbox.netns, ['-6', 'addr', 'show', 'dev', 'eth0'])[0].addr_info.find((a: any) => a.local === POD6);
      t.ok(flags.tentative, `${POD6} is tentative when the coordinator starts`);
      const extra = { enableIPConflictDetection: true, detectOptions: QUICK }; // Spiderpool 1.0's name of the switch counts too
      const failed = await coordinator(call(sandbox, 'ADD', coordinatorConf(main, extra), pod.args));
      t.equal(failed.json?.code, 108, `code 108 (${failed.stdout.trim()})`);
      t.match(failed.json?.msg, re(`IP conflict: ${POD6} of eth0 is already in use on the link by the host with MAC ${lanMac}`), 'the kernel saw it, ndisc6 names the MAC');
      ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(main), pod.args)), 'macvlan DEL');
      lab.deleteNetns(sandbox.netns);
    }),
  );

  t.test('no conflict, gateways answering, MAC prefix: ADD passes; the NIC and the result carry the MAC', async (t) => {
    const sandbox = lab.addPod();
    const pod = podWith({});
    const extra = { detectIPConflict: true, detectGateway: true, podMACPrefix: '0A-1B', detectOptions: QUICK };
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD');
    const result = ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf(main, extra), pod.args)), 'coordinator ADD');
    const expected = '0a:1b:c6:12:01:0a'; // 198.18.1.10
    t.equal(ipJSON<any[]>(sandbox.netns, ['link', 'show', 'dev', 'eth0'])[0].address, expected, `eth0's MAC is ${expected}`);
    t.same(result.interfaces.filter((i: any) => i.sandbox).map((i: any) => [i.name, i.mac]), [['eth0', expected]], 'the result says so');
    t.same(result.ips.map((i: any) => i.address), [`${POD4}/24`, `${POD6}/64`], 'the addresses passed through');
    t.ok(ipJSON<any[]>(sandbox.netns, ['-4', 'route', 'show']).some((r) => r.dst === 'default' && r.gateway === LAN.gateway4), 'the default route is still there');
    const seen = ipJSON<any[]>(lab.lan, ['neigh', 'show', 'dev', 'lan0']).find((n) => n.dst === POD4);
    t.equal(seen?.lladdr, expected, 'the gateway learned the new MAC (its ARP check ran after the change)');
    ok(t, await coordinator(call(sandbox, 'CHECK', coordinatorConf(result, extra), pod.args)), 'coordinator CHECK');
    ip(['-n', sandbox.netns, 'link', 'set', 'dev', 'eth0', 'address', '0a:1b:00:00:00:01']);
    const changed = await coordinator(call(sandbox, 'CHECK', coordinatorConf(result, extra), pod.args));
    t.equal(changed.json?.code, 106, 'CHECK after the MAC changed: code 106');
    t.match(changed.json?.msg, re(`eth0 has MAC 0a:1b:00:00:00:01, not ${expected} (podMACPrefix 0a:1b + ${POD4})`));
    ok(t, await coordinator(call(sandbox, 'DEL', coordinatorConf(result, extra), pod.args)), 'coordinator DEL');
    ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(result), pod.args)), 'macvlan DEL');
    lab.deleteNetns(sandbox.netns);
  });

  t.test('podMACPrefix on an IPv6-only NIC: the last four bytes of the address', async (t) => {
    const sandbox = lab.addPod();
    dadOn(sandbox);
    const pod = podWith({ ipv4: null });
    const extra = { podMACPrefix: '0a:1b', detectIPConflict: true, detectOptions: QUICK };
    const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD');
    const result = ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf(main, extra), pod.args)), 'coordinator ADD (after the kernel\'s DAD)');
    t.equal(ipJSON<any[]>(sandbox.netns, ['link', 'show', 'dev', 'eth0'])[0].address, '0a:1b:00:00:00:10');
    t.equal(result.interfaces.find((i: any) => i.name === 'eth0' && i.sandbox)?.mac, '0a:1b:00:00:00:10');
    ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(result), pod.args)), 'macvlan DEL');
    lab.deleteNetns(sandbox.netns);
  });

  t.test('detectGateway: an IPv4 gateway nobody holds → ADD fails naming it, and the MAC set before is put back', (t) =>
    failingAdd(
      t,
      lab.addPod(),
      podWith({ gateway4: '198.18.1.254' }),
      { detectGateway: true, podMACPrefix: '0a:1b', detectOptions: QUICK },
      109,
      re('gateway 198.18.1.254 of eth0 did not answer 2 ARP probe(s) within 110ms; check the pool\'s gateway'),
    ),
  );

  t.test('detectGateway: an IPv6 gateway nobody holds → ADD fails naming it', (t) =>
    failingAdd(t, lab.addPod(), podWith({ ipv4: null, gateway6: 'fd00:18:1::fe' }), { detectGateway: true, detectOptions: QUICK }, 109, re('gateway fd00:18:1::fe of eth0 did not answer 2 neighbour solicitation probe(s)')),
  );

  t.test('a needed tool missing on the node: ADD fails naming the Debian package', (t) =>
    failingAdd(t, lab.addPod(), podWith({}), { detectIPConflict: true }, 107, re('detectIPConflict needs `arping` on the node') , { UNDERPIN_NEIGHBOUR_TOOL_DIRS: '/nonexistent' }).then(async () => {
      // Only when the feature is on: the same call without it passes.
      const sandbox = lab.addPod();
      const pod = podWith({});
      const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD');
      ok(t, await coordinator(call(sandbox, 'ADD', coordinatorConf(main, {}), pod.args, { UNDERPIN_NEIGHBOUR_TOOL_DIRS: '/nonexistent' })), 'coordinator ADD without the checks needs no tool');
      ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(main), pod.args)), 'macvlan DEL');
      lab.deleteNetns(sandbox.netns);
    }),
  );

  t.test('an invalid podMACPrefix is a configuration error naming the field and the fix', async (t) => {
    const sandbox = lab.addPod();
    const pod = podWith({});
    for (const [prefix, says] of [
      ['0b:1b', 'starts with a multicast byte (0x0b has its lowest bit set); use an even first byte, e.g. "0a:1b"'],
      ['0a:1b:2c', 'is not two bytes of a MAC address; write it like "0a:1b"'],
    ] as const) {
      const run = await coordinator(call(sandbox, 'ADD', coordinatorConf({ cniVersion: '1.0.0', ips: [] }, { podMACPrefix: prefix }), pod.args));
      t.equal(run.json?.code, 7, `${prefix}: code 7`);
      t.match(run.json?.msg, re(`podMACPrefix: "${prefix}" ${says}`));
    }
    const bad = await coordinator(call(sandbox, 'ADD', coordinatorConf({ cniVersion: '1.0.0', ips: [] }, { detectIPConflict: true, detectOptions: { timeout: '1h' } }), pod.args));
    t.match(bad.json?.msg, re('detectOptions.timeout: "1h" is out of range: between 1ms and 5s'));
    lab.deleteNetns(sandbox.netns);
  });

  t.test('what the checks add to ADD (printed, not asserted)', async (t) => {
    const runs: [string, Record<string, unknown>][] = [
      ['no checks', {}],
      ['detectIPConflict (defaults: 3 probes, 10ms, 100ms)', { detectIPConflict: true }],
      ['detectGateway (defaults)', { detectGateway: true }],
      ['podMACPrefix', { podMACPrefix: '0a:1b' }],
      ['all three (defaults)', { detectIPConflict: true, detectGateway: true, podMACPrefix: '0a:1b' }],
    ];
    const log = join(api.dir, 'coordinator-bench.log');
    for (const [what, extra] of runs) {
      const times: string[] = [];
      for (let i = 0; i < 2; i++) {
        const sandbox = lab.addPod();
        const pod = podWith({});
        const main = ok(t, await macvlan(call(sandbox, 'ADD', macvlanConf(), pod.args)), 'macvlan ADD');
        writeFileSync(log, '');
        const run = await coordinator(call(sandbox, 'ADD', coordinatorConf(main, { ...extra, log_file_path: log }), pod.args));
        ok(t, run, `coordinator ADD, ${what}`);
        // The plugin's own account (its log line) besides the process's wall time.
        const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '{}');
        times.push(`${Math.round(run.ms)} ms (plugin ${line.ms} ms${line.probeMs ? `, ${JSON.stringify(line.probeMs)}` : ''})`);
        ok(t, await macvlan(call(sandbox, 'DEL', macvlanConf(main), pod.args)), 'macvlan DEL');
        lab.deleteNetns(sandbox.netns);
      }
      t.comment(`coordinator ADD, dual-stack NIC, ${what}: ${times.join('; ')}`);
    }
  });

  t.test('no write to the API', async (t) => {
    t.same(api.requests.filter((r) => r.method !== 'GET'), []);
  });
}
