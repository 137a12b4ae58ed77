import t from 'tap';
import { configurationForNode, UnsupportedNetworkError, type SimulatedNode } from '../../../hack/node-simulator/node-conf.js';

const node: SimulatedNode = { name: 'sim-1', uplink: async (master) => `hostlink-${master}`, pluginKubeconfig: '/sim/kubeconfig', pluginLogFile: '/sim/cni.log', stateDir: '/sim/nodes/sim-1' };
const list = (...plugins: Record<string, unknown>[]) => ({ cniVersion: '1.0.0', name: 'net', plugins });
const macvlan = { type: 'macvlan', master: 'uplink0', ipam: { type: 'spiderpool' } };

t.test("the node's uplink, kubeconfig and log are filled in; nothing else changes", async (t) => {
  const adapted = await configurationForNode(list(macvlan, { type: 'coordinator', mode: 'auto' }), 'default/net', node);
  t.same(adapted.plugins, [
    { type: 'macvlan', master: 'hostlink-uplink0', ipam: { type: 'spiderpool', kubeconfig: '/sim/kubeconfig', log_file_path: '/sim/cni.log' } },
    { type: 'coordinator', mode: 'auto', kubeconfig: '/sim/kubeconfig', log_file_path: '/sim/cni.log' },
  ]);
});

t.test("what would change this machine's own network is refused, saying what to use", async (t) => {
  await t.rejects(configurationForNode(list(macvlan, { type: 'underpin-coordinator', mode: 'underlay' }), 'default/net', node), new UnsupportedNetworkError(
    'NetworkAttachmentDefinition default/net: underpin-coordinator "mode": "underlay" would add a veth, routes and rules to this machine\'s own network; use "mode": "auto" here (underlay mode is tested in tests/cni/underlay-netns.test.ts); the node simulator runs macvlan or ipvlan (with "master") + underpin/spiderpool, static, host-local or whereabouts IPAM + underpin-coordinator',
  ));
  await t.rejects(configurationForNode(list({ type: 'bridge', bridge: 'cni0' }), 'default/net', node), /plugin type "bridge" is not supported \(it would change the host's network or files\)/);
  await t.rejects(configurationForNode(list({ type: 'macvlan', ipam: { type: 'spiderpool' } }), 'default/net', node), /macvlan has no "master"/);
  await t.rejects(configurationForNode(list({ ...macvlan, ipam: { type: 'dhcp' } }), 'default/net', node), /IPAM type "dhcp" is not supported/);
  await t.rejects(configurationForNode(list({ ...macvlan, ipam: { type: 'whereabouts', range: '10.2.0.0/16' } }), 'default/net', node), /whereabouts needs "kubernetes": \{"kubeconfig": …\} and "configuration_path"/);
});

t.test("host-local keeps its leases in the node's own directory; Whereabouts logs there", async (t) => {
  const hostLocal = await configurationForNode(list({ ...macvlan, ipam: { type: 'host-local', dataDir: '/var/lib/cni/networks', ranges: [[{ subnet: '10.9.0.0/24' }]] } }), 'default/net', node);
  t.same(hostLocal.plugins[0]!.ipam, { type: 'host-local', dataDir: '/sim/nodes/sim-1/host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] }, 'never the host\'s /var/lib/cni');
  const whereabouts = await configurationForNode(list({ ...macvlan, ipam: { type: 'whereabouts', range: '10.2.0.0/16', kubernetes: { kubeconfig: '/b/k' }, configuration_path: '/b/w.conf' } }), 'default/net', node);
  t.same(whereabouts.plugins[0]!.ipam, { type: 'whereabouts', range: '10.2.0.0/16', kubernetes: { kubeconfig: '/b/k' }, configuration_path: '/b/w.conf', log_file: '/sim/nodes/sim-1/whereabouts.log' });
});
