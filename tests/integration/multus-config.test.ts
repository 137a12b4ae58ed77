// SpiderMultusConfig on the real control plane, through kubectl as a user runs it:
// two macvlan smcs (eth0; net1 with two IPv4 fallback pools) become NADs rendered and
// owned by the reconciler; pods naming them run on the node simulator (real macvlan,
// `spiderpool` IPAM, coordinator) with the bound addresses and the coordinator's
// rules; an edit of the smc reaches the NAD; a hand edit of the NAD is repaired;
// deleting the smc deletes the NAD; a hand-made NAD of the name is left alone with a
// Warning Event, and rendered once it goes; invalid smcs are refused with the message.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { decodeBinding } from '../../ipam/binding.js';
import { NodeSimulator } from '../../hack/node-simulator/node-simulator.js';
import { eventually } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { canUseNetns, ipJSON } from '../cni/netns-lab.js';
import { pluginBinaries } from '../cni/plugin-binaries.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { webhookReplicas: 1, reconcilerArgs: ['--resync-seconds=30'] });
const kubectl = cluster.kubectl;
const kc = loadKubeConfig(cluster.plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };
const DENIED = 'admission webhook "spider-resources.validate.underpin.dev" denied the request: ';

interface Nad {
  metadata: { uid: string; resourceVersion: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[] };
  spec?: { config?: string };
}
const readNad = (name: string): Promise<Nad | undefined> => custom.getNamespacedCustomObject({ ...NAD, namespace: 'default', name }).then((o) => o as Nad, () => undefined);
const apply = (...objects: object[]) => kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
const pool = (name: string, ips: string[], subnet: string, gateway: string) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet, ips, gateway } });
const smc = (name: string, spec: object, annotations?: Record<string, string>) => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec,
});

const ETH0 = smc('underlay-eth0', { cniType: 'macvlan', macvlan: { master: ['uplink0'], ippools: { ipv4: ['eth0-pool'] } } });
const NET1 = smc('underlay-net1', { cniType: 'macvlan', macvlan: { master: ['uplink1'], ippools: { ipv4: ['net1-a', 'net1-b'] } } });
const NET1_CONFIG = '{"cniVersion":"0.3.1","name":"underlay-net1","plugins":[{"type":"macvlan","master":"uplink1","mode":"bridge","ipam":{"type":"spiderpool","default_ipv4_ippool":["net1-a","net1-b"]}},{"type":"coordinator"}]}';

