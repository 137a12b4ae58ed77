// The `underpin` IPAM plugin run as a runtime runs it, against a stub API on
// 127.0.0.1: results in the three CNI versions, every refusal a node operator may
// meet, and no write to the API ever.
import t from 'tap';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { join } from 'node:path';
import { pluginBinaries, runPluginBinary, type PluginCall } from './plugin-binaries.js';
import { claimObjects, podObject, servePod, startStubApi, type PodFixture } from './stub-api-server.js';

const bins = await pluginBinaries();
const api = await startStubApi();
t.teardown(async () => {
  await api.close();
  bins.cleanup();
});
const underpin = join(bins.dir, 'underpin');

const pod: PodFixture = {
  namespace: 'shop',
  name: 'web-0',
  uid: '7d1c5a4e-1111-4c5e-9a11-000000000001',
  bindingID: 'b-web-0',
  nics: [
    {
      interface: 'eth0',
      ipv4: { address: '10.6.0.5/16', gateway: '10.6.0.1', pool: 'pool-a' },
      ipv6: { address: 'fd00:6::5/64', gateway: 'fd00:6::1', pool: 'pool-a6' },
      routes: [{ dst: '10.200.0.0/16', gw: '10.6.0.254' }],
    },
    { interface: 'net1', ipv4: { address: '10.7.0.9/24', gateway: '10.7.0.1', pool: 'pool-b' } },
  ],
};
servePod(api, pod);

const args = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: pod.namespace, K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: 'c0ffee', K8S_POD_UID: pod.uid };
const netconf = (cniVersion: string, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  cniVersion,
  name: 'underlay',
  type: 'macvlan',
  ipam: { type: 'underpin', kubeconfig: api.kubeconfig, ...ipam },
  ...extra,
});
const call = (overrides: Partial<PluginCall> = {}): PluginCall => ({
  command: 'ADD',
  config: netconf('1.0.0'),
  containerID: 'c0ffee',
  netns: '/var/run/netns/test',
  ifname: 'eth0',
  args,
  path: bins.dir,
  ...overrides,
});
const add = (overrides: Partial<PluginCall> = {}) => runPluginBinary(underpin, call(overrides));

