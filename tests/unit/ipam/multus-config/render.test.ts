// The NAD a SpiderMultusConfig renders, from upstream's own examples: byte for byte
// where upstream's docs print the config, the same plugins and fields otherwise; and
// the render is deterministic (the controller compares strings).
import t from 'tap';
import { defaultSpiderMultusConfig } from '../../../../ipam/multus-config/multus-config-defaults.js';
import { renderNetwork } from '../../../../ipam/multus-config/multus-config-render.js';
import { SpiderMultusConfig } from '../../../../ipam/multus-config/spider-multus-config.js';
import { UPSTREAM_CONFIGS, UPSTREAM_EXAMPLES } from './upstream-examples.js';

function admitted(object: unknown): SpiderMultusConfig {
  return defaultSpiderMultusConfig(SpiderMultusConfig.parse(object));
}
const render = (object: unknown) => renderNetwork(admitted(object));
const plugins = (object: unknown) => (JSON.parse(render(object).config!) as { plugins: Record<string, unknown>[] }).plugins;
const smc = (name: string, spec: object, annotations?: Record<string, string>) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec,
});

t.test('upstream examples whose NAD upstream prints render byte for byte the same', async (t) => {
  for (const [name, config] of Object.entries(UPSTREAM_CONFIGS)) {
    const rendered = render(UPSTREAM_EXAMPLES[name]);
    t.equal(rendered.config, config, name);
    t.equal(rendered.name, name);
    t.equal(rendered.namespace, 'kube-system');
  }
});

t.test('two pools: the IPAM names them as default pools, in the written order', async (t) => {
  const rendered = render(smc('net-a', { cniType: 'macvlan', macvlan: { master: ['uplink0'], ippools: { ipv4: ['pool-a', 'pool-b'], ipv6: ['pool-6'] } } }));
  t.equal(
    rendered.config,
    '{"cniVersion":"0.3.1","name":"net-a","plugins":[{"type":"macvlan","master":"uplink0","mode":"bridge","ipam":{"type":"spiderpool","default_ipv4_ippool":["pool-a","pool-b"],"default_ipv6_ippool":["pool-6"]}},{"type":"coordinator"}]}',
  );
});

t.test('vlanID: ifacer first makes <master>.<vlanID>, the main plugin hangs off it (upstream)', async (t) => {
  t.same(plugins(UPSTREAM_EXAMPLES['ipvlan-ens192-vlan100']), [
    { type: 'ifacer', interfaces: ['ens192'], vlanID: 100 },
    { type: 'ipvlan', master: 'ens192.100', ipam: { type: 'spiderpool' } },
    { type: 'coordinator' },
  ]);
});

t.test('several masters: ifacer bonds them, the main plugin hangs off the bond', async (t) => {
  t.same(plugins(UPSTREAM_EXAMPLES['ipvlan-conf']), [
    { type: 'ifacer', interfaces: ['ens192', 'ens224'], bond: { name: 'bond0', mode: 1 } },
    { type: 'ipvlan', master: 'bond0', ipam: { type: 'spiderpool' } },
    { type: 'coordinator' },
  ]);
  const withVlan = smc('b', { cniType: 'macvlan', macvlan: { master: ['a', 'b'], vlanID: 7, bond: { name: 'bond0', mode: 4, options: 'miimon=100' } } });
  t.same(plugins(withVlan).slice(0, 2), [
    { type: 'ifacer', interfaces: ['a', 'b'], vlanID: 7, bond: { name: 'bond0', mode: 4, options: 'miimon=100' } },
    { type: 'macvlan', master: 'bond0.7', mode: 'bridge', ipam: { type: 'spiderpool' } },
  ]);
});

t.test('chainCNIJsonData comes after the coordinator, in order', async (t) => {
  t.same(plugins(UPSTREAM_EXAMPLES['macvlan-conf']).map((p) => p.type), ['macvlan', 'coordinator', 'tuning']);
  t.same(plugins(UPSTREAM_EXAMPLES['macvlan-conf'])[2], { type: 'tuning', sysctl: { 'net.core.somaxconn': '4096' } });
});

t.test('cr-name names the NAD and its config; cni-version sets cniVersion', async (t) => {
  const rendered = render(UPSTREAM_EXAMPLES.demo);
  t.equal(rendered.name, 'macvlan-100');
  const config = JSON.parse(rendered.config!) as { cniVersion: string; name: string };
  t.equal(config.cniVersion, '0.4.0');
  t.equal(config.name, 'macvlan-100');
  t.same(rendered.annotations, { 'multus.spidernet.io/cni-version': '0.4.0', 'multus.spidernet.io/cr-name': 'macvlan-100' }, 'the smc\'s annotations are the NAD\'s, as upstream');
});

t.test('sriov: vlan and rates on the plugin, the device plugin resource as an annotation; rdma and mtu chained', async (t) => {
  const rendered = render(UPSTREAM_EXAMPLES['sriov-demo']);
  t.same(rendered.annotations, { 'k8s.v1.cni.cncf.io/resourceName': 'spidernet.io/sriov_netdeivce' });
  t.same(plugins(UPSTREAM_EXAMPLES['sriov-demo']), [{ type: 'sriov', vlan: 100, minTxRate: 0, maxTxRate: 0, ipam: { type: 'spiderpool' } }, { type: 'coordinator' }]);
  const rdma = smc('s', { cniType: 'sriov', sriov: { resourceName: 'r', rdmaIsolation: true, mtu: 9000 } });
  t.same(plugins(rdma).map((p) => p.type), ['sriov', 'rdma', 'tuning', 'coordinator']);
  t.same(plugins(rdma)[2], { type: 'tuning', mtu: 9000 });
});

