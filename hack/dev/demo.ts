// npm run demo: Underpin on a real local control plane, step by step, with real
// kubectl output. `npm run demo -- --keep` leaves the cluster up afterwards.
import { stringify } from 'yaml';
import { devDown, devUp, type DevState } from './cluster.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BINDING_ANNOTATION, decodeBinding } from '../../ipam/binding.js';
import { runKubectl } from '../control-plane/kubectl.js';
import { ip } from '../node-simulator/host.js';
import { SimulatorNames } from '../node-simulator/names.js';
import { HANG_TIMEOUT_MS, waitUntil } from '../processes.js';
import { realNodeUnavailable } from '../real-node/real-node.js';
import { repoPath } from '../repo-paths.js';

const keep = process.argv.includes('--keep');

function banner(line: string): void {
  console.log(`\n\x1b[1m==> ${line}\x1b[0m`);
}

async function show(state: DevState, args: string[], input?: string): Promise<{ code: number; out: string }> {
  console.log(`$ kubectl ${args.join(' ')}`);
  const result = await runKubectl(state.kubectl, state.kubeconfig, args, input);
  const out = (result.stdout + result.stderr).trimEnd();
  if (out) console.log(out);
  return { code: result.code, out };
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`demo step failed: ${what}`);
}

/** Names a subnet for net1 but attaches no network for it: every pod of it would be refused. */
/** A network as a Spiderpool user writes it: the fields, not the CNI JSON. */
const multusConfig = stringify({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name: 'macvlan-uplink1', namespace: 'default' },
  spec: { cniType: 'macvlan', macvlan: { master: ['uplink1'] } },
});

const brokenDeployment = stringify({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'no-net1', namespace: 'default' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'no-net1' } },
    template: {
      metadata: {
        labels: { app: 'no-net1' },
        annotations: { 'ipam.spidernet.io/subnets': JSON.stringify([{ interface: 'eth0', ipv4: ['subnet-10-6'] }, { interface: 'net1', ipv4: ['subnet-10-7'] }]) },
      },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/no-net1:1' }] },
    },
  },
});

const pool = (name: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });

/** Wait for a controller's work, bounded generously: a slow machine only waits longer. */
function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
  return waitUntil(`demo step failed: ${what}`, probe, { timeoutMs: HANG_TIMEOUT_MS, intervalMs: 300 });
}

/** One line per pod: its name and the IPv4 address of each NIC of its binding. */
async function podAddresses(state: DevState): Promise<string[]> {
  return (await appPods(state)).map((p) => `${p.metadata.name}  ${interfacesOf(p).map((i) => `${i.interface}=${i.ipv4?.address ?? '-'}`).join('  ')}`);
}

const interfacesOf = (pod: DemoPod) => decodeBinding(pod.metadata.annotations?.[BINDING_ANNOTATION] ?? '')?.interfaces ?? [];

