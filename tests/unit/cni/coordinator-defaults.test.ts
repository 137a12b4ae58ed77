// The coordinator's precedence: the network's configuration, then SpiderCoordinator
// default (spec, and the CIDRs its status found), then the built-in defaults.
import t from 'tap';
import type { ClusterCoordinator } from '../../../cni/coordinator/cluster-defaults.js';
import { readCoordinatorConfig } from '../../../cni/coordinator/coordinator-config.js';
import { withClusterDefaults } from '../../../cni/coordinator/coordinator-defaults.js';
import { coordinatorDefaultsOf, SpiderCoordinator } from '../../../ipam/spider-coordinator.js';

function cluster(spec: Record<string, unknown>, status?: { phase: string; reason?: string; serviceCIDR: string[]; overlayPodCIDR: string[] }): ClusterCoordinator {
  const defaults = coordinatorDefaultsOf(SpiderCoordinator.parse({ kind: 'SpiderCoordinator', metadata: { name: 'default' }, spec }));
  if (!defaults.ok) throw new Error(defaults.reason);
  return { found: true, defaults: defaults.value, status };
}

const synced = { phase: 'Synced', serviceCIDR: ['10.96.0.0/12'], overlayPodCIDR: ['10.244.0.0/16'] };
const nad = { cniVersion: '1.0.0', name: 'macvlan-net', type: 'underpin-coordinator' };

t.test('a network that says nothing takes everything from the cluster', async (t) => {
  const applied = withClusterDefaults(nad, cluster({ mode: 'underlay', hijackCIDR: ['169.254.20.10'], hostRuleTable: 600, podRPFilter: -3, podDefaultRouteNIC: 'net1', vethLinkAddress: '169.254.100.1' }, synced));
  const config = readCoordinatorConfig(applied.json);
  t.match(config, { mode: 'underlay', hostRuleTable: 600, podRPFilter: -1, podDefaultRouteNic: 'net1', vethLinkAddress: '169.254.100.1', hijackCIDR: ['169.254.20.10/32'], serviceCIDR: ['10.96.0.0/12'], overlayPodCIDR: ['10.244.0.0/16'] });
  t.same(config.routedCidrs, ['10.96.0.0/12', '10.244.0.0/16', '169.254.20.10/32']);
  t.ok(applied.fromCluster.includes('hijackCIDR') && applied.fromCluster.includes('serviceCIDR'));
  t.equal(applied.note, undefined);
});

t.test("the network's own fields win", async (t) => {
  const own = { ...nad, mode: 'overlay', hijackCIDR: ['10.1.0.0/16'], serviceCIDR: ['10.2.0.0/16'], hostRuleTable: 700, tunePodRoutes: false, podDefaultRouteNIC: 'eth0' };
  const config = readCoordinatorConfig(withClusterDefaults(own, cluster({ mode: 'underlay', hijackCIDR: ['169.254.20.10/32'], tunePodRoutes: true, podDefaultRouteNIC: 'net1' }, synced)).json);
  t.match(config, { mode: 'overlay', hijackCIDR: ['10.1.0.0/16'], serviceCIDR: ['10.2.0.0/16'], hostRuleTable: 700, tunePodRoutes: false, podDefaultRouteNic: 'eth0' });
  t.same(config.routedCidrs, ['10.2.0.0/16', '10.244.0.0/16', '10.1.0.0/16'], 'overlayPodCIDR still from the status');
  const viaSmcName = readCoordinatorConfig(withClusterDefaults({ ...nad, hijackCustomSubnet: ['10.9.0.0/16'] }, cluster({ hijackCIDR: ['169.254.20.10/32'] }, synced)).json);
  t.same(viaSmcName.hijackCIDR, undefined, "SpiderMultusConfig's hijackCustomSubnet counts as the network's own list");
  t.equal(readCoordinatorConfig(withClusterDefaults(nad, cluster({ mode: 'disabled' })).json).mode, 'disable', 'disabled becomes the plugin spelling');
});

t.test('podCIDRType none routes no pod CIDR', async (t) => {
  t.equal(readCoordinatorConfig(withClusterDefaults(nad, cluster({ podCIDRType: 'none' }, synced)).json).overlayPodCIDR, undefined);
  t.equal(readCoordinatorConfig(withClusterDefaults({ ...nad, podCIDRType: 'none' }, cluster({ podCIDRType: 'cluster' }, synced)).json).overlayPodCIDR, undefined, "the network's podCIDRType wins");
  t.same(readCoordinatorConfig(withClusterDefaults({ ...nad, podCIDRType: 'cluster' }, cluster({ podCIDRType: 'none' }, synced)).json).overlayPodCIDR, ['10.244.0.0/16']);
});

t.test('missing object, missing or NotReady status: built-in defaults or what was found, with a note', async (t) => {
  const missing = withClusterDefaults(nad, { found: false, why: 'SpiderCoordinator default does not exist' });
  t.same(missing.json, nad);
  t.equal(missing.note, 'SpiderCoordinator default does not exist: built-in defaults');
  t.match(readCoordinatorConfig(missing.json), { mode: 'auto', tunePodRoutes: true, hostRuleTable: 500 });
  const noStatus = withClusterDefaults(nad, cluster({ mode: 'underlay' }));
  t.match(noStatus, { json: { mode: 'underlay' }, note: /has no status yet/ });
  t.equal(noStatus.json.serviceCIDR, undefined);
  const notReady = withClusterDefaults(nad, cluster({}, { phase: 'NotReady', reason: 'no Calico', serviceCIDR: ['10.96.0.0/12'], overlayPodCIDR: [] }));
  t.match(notReady, { json: { serviceCIDR: ['10.96.0.0/12'] }, note: /NotReady \(no Calico\)/ });
  t.equal(notReady.json.overlayPodCIDR, undefined);
});
