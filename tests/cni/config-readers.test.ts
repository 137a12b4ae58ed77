// Reading what the runtime and the node give the plugins: CNI_ARGS, kubeconfigs,
// network configurations. Every refusal says what to change.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKubeconfig } from '../../cni/kube/kubeconfig.js';
import { readCoordinatorConfig } from '../../cni/coordinator/coordinator-config.js';
import { readIpamConfig } from '../../cni/ipam/ipam-config.js';
import { parseCniArgs, podReference } from '../../cni/skel/cni-env.js';
import { cniErrorOf } from './cni-error-of.js';
import { formatResult, readPrevResult } from '../../cni/skel/cni-result.js';

const dir = mkdtempSync(join(tmpdir(), 'underpin-cni-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const code = cniErrorOf;

t.test('CNI_ARGS', async (t) => {
  const args = parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=u-1;EMPTY=');
  t.same(podReference(args, true), { namespace: 'shop', name: 'web-0', uid: 'u-1' });
  t.match(code(() => podReference(parseCniArgs('K8S_POD_NAME=x'), false)), { code: 4, msg: /CNI_ARGS lacks K8S_POD_NAMESPACE/ });
  t.match(code(() => parseCniArgs('novalue')), { code: 4, msg: /"novalue" is not KEY=VALUE/ });
  t.equal(podReference(parseCniArgs('K8S_POD_NAMESPACE=a;K8S_POD_NAME=b'), false).uid, undefined, 'UID optional unless required');
});

t.test('kubeconfig: files relative to the kubeconfig, token files, refusals', async (t) => {
  writeFileSync(join(dir, 'ca.crt'), 'CA');
  writeFileSync(join(dir, 'token'), 'tok\n');
  const tokenConfig = `
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443/", certificate-authority: ca.crt, tls-server-name: kubernetes}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  const connection = parseKubeconfig(tokenConfig, join(dir, 'kc'));
  t.equal(connection.server, 'https://10.0.0.1:6443');
  t.equal(connection.token, 'tok');
  t.equal(connection.ca?.toString(), 'CA');
  t.equal(connection.serverName, 'kubernetes');
  t.match(code(() => parseKubeconfig('clusters: []', '/k')), { code: 7, msg: /kubeconfig \/k: clusters: / });
  t.match(code(() => parseKubeconfig(tokenConfig.replace('current-context: x', 'current-context: y'), '/k')), { msg: /current-context "y" is not among its contexts/ });
  t.match(code(() => parseKubeconfig(tokenConfig.replace('{tokenFile: token}', '{exec: {command: aws}}'), '/k')), { msg: /exec and auth-provider credentials are not supported/ });
  t.match(code(() => parseKubeconfig(tokenConfig.replace('tokenFile: token', 'tokenFile: missing'), join(dir, 'kc'))), { msg: /tokenFile .*missing: ENOENT/ });
  t.match(code(() => parseKubeconfig('clusters: [{name: c, cluster: {server: "https://a"}}]\nusers: [{name: u, user: {client-certificate-data: QQ==}}]', '/k')), { msg: /needs its key/ });
  t.match(code(() => parseKubeconfig('{"clusters": [', '/k')), { msg: /neither YAML nor JSON/ });
});

t.test('IPAM and coordinator configurations', async (t) => {
  const ipam = readIpamConfig({ cniVersion: '1.0.0', ipam: { type: 'spiderpool', default_ipv4_ippool: ['p1'] } });
  t.equal(ipam.kubeconfigPath, '/etc/cni/net.d/underpin.d/underpin.kubeconfig', 'default kubeconfig path');
  t.match(code(() => readIpamConfig({ cniVersion: '1.0.0', name: 'n', ipam: { type: 'underpin', default_ipv6_ippool: 'p6' } })), {
    code: 7,
    msg: /network configuration "n" is invalid for the Underpin IPAM plugin: ipam\.default_ipv6_ippool: must be a list of pool names/,
  });
  t.match(code(() => readIpamConfig({ cniVersion: '1.0.0' })), { msg: /ipam: / });
  const coordinator = readCoordinatorConfig({ cniVersion: '1.0.0', type: 'coordinator' });
  t.same([coordinator.mode, coordinator.tunePodRoutes, coordinator.hostRuleTable, coordinator.podDefaultCniNic], ['auto', true, 500, 'eth0']);
  t.match(code(() => readCoordinatorConfig({ cniVersion: '1.0.0', podRPFilter: 3 })), { code: 7, msg: /podRPFilter: must be 0, 1, 2/ });
  t.equal(readCoordinatorConfig({ cniVersion: '1.0.0', mode: 'underlay' }).mode, 'underlay', 'underlay mode is accepted (tests/cni/underlay-plan.test.ts reads its fields)');
});

t.test('results: version field before 1.0.0; prevResult of any version', async (t) => {
  const result = { ips: [{ address: 'fd00::5/64', gateway: 'fd00::1' }], routes: [{ dst: '::/0', gw: 'fd00::1' }] };
  t.same(formatResult(result, '0.3.1'), { ips: [{ version: '6', address: 'fd00::5/64', gateway: 'fd00::1' }], routes: result.routes });
  t.same(formatResult(result, '1.0.0'), { ips: [{ address: 'fd00::5/64', gateway: 'fd00::1' }], routes: result.routes });
  const prev = readPrevResult({ prevResult: { cniVersion: '0.4.0', interfaces: [{ name: 'net1', sandbox: '/ns' }], ips: [{ version: '4', address: '10.0.0.5/24', interface: 0 }] } }, 'x');
  t.same(prev, { interfaces: [{ name: 'net1', sandbox: '/ns' }], ips: [{ address: '10.0.0.5/24', interface: 0 }], routes: [] });
  t.match(code(() => readPrevResult({ prevResult: { ips: 'no' } }, 'coordinator')), { code: 6, msg: /coordinator: prevResult is not a CNI result \(ips:/ });
});