interface DemoPod {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

async function appPods(state: DevState): Promise<DemoPod[]> {
  const r = await runKubectl(state.kubectl, state.kubeconfig, ['get', 'pods', '-l', 'app=test-app', '-o', 'json']);
  return (JSON.parse(r.stdout).items as DemoPod[]).filter((p) => !p.metadata.deletionTimestamp);
}

/** Every pod Running, its pod IP the eth0 address of its binding. */
async function runningWithBoundAddresses(state: DevState, count: number): Promise<boolean> {
  const pods = await appPods(state);
  return (
    pods.length === count &&
    pods.every((p) => {
      const eth0 = interfacesOf(p).find((i) => i.interface === 'eth0')?.ipv4?.address.split('/')[0];
      return p.status.phase === 'Running' && eth0 !== undefined && p.status.podIP === eth0;
    })
  );
}

async function showInNetns(netns: string, args: string[]): Promise<void> {
  console.log(`$ ip -n ${netns} ${args.join(' ')}`);
  console.log((await ip(['-n', netns, ...args])).trimEnd());
}

async function showPodNetwork(state: DevState): Promise<void> {
  const simulator = state.nodeSimulator;
  if (!simulator) {
    banner('No node simulator on this machine (dev:up said why): pods stay Pending, the network step is skipped');
    return;
  }
  banner(`The simulated nodes (${simulator.nodes.join(', ')}) ran each pod's CNI chain: Running, with the addresses of its binding`);
  await waitFor('pods Running with their bound addresses', () => runningWithBoundAddresses(state, 2));
  await show(state, ['get', 'pods', '-l', 'app=test-app', '-o', 'wide']);

  const pod = (await appPods(state))[0]!;
  const netns = new SimulatorNames(simulator.prefix).podNetns(pod.metadata);
  banner(`Inside ${pod.metadata.name}'s network namespace (made by the node simulator on ${pod.spec.nodeName})`);
  console.log(
    "eth0 and net1 carry their bound addresses; the coordinator's rule \"from <net1 address> lookup 100\" makes replies from net1 leave by net1 (table 100, net1's gateway); all else uses main (default via eth0); local/broadcast routes left out. Last, the pod pings net1's gateway on the simulated underlay.",
  );
  await showInNetns(netns, ['-4', 'addr']);
  await showInNetns(netns, ['rule']);
  await showInNetns(netns, ['-4', 'route', 'show', 'table', 'all', 'type', 'unicast']);
  // The net1 gateway of the binding lives on the simulated fabric: the pod reaches it through net1.
  const net1Gateway = interfacesOf(pod).find((i) => i.interface === 'net1')?.ipv4?.gateway;
  if (net1Gateway) {
    const args = ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '2', '-I', 'net1', net1Gateway];
    console.log(`$ ip ${args.join(' ')}`);
    const ping = spawnSync('ip', args, { encoding: 'utf8' });
    console.log(`${ping.stdout}${ping.stderr}`.trimEnd());
  }
}

/** The real node's part: Underpin's own pods from its image, and an application's pods as real containers. */
async function showRealNode(state: DevState): Promise<void> {
  const node = state.realNode;
  if (!node) return;
  banner(`Underpin itself runs as pods on ${node.name} (kubelet + containerd), from its image, installed with kubectl apply -k manifests/`);
  const t = node.timings;
  const s = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  console.log(`images built ${s(t.imagesMs)}, node Ready ${s(t.nodeReadyMs)}, kubectl apply -k → controller Ready ${s(t.controllerReadyMs)}, CNI plugins installed ${s(t.cniInstalledMs)}`);
  await show(state, ['-n', 'underpin-system', 'get', 'pods', '-o', 'wide']);

  banner(`An application on ${node.name}: its pods are real containers, each with exactly the address it was bound`);
  const app = readFileSync(repoPath('hack', 'dev', 'demo', 'real-node-app.yaml'), 'utf8');
  expect((await show(state, ['apply', '-f', '-'], app)).code === 0, 'real-node-app applied');
  const pods = async () => {
    const r = await runKubectl(state.kubectl, state.kubeconfig, ['get', 'pods', '-l', 'app=real-app', '-o', 'json']);
    return (JSON.parse(r.stdout).items as DemoPod[]).filter((p) => !p.metadata.deletionTimestamp);
  };
  await waitFor('real-app pods Running', async () => {
    const list = await pods();
    return list.length === 2 && list.every((p) => p.status.phase === 'Running');
  });
  await show(state, ['get', 'pods', '-l', 'app=real-app', '-o', 'wide']);
  const [pod] = await pods();
  const bound = interfacesOf(pod!).find((i) => i.interface === 'eth0')?.ipv4?.address;
  console.log(`${pod!.metadata.name} is bound to ${bound}; inside its container:`);
  const addr = await show(state, ['exec', pod!.metadata.name, '--', 'ip', '-4', 'addr', 'show', 'eth0']);
  expect(bound !== undefined && addr.out.includes(`inet ${bound} `), 'the container carries its bound address');
  await show(state, ['exec', pod!.metadata.name, '--', 'ip', 'route']);
}