t.test('VERSION lists the supported versions', async (t) => {
  const run = await runPluginBinary(underpin, { command: 'VERSION', config: { cniVersion: '0.4.0' } });
  t.equal(run.code, 0);
  t.same(run.json, { cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0'] });
});

for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
  t.test(`ADD prints the bound addresses as a ${version} result`, async (t) => {
    const run = await add({ config: netconf(version) });
    t.equal(run.code, 0, run.stdout);
    const v = version === '1.0.0' ? {} : undefined;
    t.same(run.json, {
      cniVersion: version,
      ips: [
        { ...(v ?? { version: '4' }), address: '10.6.0.5/16', gateway: '10.6.0.1' },
        { ...(v ?? { version: '6' }), address: 'fd00:6::5/64', gateway: 'fd00:6::1' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.6.0.1' },
        { dst: '::/0', gw: 'fd00:6::1' },
        { dst: '10.200.0.0/16', gw: '10.6.0.254' },
      ],
    });
  });
}

t.test('a second NIC gets its address and gateway but no default route', async (t) => {
  const run = await add({ ifname: 'net1' });
  t.equal(run.code, 0, run.stdout);
  t.same(run.json, { cniVersion: '1.0.0', ips: [{ address: '10.7.0.9/24', gateway: '10.7.0.1' }], routes: [] });
});

t.test('the default route follows defaultRouteInterface; clean gateway drops gateway and default route', async (t) => {
  const other: PodFixture = { ...pod, name: 'web-1', bindingID: 'b-web-1', defaultRouteInterface: 'net1', nics: [
    { interface: 'eth0', ipv4: { address: '10.6.0.6/16', gateway: '10.6.0.1', pool: 'pool-a' } },
    { interface: 'net1', ipv4: { address: '10.7.0.10/24', gateway: '10.7.0.1', pool: 'pool-b' }, cleanGateway: false },
    { interface: 'net2', ipv4: { address: '10.8.0.10/24', gateway: '10.8.0.1', pool: 'pool-c' }, cleanGateway: true },
  ] };
  servePod(api, other);
  const a = { ...args, K8S_POD_NAME: 'web-1' };
  const eth0 = await add({ args: a });
  t.same(eth0.json?.routes, [], 'eth0 has no default route');
  const net1 = await add({ args: a, ifname: 'net1' });
  t.same(net1.json?.routes, [{ dst: '0.0.0.0/0', gw: '10.7.0.1' }]);
  const net2 = await add({ args: a, ifname: 'net2' });
  t.same(net2.json?.ips, [{ address: '10.8.0.10/24' }], 'cleanGateway in the binding: no gateway');
  const clean = await add({ args: a, ifname: 'net1', config: netconf('1.0.0', { clean_gateway: true }) });
  t.same(clean.json, { cniVersion: '1.0.0', ips: [{ address: '10.7.0.10/24' }], routes: [] }, 'clean_gateway in the config');
});

t.test('a kubeconfig written as JSON (as the installer writes it)', async (t) => {
  const run = await add({ ifname: 'net1', config: netconf('1.0.0', { kubeconfig: api.jsonKubeconfig }) });
  t.equal(run.code, 0, run.stdout);
  t.same(run.json?.ips, [{ address: '10.7.0.9/24', gateway: '10.7.0.1' }]);
});

t.test('installed as spiderpool, with a token kubeconfig, dns passed through', async (t) => {
  const dns = { nameservers: ['10.96.0.10'], search: ['shop.svc.cluster.local'] };
  const run = await runPluginBinary(join(bins.dir, 'spiderpool'), call({ ifname: 'net1', config: netconf('0.4.0', { type: 'spiderpool', kubeconfig: api.tokenKubeconfig }, { dns }) }));
  t.equal(run.code, 0, run.stdout);
  t.same(run.json, { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.7.0.9/24', gateway: '10.7.0.1' }], routes: [], dns });
});

t.test('refusals name the pod and what to do', async (t) => {
  const expectError = async (name: string, run: Promise<{ code: number; json: any; stdout: string }>, code: number, pattern: RegExp) => {
    const r = await run;
    t.not(r.code, 0, `${name}: exit code`);
    t.equal(r.json?.code, code, `${name}: CNI code (${r.stdout.trim()})`);
    t.match(r.json?.msg, pattern, `${name}: message`);
    t.ok(typeof r.json?.cniVersion === 'string', `${name}: cniVersion in the error`);
  };
  await expectError('UID mismatch', add({ args: { ...args, K8S_POD_UID: 'another-uid' } }), 102, /deleted and created again/);
  await expectError('no such interface', add({ ifname: 'net7' }), 101, /bound to addresses for eth0, net1, not for net7/);
  await expectError('pod gone', add({ args: { ...args, K8S_POD_NAME: 'ghost' } }), 105, /shop\/ghost does not exist/);

  const unbound = { ...pod, name: 'unbound' };
  api.pods.set('shop/unbound', { metadata: { namespace: 'shop', name: 'unbound', uid: pod.uid } });
  await expectError('no binding', add({ args: { ...args, K8S_POD_NAME: unbound.name } }), 100, /Underpin gave it no address .*delete the pod so that it is created again through the webhook/);
  api.pods.set('shop/garbled', podObject({ ...pod, name: 'garbled' }, { binding: { version: 1, id: '' } }));
  await expectError('bad binding', add({ args: { ...args, K8S_POD_NAME: 'garbled' } }), 100, /not a valid Underpin binding/);

  // Forged bindings: the claims do not lock the addresses for this pod.
  const forged = (name: string, mutate: (p: PodFixture) => void, label?: string | null) => {
    const f: PodFixture = JSON.parse(JSON.stringify({ ...pod, name, bindingID: `b-${name}` }));
    f.nics[1]!.ipv4!.address = `10.7.1.${forged.next++}/24`;
    api.pods.set(`shop/${name}`, podObject(f, { label }));
    mutate(f);
    for (const [claimName, claim] of claimObjects(f)) if (claimName.startsWith('10.7.1.')) api.claims.set(claimName, claim);
    return add({ args: { ...args, K8S_POD_NAME: name }, ifname: 'net1' });
  };
  forged.next = 1;
  await expectError('claim of another binding', forged('f1', (p) => (p.bindingID = 'someone-else')), 103, /IPClaim 10\.7\.1\.1 holds 10\.7\.1\.1 for another binding \(bindingID someone-else/);
  await expectError('claim in another namespace', forged('f2', (p) => (p.namespace = 'other')), 103, /namespace other, not shop/);
  await expectError('claim of another pool', forged('f3', (p) => (p.nics[1]!.ipv4!.pool = 'pool-x')), 103, /pool pool-x, not pool-b/);
  await expectError('no claim at all', forged('f4', (p) => (p.nics[1]!.ipv4!.address = '10.9.9.9/24')), 103, /no IPClaim 10\.7\.1\.4 locks 10\.7\.1\.4\/24/);
  await expectError('no binding-id label', forged('f5', () => {}, null), 103, /has no underpin\.dev\/binding-id label/);
});

t.test('bad input: CNI errors on stdout, non-zero exit', async (t) => {
  const cases: [string, Partial<PluginCall>, number, RegExp][] = [
    ['garbage stdin', { config: 'this is not json' }, 6, /not JSON/],
    ['empty stdin', { config: '' }, 6, /no network configuration on stdin/],
    ['unknown cniVersion', { config: netconf('0.2.0') }, 1, /cniVersion "0\.2\.0", Underpin supports 0\.3\.1, 0\.4\.0, 1\.0\.0/],
    ['wrong ipam type', { config: { ...netconf('1.0.0'), ipam: { type: 'host-local' } } }, 7, /ipam\.type: must be "underpin" or "spiderpool"/],
    ['clean_gateway not a bool', { config: netconf('1.0.0', { clean_gateway: 'yes' }) }, 7, /ipam\.clean_gateway: must be true or false/],
    ['missing CNI_ARGS', { args: '' }, 4, /CNI_ARGS lacks K8S_POD_NAMESPACE, K8S_POD_NAME/],
    ['missing K8S_POD_NAME', { args: { K8S_POD_NAMESPACE: 'shop' } }, 4, /CNI_ARGS lacks K8S_POD_NAME/],
    ['missing CNI_IFNAME', { extraEnv: { CNI_IFNAME: undefined } }, 4, /CNI_IFNAME/],
    ['kubeconfig missing', { config: netconf('1.0.0', { kubeconfig: '/nonexistent/kubeconfig' }) }, 7, /cannot read the kubeconfig \/nonexistent\/kubeconfig \(ENOENT\)/],
  ];
  for (const [name, overrides, code, pattern] of cases) {
    const run = await add(overrides);
    t.not(run.code, 0, `${name}: exit code`);
    t.equal(run.json?.code, code, `${name}: code (${run.stdout.trim()})`);
    t.match(run.json?.msg, pattern, `${name}: message`);
  }
});

t.test('an unreachable API: retried briefly, then code 11', async (t) => {
  // A port that was just free: nothing listens there.
  const [port] = await freeLoopbackPorts(1); // claimed: no local cluster will listen there
  const { readFileSync, writeFileSync } = await import('node:fs');
  const closed = join(api.dir, 'closed.kubeconfig');
  writeFileSync(closed, readFileSync(api.kubeconfig, 'utf8').replace(api.url, `https://127.0.0.1:${port}`));
  const run = await add({ config: netconf('1.0.0', { kubeconfig: closed }) });
  t.not(run.code, 0);
  t.equal(run.json?.code, 11);
  t.match(run.json?.msg, /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(connection refused\) after 3 tries/);
  t.ok(run.ms < 4000, `gave up within the bound (${run.ms.toFixed(0)} ms)`);

  api.failWith = 503;
  const before = api.requests.length;
  const busy = await add();
  api.failWith = undefined;
  t.equal(busy.json?.code, 11, busy.stdout);
  t.equal(api.requests.length - before, 3, 'three tries');
});

t.test('DEL always succeeds, silently, and reads nothing', async (t) => {
  const before = api.requests.length;
  for (const overrides of [{}, { config: 'garbage' }, { config: netconf('9.9.9') }, { args: '' }, { extraEnv: { CNI_IFNAME: undefined, CNI_CONTAINERID: undefined } }]) {
    const run = await add({ command: 'DEL', ...overrides });
    t.equal(run.code, 0, JSON.stringify(overrides));
    t.equal(run.stdout, '', 'no output');
  }
  t.equal(api.requests.length, before, 'DEL does not call the API');
});

t.test('CHECK compares prevResult with the binding', async (t) => {
  const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: '/var/run/netns/test' }], ips: [{ address: '10.7.0.9/24', gateway: '10.7.0.1', interface: 0 }], routes: [] };
  const ok = await add({ command: 'CHECK', ifname: 'net1', config: netconf('1.0.0', {}, { prevResult }) });
  t.equal(ok.code, 0, ok.stdout);
  t.equal(ok.stdout, '');
  const wrong = await add({ command: 'CHECK', ifname: 'net1', config: netconf('1.0.0', {}, { prevResult: { ...prevResult, ips: [{ address: '10.7.0.99/24' }] } }) });
  t.equal(wrong.json?.code, 106);
  t.match(wrong.json?.msg, /bound to 10\.7\.0\.9\/24 but the sandbox has 10\.7\.0\.99\/24/);
  const old = await add({ command: 'CHECK', ifname: 'net1', config: netconf('0.3.1', {}, { prevResult }) });
  t.equal(old.json?.code, 1, 'CHECK does not exist in 0.3.1');
  const none = await add({ command: 'CHECK', ifname: 'net1', config: netconf('1.0.0') });
  t.equal(none.json?.code, 7, 'CHECK without prevResult');
});

t.test('one executable, four names; a copy under another name follows the config type', async (t) => {
  const coordinatorOnly = { cniVersion: '1.0.0', name: 'x', type: 'underpin-coordinator' };
  for (const name of ['underpin-coordinator', 'coordinator']) {
    const run = await runPluginBinary(join(bins.dir, name), call({ config: coordinatorOnly }));
    t.match(run.json?.msg, /underpin-coordinator is a chained plugin/, `${name} runs the coordinator`);
  }
  const ipamRun = await runPluginBinary(join(bins.dir, 'spiderpool'), call({ config: { cniVersion: '1.0.0', name: 'x', type: 'macvlan' } }));
  t.match(ipamRun.json?.msg, /ipam: is missing: add "ipam": \{"type": "underpin"\}/, 'spiderpool runs the IPAM plugin');
});

t.test('log_file_path: one JSON line per call', async (t) => {
  const file = join(api.dir, 'logs', 'underpin.log');
  await add({ config: netconf('1.0.0', { log_file_path: file, log_level: 'debug' }) });
  await add({ config: netconf('1.0.0', { log_file_path: file }), args: { ...args, K8S_POD_UID: 'other' } });
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines[0], { level: 'info', msg: 'ADD', plugin: 'underpin', pod: 'shop/web-0', ifname: 'eth0', ips: ['10.6.0.5/16', 'fd00:6::5/64'] });
  t.match(lines[1], { level: 'error', msg: 'ADD failed', error: /created again/ });
});

t.test('the plugin never writes to the API', async (t) => {
  t.ok(api.requests.length > 0);
  t.same(api.requests.filter((r) => r.method !== 'GET'), []);
});
