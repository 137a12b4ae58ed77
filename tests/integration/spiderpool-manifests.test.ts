// Spiderpool manifests, as written before v1.0 (spec.vlan) and after (without it), apply
// unchanged to Underpin's CRDs through kubectl's default (strict) validation; the
// columns of `kubectl get` are Spiderpool's, wide ones included; a field of no
// Spiderpool version is refused. Real control plane, webhook without the reconciler.
import t from 'tap';
import { request } from 'node:https';
import { stringify } from 'yaml';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { controllers: false });
const apply = (...objects: object[]) => cluster.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const spider = (kind: string, name: string, spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind, metadata: { name }, spec });

const selector = (labels: Record<string, string>) => ({ matchLabels: labels, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] });

t.test('a pre-1.0 subnet, pool and reserved IP (with vlan) apply', async (t) => {
  const result = await apply(
    spider('SpiderSubnet', 'pre1-v4', { ipVersion: 4, subnet: '10.30.0.0/16', ips: ['10.30.0.10-10.30.0.200'], excludeIPs: ['10.30.0.100'], gateway: '10.30.0.1', vlan: 30, routes: [{ dst: '10.31.0.0/16', gw: '10.30.0.254' }] }),
    spider('SpiderIPPool', 'pre1-pool', {
      ipVersion: 4,
      subnet: '10.30.0.0/16',
      ips: ['10.30.0.10-10.30.0.20'],
      excludeIPs: ['10.30.0.15'],
      gateway: '10.30.0.1',
      vlan: 30,
      routes: [{ dst: '10.31.0.0/16', gw: '10.30.0.254' }],
      podAffinity: selector({ app: 'web' }),
      namespaceAffinity: selector({ team: 'a' }),
      namespaceName: ['default'],
      nodeAffinity: selector({ 'kubernetes.io/os': 'linux' }),
      nodeName: ['node-1'],
      multusName: ['kube-system/macvlan-conf'],
      default: false,
      disable: false,
    }),
    spider('SpiderReservedIP', 'pre1-reserved', { ipVersion: 4, ips: ['10.30.0.150'] }),
  );
  t.equal(result.code, 0, result.stderr);
  const stored = JSON.parse((await cluster.kubectl(['get', 'spiderippool', 'pre1-pool', '-o', 'json'])).stdout);
  t.equal(stored.spec.vlan, 30, 'vlan kept');
});

t.test('a v1.0 subnet and pool (no vlan) apply', async (t) => {
  const result = await apply(
    spider('SpiderSubnet', 'v1-v6', { subnet: 'fd00:32::/64', ips: ['fd00:32::10-fd00:32::ff'], gateway: 'fd00:32::1' }),
    spider('SpiderIPPool', 'v1-pool', { subnet: 'fd00:32::/64', ips: ['fd00:32::10-fd00:32::20'], default: true }),
  );
  t.equal(result.code, 0, result.stderr);
  const stored = JSON.parse((await cluster.kubectl(['get', 'spiderippool', 'v1-pool', '-o', 'json'])).stdout);
  t.equal(stored.spec.vlan, undefined, 'no vlan is invented');
  t.equal(stored.spec.ipVersion, 6);
});

t.test('a pool exported from a newer Spiderpool, with its status, applies', async (t) => {
  const exported = {
    ...spider('SpiderIPPool', 'exported', { ipVersion: 4, subnet: '10.33.0.0/16', ips: ['10.33.0.10-10.33.0.11'] }),
    status: { allocatedIPCount: 0, totalIPCount: 2, ipMetaData: { metadata: '{}', observedGeneration: 1, readyIPCount: 0, unreadyIPCount: 2 }, parentNic: { name: 'eth1', mac: '02:00:00:00:00:01' } },
  };
  const result = await apply(exported);
  t.equal(result.code, 0, result.stderr);
});

t.test('a field of no Spiderpool version is refused, naming it', async (t) => {
  const result = await apply(spider('SpiderIPPool', 'typo', { subnet: '10.34.0.0/16', ips: ['10.34.0.10'], defualt: true }));
  t.not(result.code, 0, 'kubectl apply fails');
  t.match(result.stderr, /unknown field "spec\.defualt"/);
});

t.test('kubectl get prints Spiderpool\'s columns', async (t) => {
  const get = async (args: string[]) => {
    const result = await cluster.kubectl(['get', ...args]);
    t.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  t.match(await get(['ss']), /^NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\n/);
  t.match(await get(['sp']), /^NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\s+DEFAULT\n/);
  t.match(await get(['sp', '-o', 'wide']), /^NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\s+DEFAULT\s+DISABLE\s+NODENAME\s+MULTUSNAME\s+APP-NAMESPACE\n/);
  t.match(await get(['sp', 'pre1-pool', '-o', 'wide']), /pre1-pool\s+4\s+10\.30\.0\.0\/16\s.*false\s+false\s+\S*node-1\S*\s+\S*kube-system\/macvlan-conf/);
  t.match(await get(['sr']), /^NAME\s+VERSION\n/);
  // A SpiderEndpoint as Spiderpool writes one (its status through the subresource here).
  const endpoint = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderEndpoint', metadata: { name: 'web-0', namespace: 'default' } };
  t.equal((await apply(endpoint)).code, 0);
  const status = {
    current: { uid: 'u-1', node: 'node-1', ips: [{ interface: 'eth0', ipv4: '10.30.0.11/16', ipv4Pool: 'pre1-pool', ipv6: 'fd00:32::11/64', ipv6Pool: 'v1-pool', vlan: 30, ipv4Gateway: '10.30.0.1', cleanGateway: false, routes: [] }] },
    ownerControllerType: 'StatefulSet',
    ownerControllerName: 'web',
  };
  const patched = await cluster.kubectl(['patch', 'spiderendpoint', 'web-0', '-n', 'default', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  t.equal(patched.code, 0, patched.stderr);
  t.match(await get(['se', '-n', 'default']), /^NAME\s+INTERFACE\s+IPV4POOL\s+IPV4\s+IPV6POOL\s+IPV6\s+NODE\nweb-0\s+eth0\s+pre1-pool\s+10\.30\.0\.11\/16\s+v1-pool\s+fd00:32::11\/64\s+node-1\s/);
});

t.test('the column definitions the API serves are upstream\'s (names and priorities)', async (t) => {
  // kubectl prints names upper-cased and hides priorities: ask for the Table itself.
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${cluster.plane.apiserverUrl}/apis/spiderpool.spidernet.io/v2beta1/spiderippools`, { ...cluster.plane.adminTls, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end();
  });
  const columns = (JSON.parse(body).columnDefinitions as { name: string; priority: number }[]).map((c) => `${c.name}:${c.priority}`);
  t.same(columns, ['Name:0', 'VERSION:0', 'SUBNET:0', 'ALLOCATED-IP-COUNT:0', 'TOTAL-IP-COUNT:0', 'DEFAULT:0', 'DISABLE:10', 'NodeName:10', 'MultusName:10', 'APP-NAMESPACE:10']);
});