async function poolSizes(state: DevState): Promise<number[]> {
  const r = await runKubectl(state.kubectl, state.kubeconfig, ['get', 'spiderippools', '-l', 'ipam.spidernet.io/owner-application-name=test-app', '-o', 'json']);
  return (JSON.parse(r.stdout).items as { spec: { ips?: string[] } }[]).map((p) =>
    (p.spec.ips ?? []).reduce((n, range) => {
      const [a, b = a] = range.split('-');
      return n + Number(b!.split('.').at(-1)) - Number(a!.split('.').at(-1)) + 1;
    }, 0),
  );
}

async function walkthrough(state: DevState): Promise<void> {
  banner('A real control plane: kube-apiserver, etcd, controller-manager and scheduler on loopback');
  expect((await show(state, ['version'])).code === 0, 'kubectl version');

  banner('Two underlay subnets, two macvlan networks, and test-app: two NICs, ippool-ip-number "+1"');
  const seed = readFileSync(repoPath('hack', 'dev', 'demo', 'seed.yaml'), 'utf8');
  console.log(seed.split('\n').filter((l) => l.startsWith('        ipam.') || l.startsWith('          [') || l.startsWith('           {')).join('\n'));
  expect((await show(state, ['apply', '-f', repoPath('hack', 'dev', 'demo', 'seed.yaml')])).code === 0, 'seed manifests applied');

  banner('Underpin carved an auto pool per NIC from its subnet: replicas (2) + 1 = 3 addresses each');
  await waitFor('auto pools of 3', async () => (await poolSizes(state)).join() === '3,3');
  // As upstream, a subnet counts the addresses it handed to pools.
  await waitFor('subnets count their pools', async () => (await runKubectl(state.kubectl, state.kubeconfig, ['get', 'spidersubnets', '-o', 'jsonpath={.items[*].status.allocatedIPCount}'])).stdout.trim() === '3 3');
  await show(state, ['get', 'spidersubnets']);
  await show(state, ['get', 'spiderippools', '-o', 'custom-columns=NAME:.metadata.name,SUBNET:.spec.subnet,IPS:.spec.ips,APP:.metadata.labels.ipam\\.spidernet\\.io/owner-application-name']);

  banner('Each pod was bound at admission to one address in each pool (written into the pod, locked by an IPClaim)');
  await waitFor('two bound pods', async () => (await podAddresses(state)).length === 2);
  console.log((await podAddresses(state)).join('\n'));
  // The reconciler binds each claim to its pod and counts them in the pools' status.
  await waitFor('claims bound', async () => {
    const r = await runKubectl(state.kubectl, state.kubeconfig, ['get', 'ipclaims', '-o', 'jsonpath={.items[*].status.phase}']);
    return r.stdout.split(' ').filter((p) => p === 'Bound').length === 4;
  });
  await show(state, ['get', 'ipclaims']);
  await waitFor('pool status', async () => {
    const r = await runKubectl(state.kubectl, state.kubeconfig, ['get', 'spiderippools', '-o', 'jsonpath={.items[*].status.allocatedIPCount}']);
    return r.stdout.trim() === '2 2';
  });
  await show(state, ['get', 'spiderippools']);

  await showPodNetwork(state);

  banner('Pods deleted: their replacements are bound inside the same pools');
  const before = await podAddresses(state);
  await show(state, ['delete', 'pods', '-l', 'app=test-app', '--grace-period=0', '--force']);
  await waitFor('replacements bound', async () => {
    const now = await podAddresses(state);
    return now.length === 2 && now.every((line) => !before.some((b) => b.split(' ')[0] === line.split(' ')[0]));
  });
  console.log((await podAddresses(state)).join('\n'));
  if (state.nodeSimulator) {
    await waitFor('replacements Running with their bound addresses', () => runningWithBoundAddresses(state, 2));
    await show(state, ['get', 'pods', '-l', 'app=test-app', '-o', 'wide']);
  }

  banner('kubectl scale --replicas 3: both pools grow from 3 to 4 addresses');
  await show(state, ['scale', 'deployment', 'test-app', '--replicas', '3']);
  await waitFor('pools of 4', async () => (await poolSizes(state)).join() === '4,4');
  await show(state, ['get', 'spiderippools', '-o', 'custom-columns=NAME:.metadata.name,IPS:.spec.ips']);

  banner('A conflicting manifest is denied at kubectl apply, with a message that names the field and the fix');
  const conflict = await show(state, ['apply', '-f', '-'], pool('rogue', { subnet: '10.6.0.0/16', ips: ['10.6.0.11-10.6.0.15'], gateway: '10.6.0.12' }));
  expect(conflict.code !== 0 && conflict.out.includes('already in SpiderIPPool'), 'conflicting pool denied');

  banner('A Deployment that cannot work is refused at kubectl apply, with the message its pods would get (and no pool carved for it)');
  const broken = await show(state, ['apply', '-f', '-'], brokenDeployment);
  expect(broken.code !== 0 && broken.out.includes('Deployment default/no-net1: annotation ipam.spidernet.io/subnets: interface "net1" is not a NIC of this pod'), 'Deployment without the network it names denied');

  banner('A network as Spiderpool users write it: a SpiderMultusConfig becomes the NetworkAttachmentDefinition Underpin renders and owns');
  expect((await show(state, ['apply', '-f', '-'], multusConfig)).code === 0, 'SpiderMultusConfig applied');
  await waitFor('its NetworkAttachmentDefinition', async () => (await runKubectl(state.kubectl, state.kubeconfig, ['get', 'network-attachment-definitions.k8s.cni.cncf.io', 'macvlan-uplink1'])).code === 0);
  await show(state, ['get', 'network-attachment-definitions.k8s.cni.cncf.io', 'macvlan-uplink1', '-o', 'jsonpath={.spec.config}{"\\n"}']);
  await show(state, ['delete', 'spidermultusconfig', 'macvlan-uplink1']);
  await waitFor('the NetworkAttachmentDefinition gone with it', async () => (await runKubectl(state.kubectl, state.kubeconfig, ['get', 'network-attachment-definitions.k8s.cni.cncf.io', 'macvlan-uplink1'])).code !== 0);
  console.log('deleted with it');

  banner('SpiderCoordinator default: the coordinator\'s cluster-wide settings, and the Service and pod CIDRs found in the cluster');
  await waitFor('SpiderCoordinator default Synced', async () => (await runKubectl(state.kubectl, state.kubeconfig, ['get', 'spidercoordinator', 'default', '-o', 'jsonpath={.status.phase}'])).stdout === 'Synced');
  await show(state, ['get', 'spidercoordinator', 'default', '-o', 'jsonpath={.status}{"\\n"}']);

  await showRealNode(state);
}

async function main(): Promise<void> {
  const noRealNode = realNodeUnavailable();
  banner(
    noRealNode
      ? `Starting a local cluster with Underpin installed as local processes (no real node: ${noRealNode})`
      : 'Starting a local cluster: a real node running Underpin from its own image, and two simulated nodes (the first run builds Kubernetes and the images: several minutes)',
  );
  const state = await devUp({ realNode: noRealNode === undefined });
  let failed = false;
  try {
    await walkthrough(state);
    banner('Demo complete');
  } catch (error) {
    failed = true;
    console.error(`\n${(error as Error).message}`);
  } finally {
    if (keep) {
      console.log(`\nThe cluster is still up:\n  export KUBECONFIG=${state.kubeconfig}\n  ${state.kubectl} get spiderippools\nStop it with: npm run dev:down`);
    } else {
      banner('Cleaning up (npm run demo -- --keep leaves the cluster up)');
      await devDown();
    }
  }
  if (failed) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(`demo: ${(error as Error).message}`);
  process.exit(1);
});