await kubectl(['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
const setup = await apply(
  pool('eth0-pool', ['10.40.0.10-10.40.0.19'], '10.40.0.0/24', '10.40.0.1'),
  pool('net1-a', ['10.41.0.10'], '10.41.0.0/24', '10.41.0.1'),
  pool('net1-b', ['10.41.0.20-10.41.0.29'], '10.41.0.0/24', '10.41.0.1'),
  ETH0,
  NET1,
);
t.equal(setup.code, 0, setup.stderr);

t.test('kubectl apply of a macvlan smc with two pools: the NAD appears, rendered and owned', async (t) => {
  const nad = await eventually('NAD underlay-net1', () => readNad('underlay-net1'));
  t.equal(nad.spec?.config, NET1_CONFIG, 'spec.config is the render');
  const smcObject = (await custom.getNamespacedCustomObject({ group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidermultusconfigs', namespace: 'default', name: 'underlay-net1' })) as {
    metadata: { uid: string };
    spec: Record<string, unknown>;
  };
  t.same(nad.metadata.ownerReferences, [{ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: 'underlay-net1', uid: smcObject.metadata.uid, controller: true, blockOwnerDeletion: true }]);
  t.same(
    smcObject.spec,
    { cniType: 'macvlan', disableIPAM: false, enableCoordinator: true, macvlan: { master: ['uplink1'], mtu: 0, vlanID: 0, ippools: { ipv4: ['net1-a', 'net1-b'], ipv6: [] } } },
    'defaulted by the webhook as upstream',
  );
  t.ok(await eventually('NAD underlay-eth0', () => readNad('underlay-eth0')));
});

const unusable = canUseNetns();
if (unusable) t.comment(`pods on the node simulator skipped: ${unusable}`);
else {
  t.test('pods naming the smcs\' networks run on the node simulator with the bound addresses and the coordinator\'s rule', async (t) => {
    const bins = await pluginBinaries();
    const workDir = mkdtempSync(join(tmpdir(), 'underpin-smc-sim-'));
    const simulator = new NodeSimulator({ kubeConfig: kc, nodes: ['sim-a'], cniBinDir: bins.dir, workDir, log: (line) => t.comment(line) });
    t.teardown(async () => {
      await simulator.stop();
      bins.cleanup();
      rmSync(workDir, { recursive: true, force: true });
    });
    await simulator.start();
    const pod = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', annotations: { 'v1.multus-cni.io/default-network': 'default/underlay-eth0', 'k8s.v1.cni.cncf.io/networks': 'default/underlay-net1' } },
      spec: { nodeName: 'sim-a', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
    });
    const addresses: Record<string, string> = {};
    for (const [name, net1Pool] of [['smc-pod-1', 'net1-a'], ['smc-pod-2', 'net1-b']] as const) {
      const created = await apply(pod(name));
      t.equal(created.code, 0, created.stderr);
      const running = await eventually(`${name} Running`, async () => {
        const p = await core.readNamespacedPod({ name, namespace: 'default' });
        return p.status?.phase === 'Running' ? p : undefined;
      });
      const binding = decodeBinding(running.metadata?.annotations?.['underpin.dev/binding'] ?? '')!;
      const eth0 = binding.interfaces.find((i) => i.interface === 'eth0')!.ipv4!;
      const net1 = binding.interfaces.find((i) => i.interface === 'net1')!.ipv4!;
      t.same([eth0.pool, net1.pool], ['eth0-pool', net1Pool], `${name}: eth0 from eth0-pool, net1 from ${net1Pool} (the smc's pools, in order)`);
      const netns = simulator.sandbox(running.metadata!.uid!)!.netns!;
      const links = ipJSON<{ ifname: string; addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(netns, ['addr', 'show']);
      const global = Object.fromEntries(links.map((l) => [l.ifname, l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)]));
      t.same(global, { lo: [], eth0: [eth0.address], net1: [net1.address] }, `${name}: the bound addresses, in its namespace`);
      const rules = ipJSON<{ src?: string; table?: string }[]>(netns, ['-4', 'rule', 'show']);
      t.ok(rules.some((r) => r.src === net1.address.split('/')[0] && r.table === '100'), `${name}: the coordinator's rule from ${net1.address} lookup 100`);
      addresses[name] = net1.address;
    }
    t.equal(addresses['smc-pod-1'], '10.41.0.10/24');
    t.match(addresses['smc-pod-2'], /^10\.41\.0\.2\d\/24$/, 'the second pod falls back to the second pool');
    t.equal((await kubectl(['delete', 'pod', 'smc-pod-1', 'smc-pod-2', '--wait=true', '--timeout=120s'])).code, 0);
  });
}

t.test('an edit of the smc reaches the NAD; a hand edit of the NAD is set back', async (t) => {
  const edited = await kubectl(['patch', 'smc', 'underlay-net1', '--type=merge', '-p', JSON.stringify({ spec: { macvlan: { mtu: 1400, ippools: { ipv4: ['net1-b'] } } } })]);
  t.equal(edited.code, 0, edited.stderr);
  const after = '{"cniVersion":"0.3.1","name":"underlay-net1","plugins":[{"type":"macvlan","master":"uplink1","mode":"bridge","mtu":1400,"ipam":{"type":"spiderpool","default_ipv4_ippool":["net1-b"]}},{"type":"coordinator"}]}';
  await eventually('NAD follows the smc', async () => (await readNad('underlay-net1'))?.spec?.config === after);
  t.pass('the NAD follows');

  const tampered = await kubectl(['patch', 'net-attach-def', 'underlay-net1', '--type=merge', '-p', JSON.stringify({ spec: { config: '{"cniVersion":"0.3.1","type":"macvlan","master":"eth9"}' } })]);
  t.equal(tampered.code, 0, tampered.stderr);
  await eventually('hand edit repaired', async () => (await readNad('underlay-net1'))?.spec?.config === after);
  t.pass('the hand edit is repaired');
});

t.test('a hand-made NAD of the name is not overwritten: a Warning Event says so; once it goes, the smc\'s is made', async (t) => {
  const handmade = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'handmade', namespace: 'default' }, spec: { config: '{"cniVersion":"1.0.0","name":"handmade","type":"macvlan","master":"uplink0"}' } };
  t.equal((await apply(handmade)).code, 0);
  const before = await eventually('hand-made NAD', () => readNad('handmade'));
  t.equal((await apply(smc('handmade', { cniType: 'macvlan', macvlan: { master: ['uplink0'] } }))).code, 0);
  const event = await eventually('Warning Event on the smc', async () => {
    const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=SpiderMultusConfig,involvedObject.name=handmade' });
    return events.items.find((e) => e.type === 'Warning');
  });
  t.equal(event.reason, 'NetworkAttachmentDefinitionNotOwned');
  t.equal(
    event.message,
    'NetworkAttachmentDefinition default/handmade exists and was not made from this SpiderMultusConfig (it has no controller reference to it), so Underpin leaves it as it is; delete it (kubectl delete net-attach-def -n default handmade) to have Underpin render it from this SpiderMultusConfig, or re-create this SpiderMultusConfig with annotation multus.spidernet.io/cr-name naming another NetworkAttachmentDefinition',
  );
  const still = await readNad('handmade');
  t.same([still?.metadata.resourceVersion, still?.spec?.config, still?.metadata.ownerReferences], [before.metadata.resourceVersion, handmade.spec.config, undefined], 'the hand-made NAD is untouched');

  t.equal((await kubectl(['delete', 'net-attach-def', 'handmade', '--wait=true'])).code, 0);
  const rendered = await eventually('the smc\'s NAD once the hand-made one is gone', async () => {
    const nad = await readNad('handmade');
    return nad?.metadata.ownerReferences?.[0]?.kind === 'SpiderMultusConfig' ? nad : undefined;
  });
  t.equal(rendered.spec?.config, '{"cniVersion":"0.3.1","name":"handmade","plugins":[{"type":"macvlan","master":"uplink0","mode":"bridge","ipam":{"type":"spiderpool"}},{"type":"coordinator"}]}');
});

t.test('invalid smcs are refused with the message, and nothing is created', async (t) => {
  const bad = smc('bad-net', { cniType: 'macvlan', macvlan: { master: ['uplink0', 'uplink1'], ippools: { ipv4: ['eth0-pool'], ipv6: ['net1-a'] } }, chainCNIJsonData: ['{"sysctl":{}}'] });
  const refused = await apply(bad);
  t.not(refused.code, 0);
  t.match(
    refused.stderr,
    `${DENIED}SpiderMultusConfig default/bad-net is invalid:\n` +
      'spec.macvlan.bond: is missing: 2 master interfaces are bonded into one; add bond: {name: "bond0", mode: 1}, or list one master\n' +
      'spec.macvlan.ippools.ipv6[0]: SpiderIPPool "net1-a" is an IPv4 pool; list it under spec.macvlan.ippools.ipv4, or name an IPv6 pool\n' +
      'spec.chainCNIJsonData[0]: has no "type"; write one plugin\'s configuration as JSON, e.g. {"type": "tuning", "sysctl": {"net.core.somaxconn": "4096"}}',
  );
  const clash = await apply(smc('second-eth0', { cniType: 'macvlan', macvlan: { master: ['uplink0'] } }, { 'multus.spidernet.io/cr-name': 'underlay-eth0' }));
  t.not(clash.code, 0);
  t.match(clash.stderr, `${DENIED}SpiderMultusConfig default/second-eth0 is invalid:\nmetadata.annotations["multus.spidernet.io/cr-name"]: NetworkAttachmentDefinition default/underlay-eth0 is already rendered by SpiderMultusConfig "underlay-eth0"; set metadata.annotations["multus.spidernet.io/cr-name"] to another name`);
  const renamed = await kubectl(['annotate', 'smc', 'underlay-eth0', 'multus.spidernet.io/cr-name=other-name']);
  t.not(renamed.code, 0);
  t.match(renamed.stderr, 'metadata.annotations["multus.spidernet.io/cr-name"]: cannot be added ("other-name"): the NetworkAttachmentDefinition was created as "underlay-eth0"');
  for (const name of ['bad-net', 'second-eth0']) t.not((await kubectl(['get', 'smc', name])).code, 0, `${name} was not created`);
  t.equal(await readNad('bad-net'), undefined, 'no NAD for a refused smc');
});

t.test('deleting the smc deletes its NAD', async (t) => {
  for (const name of ['underlay-net1', 'underlay-eth0', 'handmade']) {
    t.equal((await kubectl(['delete', 'smc', name, '--wait=true'])).code, 0);
    await eventually(`NAD ${name} gone`, async () => (await readNad(name)) === undefined);
    t.pass(`NAD ${name} is gone with its smc`);
  }
});
