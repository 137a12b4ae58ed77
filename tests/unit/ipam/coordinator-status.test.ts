// SpiderCoordinator status from what the cluster has: Service CIDRs and the pod
// CIDRs of each podCIDRType, NotReady with a reason when a source is missing.
import t from 'tap';
import { coordinatorStatusDiffers, coordinatorStatusFor, resolvePodCIDRType, type CoordinatorSources } from '../../../ipam/coordinator-status.js';

const base: CoordinatorSources = { serviceCIDRObjects: ['10.96.0.0/12'], controlPlaneArgs: [], nodePodCIDRs: ['10.244.0.0/24', '10.244.1.0/24', 'fd00:244::/64', '10.244.0.0/24'] };

t.test('service CIDRs: ServiceCIDR objects, else kubeadm-config, else the control plane flag', async (t) => {
  t.same(coordinatorStatusFor('none', { ...base, serviceCIDRObjects: ['10.96.0.0/12', 'fd00:96::/108', '10.96.0.1/12'] }).serviceCIDR, ['10.96.0.0/12', 'fd00:96::/108']);
  const kubeadm = 'apiVersion: kubeadm.k8s.io/v1beta3\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.233.64.0/18,fd85::/56\n  serviceSubnet: 10.233.0.0/18\n';
  t.same(coordinatorStatusFor('none', { ...base, serviceCIDRObjects: [], kubeadmClusterConfiguration: kubeadm }).serviceCIDR, ['10.233.0.0/18']);
  t.same(coordinatorStatusFor('none', { ...base, serviceCIDRObjects: undefined, controlPlaneArgs: ['kube-apiserver', '--service-cluster-ip-range=10.1.0.0/16,fd01::/108'] }).serviceCIDR, ['10.1.0.0/16', 'fd01::/108']);
  const none = coordinatorStatusFor('none', { ...base, serviceCIDRObjects: undefined });
  t.equal(none.phase, 'NotReady');
  t.match(none.reason, /no Service CIDR found .*write serviceCIDR in the coordinator configuration/);
});

t.test('cluster: kubeadm podSubnet, else --cluster-cidr, else the nodes', async (t) => {
  t.same(coordinatorStatusFor('cluster', base), { phase: 'Synced', overlayPodCIDR: ['10.244.0.0/24', '10.244.1.0/24', 'fd00:244::/64'], serviceCIDR: ['10.96.0.0/12'] });
  t.same(coordinatorStatusFor('cluster', { ...base, controlPlaneArgs: ['--cluster-cidr', '10.200.0.0/16'] }).overlayPodCIDR, ['10.200.0.0/16']);
  t.same(coordinatorStatusFor('cluster', { ...base, kubeadmClusterConfiguration: 'networking:\n  podSubnet: "10.233.64.0/18"\n' }).overlayPodCIDR, ['10.233.64.0/18']);
  const empty = coordinatorStatusFor('cluster', { ...base, nodePodCIDRs: [] });
  t.equal(empty.phase, 'NotReady');
  t.match(empty.reason, /podCIDRType is cluster, but no pod CIDR was found/);
});

t.test('calico and cilium, present or absent', async (t) => {
  t.same(coordinatorStatusFor('calico', { ...base, calicoPools: ['10.233.64.0/18'] }).overlayPodCIDR, ['10.233.64.0/18']);
  const noCalico = coordinatorStatusFor('calico', base);
  t.match(noCalico, { phase: 'NotReady', reason: /serves no Calico IPPools .*install Calico, or set spec.podCIDRType/, overlayPodCIDR: [], serviceCIDR: ['10.96.0.0/12'] });
  t.same(coordinatorStatusFor('cilium', { ...base, ciliumConfig: { ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.0.0.0/8', 'cluster-pool-ipv6-cidr': 'fd00::/104' } }).overlayPodCIDR, ['10.0.0.0/8', 'fd00::/104']);
  t.same(coordinatorStatusFor('cilium', { ...base, ciliumConfig: { ipam: 'multi-pool' }, ciliumPodIPPools: ['10.10.0.0/16'] }).overlayPodCIDR, ['10.10.0.0/16']);
  t.same(coordinatorStatusFor('cilium', { ...base, ciliumConfig: { ipam: 'kubernetes' } }).overlayPodCIDR, ['10.244.0.0/24', '10.244.1.0/24', 'fd00:244::/64']);
  t.match(coordinatorStatusFor('cilium', { ...base, ciliumConfig: { ipam: 'eni' } }), { phase: 'NotReady', reason: /ipam "eni"/ });
  t.match(coordinatorStatusFor('cilium', base), { phase: 'NotReady', reason: /cilium-config does not exist/ });
});

t.test('auto: Calico, else Cilium, else cluster, else none', async (t) => {
  t.equal(resolvePodCIDRType('auto', { ...base, calicoPools: ['10.1.0.0/16'], ciliumConfig: {} }), 'calico');
  t.equal(resolvePodCIDRType('auto', { ...base, calicoPools: [], ciliumConfig: {} }), 'cilium');
  t.equal(resolvePodCIDRType('auto', base), 'cluster');
  t.equal(resolvePodCIDRType('auto', { ...base, nodePodCIDRs: [] }), 'none');
  t.same(coordinatorStatusFor('auto', { ...base, nodePodCIDRs: [] }), { phase: 'Synced', overlayPodCIDR: [], serviceCIDR: ['10.96.0.0/12'] });
  t.equal(resolvePodCIDRType('none', { ...base, calicoPools: ['10.1.0.0/16'] }), 'none');
});

t.test('a status is written only when it differs', async (t) => {
  const wanted = coordinatorStatusFor('cluster', base);
  t.notOk(coordinatorStatusDiffers({ ...wanted }, wanted));
  t.ok(coordinatorStatusDiffers(undefined, wanted));
  t.ok(coordinatorStatusDiffers({ ...wanted, reason: 'old' }, wanted));
  t.ok(coordinatorStatusDiffers({ ...wanted, serviceCIDR: [] }, wanted));
});