t.test('ovs, ib-sriov, ipoib render their plugins', async (t) => {
  t.same(plugins(smc('o', { cniType: 'ovs', ovs: { bridge: 'br1', vlan: 5, trunk: [{ minID: 10, maxID: 20 }], deviceID: '0000:00:1f.0' } }))[0], {
    type: 'ovs', bridge: 'br1', vlan: 5, trunk: [{ minID: 10, maxID: 20 }], deviceID: '0000:00:1f.0', ipam: { type: 'spiderpool' },
  });
  t.same(render(smc('o', { cniType: 'ovs', ovs: { bridge: 'br1', deviceID: '0000:00:1f.0' } })).annotations, { 'k8s.v1.cni.cncf.io/resourceName': 'ovs-cni.network.kubevirt.io/br1' });
  t.same(plugins(smc('i', { cniType: 'ib-sriov', ibsriov: { resourceName: 'r', pkey: '0x8001' } }))[0], {
    type: 'ib-sriov', pkey: '0x8001', link_state: 'enable', rdmaIsolation: true, ibKubernetesEnabled: false, ipam: { type: 'spiderpool' },
  });
  t.same(plugins(smc('p', { cniType: 'ipoib', ipoib: { master: 'ib0' } }))[0], { type: 'ipoib', master: 'ib0', ipam: { type: 'spiderpool' } });
});

t.test('vlan (Underpin): the reference vlan plugin tags the pod NIC; no ifacer', async (t) => {
  t.same(plugins(smc('v', { cniType: 'vlan', vlan: { master: ['eth1'], vlanID: 100, mtu: 1400 } }))[0], { type: 'vlan', master: 'eth1', vlanId: 100, mtu: 1400, ipam: { type: 'spiderpool' } });
});

t.test('disableIPAM leaves IPAM out; enableCoordinator false leaves the coordinator out', async (t) => {
  t.same(plugins(smc('n', { cniType: 'macvlan', disableIPAM: true, enableCoordinator: false, macvlan: { master: ['eth1'], mtu: 9000 } })), [{ type: 'macvlan', master: 'eth1', mode: 'bridge', mtu: 9000 }]);
});

t.test('the coordinator gets the smc\'s settings in the names the plugin reads, and nothing it leaves unset', async (t) => {
  const coordinator = plugins(
    smc('c', {
      cniType: 'macvlan',
      macvlan: { master: ['eth1'] },
      coordinator: { mode: 'disabled', podDefaultRouteNIC: 'net1', hijackCIDR: ['169.254.0.0/16'], podRPFilter: -5, tunePodRoutes: false, hostRuleTable: 600, podMACPrefix: '0a:1b', detectIPConflict: true, detectGateway: false, podCIDRType: 'cluster', txQueueLen: 1000, vethLinkAddress: '169.254.100.1' },
    }),
  )[1];
  t.same(coordinator, {
    type: 'coordinator', mode: 'disable', podCIDRType: 'cluster', tunePodRoutes: false, podDefaultRouteNic: 'net1', hijackCIDR: ['169.254.0.0/16'], hostRuleTable: 600, podRPFilter: -1,
    txQueueLen: 1000, vethLinkAddress: '169.254.100.1', podMACPrefix: '0a:1b', detectIPConflict: true, detectGateway: false,
  });
});

t.test('custom: customCNI rendered as written; empty renders no config (upstream)', async (t) => {
  const text = '{"cniVersion":"1.0.0","name":"x","type":"macvlan","master":"eth1","ipam":{"type":"spiderpool"}}';
  t.equal(render(smc('x', { cniType: 'custom', customCNI: text })).config, text);
  t.equal(render(smc('x', { cniType: 'custom' })).config, undefined);
  t.equal(render(smc('x', {})).config, undefined, 'no cniType: the CRD\'s default, custom');
});

t.test('deterministic: the same smc renders the same string, whatever the key order it was written in', async (t) => {
  const a = smc('d', { cniType: 'macvlan', macvlan: { master: ['eth1'], ippools: { ipv4: ['p'] }, mtu: 1500 }, coordinator: { mode: 'auto', hijackCIDR: ['10.0.0.0/8'] } });
  const b = { spec: { coordinator: { hijackCIDR: ['10.0.0.0/8'], mode: 'auto' }, macvlan: { mtu: 1500, ippools: { ipv4: ['p'] }, master: ['eth1'] }, cniType: 'macvlan' }, metadata: a.metadata, kind: a.kind };
  t.equal(render(a).config, render(b).config);
  t.equal(render(admitted(a)).config, render(a).config, 'defaulting twice changes nothing');
  t.same(render({ ...a, metadata: { ...a.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } } }).annotations, {}, 'kubectl\'s last-applied copy stays on the smc');
});
