// What the coordinator status controller reads of the cluster, against a loopback
// stub of the API: a source the cluster lacks (404) or hides (403) is absent, not an
// error; the rest arrives in the shape ipam/coordinator-status.ts reads.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { CoordinatorSourceReader } from '../../../reconciler/coordinator-sources.js';
import { coordinatorStatusFor } from '../../../ipam/coordinator-status.js';

type Routes = Record<string, [number, unknown]>;

async function stub(routes: Routes) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    seen.push(req.url ?? '');
    const [status, body] = routes[path] ?? [404, { kind: 'Status', code: 404 }];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'stub', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'stub', user: 'u' }],
    currentContext: 'c',
  });
  return { kubeConfig, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const quiet = { debug: () => {} };
const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', metadata: {}, items });

t.test('a cluster without Calico or Cilium: absent, not an error', async (t) => {
  const api = await stub({
    '/apis/networking.k8s.io/v1/servicecidrs': [200, list([{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16'] } }])],
    '/api/v1/namespaces/kube-system/pods': [200, list([{ metadata: { name: 'kube-controller-manager-a' }, spec: { containers: [{ name: 'kcm', command: ['kube-controller-manager', '--cluster-cidr=10.244.0.0/16'] }] } }])],
    '/api/v1/namespaces/kube-system/configmaps/cilium-config': [403, { kind: 'Status', code: 403 }],
  });
  t.teardown(api.close);
  const sources = await new CoordinatorSourceReader(api.kubeConfig, quiet).read(['10.244.1.0/24']);
  t.same(sources, { serviceCIDRObjects: ['10.96.0.0/16'], controlPlaneArgs: ['kube-controller-manager', '--cluster-cidr=10.244.0.0/16'], nodePodCIDRs: ['10.244.1.0/24'] });
  t.same(coordinatorStatusFor('auto', sources), { phase: 'Synced', overlayPodCIDR: ['10.244.0.0/16'], serviceCIDR: ['10.96.0.0/16'] });
  t.ok(api.seen.some((u) => u.startsWith('/api/v1/namespaces/kube-system/pods?') && decodeURIComponent(u.replace(/\+/g, ' ')).includes('component in (kube-controller-manager,kube-apiserver)')), 'control plane pods by label');
});

t.test('kubeadm-config, Calico pools (disabled ones left out), Cilium', async (t) => {
  const api = await stub({
    '/apis/networking.k8s.io/v1/servicecidrs': [200, list([])],
    '/api/v1/namespaces/kube-system/configmaps/kubeadm-config': [200, { metadata: { name: 'kubeadm-config' }, data: { ClusterConfiguration: 'networking:\n  podSubnet: 10.233.64.0/18\n  serviceSubnet: 10.233.0.0/18\n' } }],
    '/api/v1/namespaces/kube-system/pods': [200, list([])],
    '/apis/crd.projectcalico.org/v1/ippools': [200, list([{ spec: { cidr: '10.233.64.0/18' } }, { spec: { cidr: '10.50.0.0/16', disabled: true } }])],
    '/api/v1/namespaces/kube-system/configmaps/cilium-config': [200, { metadata: { name: 'cilium-config' }, data: { ipam: 'multi-pool' } }],
    '/apis/cilium.io/v2alpha1/ciliumpodippools': [200, list([{ spec: { ipv4: { cidrs: ['10.10.0.0/16'] }, ipv6: { cidrs: ['fd10::/104'] } } }])],
  });
  t.teardown(api.close);
  const sources = await new CoordinatorSourceReader(api.kubeConfig, quiet).read([]);
  t.match(sources, { serviceCIDRObjects: [], calicoPools: ['10.233.64.0/18'], ciliumConfig: { ipam: 'multi-pool' }, ciliumPodIPPools: ['10.10.0.0/16', 'fd10::/104'] });
  t.same(coordinatorStatusFor('auto', sources), { phase: 'Synced', overlayPodCIDR: ['10.233.64.0/18'], serviceCIDR: ['10.233.0.0/18'] });
  t.same(coordinatorStatusFor('cilium', sources).overlayPodCIDR, ['10.10.0.0/16', 'fd10::/104']);
});

t.test('an API failure that is not absence is an error (the controller retries)', async (t) => {
  const api = await stub({ '/apis/networking.k8s.io/v1/servicecidrs': [500, { kind: 'Status', code: 500 }] });
  t.teardown(api.close);
  await t.rejects(new CoordinatorSourceReader(api.kubeConfig, quiet).read([]), /reading servicecidrs.networking.k8s.io/);
});
