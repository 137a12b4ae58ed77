// Benchmark (not a test): Spiderpool's own performance shape (docs/concepts/
// ipam-performance.md upstream: 100 Deployments × 10 replicas, time until all 1000
// pods are Running, with as many addresses as pods and with plenty), on the local
// control plane with simulated nodes, for three IPAMs in one run:
//   - floor: host-local (no fixed-IP IPAM; the namespace is not Underpin's),
//   - underpin: one SpiderIPPool of exactly as many addresses as pods, or a /16,
//   - whereabouts v0.9.2 (built from the Go module proxy by
//     hack/control-plane/build-whereabouts.sh): a range of exactly that many
//     addresses, or a /16.
// Each also times re-creation (every pod deleted at once; the Deployments make new
// ones, which need the old ones' addresses when addresses == pods) and deletion
// (until every pod is gone and every address is free again), and counts the API
// server's writes by resource and verb (apiserver_request_total).
//
// Two kinds of sandbox, each its own pass over all scenarios:
//   - ipam-only: the simulator runs only each network's IPAM plugin (what its main
//     plugin would delegate): the control plane and the IPAM's API work set the pace;
//   - network: a namespace per pod and the whole chain (macvlan on the node's uplink +
//     the IPAM plugin), as a node runs it.
// The simulator's own CPU per pod, and its plugins', are printed.
//
//   npm run bench:spiderpool-shape
//   BENCH_DEPLOYMENTS=100 BENCH_REPLICAS=10 BENCH_NODES=10 BENCH_SANDBOXES=ipam-only,network
//   BENCH_STACKS=ipv4,dual BENCH_ADDRESSES=equal,plentiful BENCH_IPAMS=floor,underpin,whereabouts
// The last line: `underpin/floor R1 whereabouts/underpin R2` (time to all Running,
// addresses == pods, IPv4; the network pass if it ran, else ipam-only).
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { whereaboutsBuild } from '../../hack/control-plane/binaries.js';
import { kubectlOrThrow } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { randomPrefix } from '../../hack/node-simulator/names.js';
import { startNodeSimulatorProcess, stopNodeSimulatorProcess } from '../../hack/node-simulator/process.js';
import { eventually } from '../../hack/processes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { difference, readWriteCounts, total, type WriteCounts } from './apiserver-writes.js';
import { PodWatch, type Stages } from './pod-watch.js';
import { cpuOf, cpuSince, type ProcessCpu } from './process-cpu.js';
import { setUpWhereabouts, type WhereaboutsIdentity } from './whereabouts-identity.js';

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 100);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 10);
const NODES = Number(process.env.BENCH_NODES ?? 10);
const SANDBOXES = list('BENCH_SANDBOXES', 'ipam-only,network') as Sandboxes[];
const STACKS = list('BENCH_STACKS', 'ipv4,dual') as Stack[];
const ADDRESSES = list('BENCH_ADDRESSES', 'equal,plentiful') as Addresses[];
const IPAMS = list('BENCH_IPAMS', 'floor,underpin,whereabouts') as Ipam[];
const PODS = DEPLOYMENTS * REPLICAS;
const PHASE_TIMEOUT_MS = Number(process.env.BENCH_PHASE_TIMEOUT_S ?? 1800) * 1000;

type Sandboxes = 'ipam-only' | 'network';
type Stack = 'ipv4' | 'dual';
type Addresses = 'equal' | 'plentiful';
type Ipam = 'floor' | 'underpin' | 'whereabouts';

interface Scenario {
  sandboxes: Sandboxes;
  stack: Stack;
  addresses: Addresses;
  ipam: Ipam;
  /** Distinct per scenario, so a pool still going away never overlaps the next one's. */
  index: number;
}

interface Figures {
  createS: number;
  /** When the last pod was created (admitted), scheduled and Running, in the creation phase. */
  stages: Stages;
  recreateS: number;
  podsGoneS: number;
  freedS: number;
  duplicates: number;
  writes: WriteCounts;
  /** Pod lifetimes in the window: created, re-created. */
  pods: number;
  simulator: ProcessCpu;
  underpinMs: number;
}

for (const [name, values, allowed] of [
  ['BENCH_SANDBOXES', SANDBOXES, ['ipam-only', 'network']],
  ['BENCH_STACKS', STACKS, ['ipv4', 'dual']],
  ['BENCH_ADDRESSES', ADDRESSES, ['equal', 'plentiful']],
  ['BENCH_IPAMS', IPAMS, ['floor', 'underpin', 'whereabouts']],
] as const) {
  const wrong = values.filter((v) => !(allowed as readonly string[]).includes(v));
  if (wrong.length > 0) {
    console.error(`${name}: ${wrong.join(', ')} unknown; choose from ${allowed.join(', ')}`);
    process.exit(2);
  }
}
if (!(DEPLOYMENTS > 0 && REPLICAS > 0 && NODES > 0 && PODS <= 60_000)) {
  console.error('BENCH_DEPLOYMENTS, BENCH_REPLICAS and BENCH_NODES must be above 0, and their product at most 60000');
  process.exit(2);
}

const networks = (s: Scenario) => ({
  v4: `10.${64 + s.index}.0.0/16`,
  v6: `fd00:64:${s.index.toString(16)}::/64`,
  v4First: `10.${64 + s.index}.0.10`,
  v6First: `fd00:64:${s.index.toString(16)}::10`,
});

/** The last address of `count` from `first` (IPv4, within one /16). */
function v4After(first: string, count: number): string {
  const [a, b, c, d] = first.split('.').map(Number) as [number, number, number, number];
  const n = c * 256 + d + count - 1;
  return `${a}.${b}.${Math.floor(n / 256)}.${n % 256}`;
}
const v6After = (first: string, count: number) => `${first.slice(0, first.lastIndexOf(':') + 1)}${(0x10 + count - 1).toString(16)}`;

const shortName = (s: Scenario) => `${s.ipam.slice(0, 2)}-${s.stack === 'ipv4' ? 'v4' : 'ds'}-${s.addresses === 'equal' ? 'eq' : 'pl'}-${s.sandboxes === 'network' ? 'net' : 'ipam'}`;

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-shape-'));
const plane = await LocalControlPlane.start({ dir });
const kc = loadKubeConfig(plane.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const kubectl = (args: string[], input?: string) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args, input);
const nodes = Array.from({ length: NODES }, (_, i) => `sim-${String(i + 1).padStart(2, '0')}`);
const results = new Map<string, Figures>();
let simulator: Awaited<ReturnType<typeof startNodeSimulatorProcess>> | undefined;
let prefix = randomPrefix();

try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin') });
  const peer = IPAMS.includes('whereabouts') ? whereaboutsBuild() : undefined;
  const peerIdentity = peer ? await setUpWhereabouts(plane, kubectl, peer, join(dir, 'whereabouts')) : undefined;
  console.log(`Spiderpool's shape: ${DEPLOYMENTS} Deployments × ${REPLICAS} replicas = ${PODS} pods on ${NODES} simulated nodes; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB; control plane, Underpin (2 webhook replicas, reconciler), simulator and this script share them`);

  let index = 0;
  for (const sandboxes of SANDBOXES) {
    prefix = randomPrefix();
    const simulatorDir = join(dir, `simulator-${sandboxes}`);
    simulator = await startNodeSimulatorProcess(plane, { dir: simulatorDir, nodes, prefix, sandboxes, concurrency: 8, quiet: true });
    // The peer's plugin goes where the node's plugins are (its CNI_PATH).
    if (peer) symlinkSync(peer.plugin, join(simulatorDir, 'cni-bin', 'whereabouts'));
    for (const stack of STACKS) {
      for (const addresses of ADDRESSES) {
        for (const ipam of IPAMS) {
          const scenario: Scenario = { sandboxes, stack, addresses, ipam, index: index++ };
          if (ipam === 'floor' && sandboxes === 'network' && stack === 'dual') {
            // host-local keeps leases per node, so two nodes hand out the same address. On
            // the shared segment IPv4 does not notice; IPv6 DAD does, and the pod never starts.
            console.log(`  ${shortName(scenario).padEnd(16)} not run: host-local's per-node leases give two nodes' pods one IPv6 address on the shared segment, and DAD refuses the second (in IPv4 that goes unnoticed)`);
            continue;
          }
          const figures = await run(scenario, simulator.pid, underpin.processes.map((p) => p.pid), peerIdentity);
          results.set(key(scenario), figures);
          // Printed as it comes, so a run cut short still has it.
          const floor = results.get(key({ ...scenario, ipam: 'floor' }));
          if (ipam === 'underpin' && floor) writesTable(figures, floor);
          console.log(`  ${shortName(scenario).padEnd(16)} Running ${figures.createS.toFixed(1)} s (last pod created ${figures.stages.created.toFixed(1)} s, scheduled ${figures.stages.scheduled.toFixed(1)} s), re-created ${figures.recreateS.toFixed(1)} s, deleted ${figures.podsGoneS.toFixed(1)} s (addresses free ${figures.freedS.toFixed(1)} s), ${(total(figures.writes) / figures.pods).toFixed(2)} writes/pod, ${ipam === 'floor' ? 'duplicates not checked (host-local: each node its own leases)' : `duplicates ${figures.duplicates}`}`);
        }
      }
    }
    await stopNodeSimulatorProcess(simulator, prefix);
    simulator = undefined;
  }
  report();
  await underpin.stop();
} finally {
  if (simulator) await stopNodeSimulatorProcess(simulator, prefix).catch(() => {});
  await plane.stop();
}
process.exit(0);

function key(s: Omit<Scenario, 'index'>): string {
  return `${s.sandboxes}/${s.stack}/${s.addresses}/${s.ipam}`;
}

// ---- one scenario ----

async function run(s: Scenario, simulatorPid: number, underpinPids: number[], whereabouts: WhereaboutsIdentity | undefined): Promise<Figures> {
  const ns = shortName(s);
  const net = networks(s);
  const dual = s.stack === 'dual';
  // A cluster without Underpin, for the floor and the peer: its webhook is never called.
  const ignore = s.ipam === 'underpin' ? {} : { 'underpin.dev/ignore': 'true' };
  await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: ignore } }));
  await eventually(`namespace ${ns}'s default ServiceAccount`, async () => (await core.listNamespacedServiceAccount({ namespace: ns })).items.some((a) => a.metadata?.name === 'default'));
  const { objects, ipam, annotations } = setup(s, net, dual, whereabouts);
  const nad = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'underlay', namespace: ns }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: `underlay-${ns}`, plugins: [{ type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam }] }) } };
  await kubectl(['apply', '-f', '-'], [...objects, nad].map((o) => stringify(o)).join('---\n'));

  const pods = new PodWatch(kc, ns, PODS, PHASE_TIMEOUT_MS);
  await pods.start();
  const writesBefore = await readWriteCounts(kc);
  const cpuBefore = { simulator: cpuOf([simulatorPid]), underpin: cpuOf(underpinPids) };
  try {
    const deployments = Array.from({ length: DEPLOYMENTS }, (_, i) => deployment(ns, `app-${String(i).padStart(3, '0')}`, annotations));
    let started = Date.now();
    await kubectl(['create', '-f', '-'], deployments.map((d) => stringify(d)).join('---\n'));
    await pods.until('all Running', () => pods.running().length === PODS);
    const createS = (Date.now() - started) / 1000;
    const stages = pods.stages(started);
    console.log(`  ${ns}: all Running in ${createS.toFixed(1)} s (last pod created ${stages.created.toFixed(1)} s, scheduled ${stages.scheduled.toFixed(1)} s)`);
    const duplicates = duplicateAddresses(pods.running());

    const before = new Set(pods.running().map((p) => p.metadata!.uid!));
    started = Date.now();
    // One DELETECOLLECTION: every pod at once, as in a mass eviction, whatever the client's pace.
    await serverSide(core.deleteCollectionNamespacedPod({ namespace: ns }));
    await pods.until('all re-created and Running', () => {
      const now = pods.running();
      return now.length === PODS && now.every((p) => !before.has(p.metadata!.uid!));
    });
    const recreateS = (Date.now() - started) / 1000;

    started = Date.now();
    await serverSide(apps.deleteCollectionNamespacedDeployment({ namespace: ns }));
    await pods.until('every pod gone', () => pods.count() === 0);
    const podsGoneS = (Date.now() - started) / 1000;
    await eventually('every address free', () => addressesFree(s, ns, net), { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 250 });
    const freedS = (Date.now() - started) / 1000;

    const writes = difference(await readWriteCounts(kc), writesBefore);
    const simulatorCpu = cpuSince(cpuOf([simulatorPid]), cpuBefore.simulator);
    const underpinCpu = cpuSince(cpuOf(underpinPids), cpuBefore.underpin);
    return { createS, stages, recreateS, podsGoneS, freedS, duplicates, writes, pods: 2 * PODS, simulator: simulatorCpu, underpinMs: underpinCpu.ownMs };
  } finally {
    await pods.stop();
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=600s']).catch((e: Error) => console.log(`  (namespace ${ns} not deleted: ${e.message})`));
    for (const o of objects) await kubectl(['delete', o.kind, o.metadata.name, '--ignore-not-found', '--wait=true', '--timeout=300s']).catch(() => {});
  }
}

interface Setup {
  objects: { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown }[];
  ipam: Record<string, unknown>;
  annotations: Record<string, string>;
}

function setup(s: Scenario, net: ReturnType<typeof networks>, dual: boolean, whereabouts: WhereaboutsIdentity | undefined): Setup {
  const equal = s.addresses === 'equal';
  const v4Range = { first: net.v4First, last: equal ? v4After(net.v4First, PODS) : v4After(net.v4First, 60_000) };
  const v6Range = { first: net.v6First, last: equal ? v6After(net.v6First, PODS) : v6After(net.v6First, 60_000) };
  switch (s.ipam) {
    case 'floor':
      return {
        objects: [],
        ipam: { type: 'host-local', ranges: [[{ subnet: net.v4, rangeStart: v4Range.first, rangeEnd: v4Range.last }], ...(dual ? [[{ subnet: net.v6, rangeStart: v6Range.first, rangeEnd: v6Range.last }]] : [])] },
        annotations: {},
      };
    case 'whereabouts': {
      if (!whereabouts) throw new Error('whereabouts was not set up');
      const range = (cidr: string, r: { first: string; last: string }) => ({ range: cidr, range_start: r.first, range_end: r.last });
      return {
        objects: [],
        ipam: {
          type: 'whereabouts',
          ipRanges: [range(net.v4, v4Range), ...(dual ? [range(net.v6, v6Range)] : [])],
          configuration_path: whereabouts.flatFile,
          kubernetes: { kubeconfig: whereabouts.kubeconfig },
        },
        annotations: {},
      };
    }
    case 'underpin': {
      // One pool of exactly as many addresses as pods (or plenty), as Spiderpool's test
      // and the peer's range: re-creation then needs the old pods' addresses back.
      const name = shortName(s);
      const pool = (family: 4 | 6) => ({
        apiVersion: 'spiderpool.spidernet.io/v2beta1',
        kind: 'SpiderIPPool',
        metadata: { name: `${name}-v${family}` },
        spec: family === 4 ? { subnet: net.v4, ips: [`${v4Range.first}-${v4Range.last}`] } : { subnet: net.v6, ips: [`${v6Range.first}-${v6Range.last}`] },
      });
      return {
        objects: [pool(4), ...(dual ? [pool(6)] : [])],
        ipam: { type: 'underpin' },
        annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [`${name}-v4`], ...(dual ? { ipv6: [`${name}-v6`] } : {}) }) },
      };
    }
  }
}

/** A DELETECOLLECTION that outlasts the API server's request timeout (504) goes on server-side: the waits that follow see it through. */
async function serverSide(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if ((error as { code?: number }).code !== 504) throw error;
  }
}

function deployment(namespace: string, name: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { 'v1.multus-cni.io/default-network': `${namespace}/underlay`, ...annotations } },
        spec: { automountServiceAccountToken: false, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'registry.invalid/app:1' }] },
      },
    },
  };
}

function duplicateAddresses(pods: V1Pod[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const pod of pods) {
    for (const ip of pod.status?.podIPs ?? []) {
      if (seen.has(ip.ip)) duplicates++;
      seen.add(ip.ip);
    }
  }
  return duplicates;
}

/** Every address the scenario's pods had is free again, as the IPAM keeps its books. */
async function addressesFree(s: Scenario, ns: string, net: ReturnType<typeof networks>): Promise<boolean> {
  switch (s.ipam) {
    case 'floor':
      return true; // host-local's DEL freed them with the sandbox
    case 'underpin': {
      const claims = (await custom.listClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' })) as { items: { spec: { namespace: string } }[] };
      return claims.items.every((c) => c.spec.namespace !== ns);
    }
    case 'whereabouts': {
      const pools = (await custom.listClusterCustomObject({ group: 'whereabouts.cni.cncf.io', version: 'v1alpha1', plural: 'ippools' })) as { items: { spec: { range: string; allocations?: Record<string, unknown> } }[] };
      return pools.items.filter((p) => p.spec.range === net.v4 || p.spec.range === net.v6).every((p) => Object.keys(p.spec.allocations ?? {}).length === 0);
    }
  }
}

// ---- the report ----

function report(): void {
  const seconds = (f: Figures | undefined, field: 'createS' | 'recreateS' | 'podsGoneS' | 'freedS') => (f ? `${f[field].toFixed(0)} s` : '—');
  const ratio = (a: Figures | undefined, b: Figures | undefined, field: 'createS' | 'recreateS' | 'podsGoneS' | 'freedS' = 'createS') => (a && b ? (a[field] / b[field]).toFixed(2) : '—');
  console.log('');
  console.log(`Spiderpool's published table (10 nodes, 1000 pods, time to all Running; addresses == pods / plentiful): Spiderpool v0.8 207 / 182 s, Whereabouts v0.6 failed / 2529 s, Kube-OVN 405 / 343 s, Calico — / 322 s, Cilium — / 215 s`);
  for (const sandboxes of SANDBOXES) {
    for (const stack of STACKS) {
      console.log('');
      console.log(`${sandboxes === 'network' ? 'full CNI chain (namespace, macvlan + IPAM)' : 'IPAM plugin only (no namespace or link)'}, ${stack === 'ipv4' ? 'IPv4' : 'dual stack'}: ${PODS} pods`);
      console.log('| IPAM | Running, addresses == pods | Running, plentiful | re-created (==) | deleted, addresses free (==) | writes/pod (==) | ratio to floor (==) |');
      console.log('|---|---|---|---|---|---|---|');
      for (const ipam of IPAMS) {
        const eq = results.get(key({ sandboxes, stack, addresses: 'equal', ipam }));
        const pl = results.get(key({ sandboxes, stack, addresses: 'plentiful', ipam }));
        const floor = results.get(key({ sandboxes, stack, addresses: 'equal', ipam: 'floor' }));
        const writes = eq ? (total(eq.writes) / eq.pods).toFixed(1) : '—';
        console.log(`| ${ipam === 'floor' ? 'floor (host-local)' : ipam === 'whereabouts' ? 'Whereabouts v0.9.2' : 'Underpin'} | ${seconds(eq, 'createS')} | ${seconds(pl, 'createS')} | ${seconds(eq, 'recreateS')} | ${seconds(eq, 'freedS')} | ${writes} | ${ratio(eq, floor)} |`);
      }
      const floor = results.get(key({ sandboxes, stack, addresses: 'equal', ipam: 'floor' }));
      if (floor) console.log(`simulator per pod lifetime (floor): own ${(floor.simulator.ownMs / floor.pods).toFixed(1)} ms CPU, plugin processes ${(floor.simulator.childrenMs / floor.pods).toFixed(1)} ms CPU`);
      const ours = results.get(key({ sandboxes, stack, addresses: 'equal', ipam: 'underpin' }));
      if (ours) console.log(`Underpin per pod lifetime: webhook + reconciler ${(ours.underpinMs / ours.pods).toFixed(1)} ms CPU, plugin processes ${(ours.simulator.childrenMs / ours.pods).toFixed(1)} ms CPU`);
    }
  }
  const pass = SANDBOXES.includes('network') ? 'network' : SANDBOXES[0]!;
  const at = (ipam: Ipam) => results.get(key({ sandboxes: pass, stack: 'ipv4', addresses: 'equal', ipam }));
  const [floor, ours, peer] = [at('floor'), at('underpin'), at('whereabouts')];
  console.log('');
  console.log(`underpin/floor ${floor && ours ? (ours.createS / floor.createS).toFixed(2) : '—'} whereabouts/underpin ${ours && peer ? (peer.createS / ours.createS).toFixed(2) : '—'}`);
}

/** Writes per pod lifetime by resource and verb where Underpin and the floor differ. */
function writesTable(ours: Figures, floor: Figures): void {
  const keys = new Set([...ours.writes.keys(), ...floor.writes.keys()]);
  const rows = [...keys]
    .map((k) => ({ k, ours: (ours.writes.get(k) ?? 0) / ours.pods, floor: (floor.writes.get(k) ?? 0) / floor.pods }))
    .filter((r) => Math.abs(r.ours - r.floor) >= 0.05 || r.ours >= 0.5)
    .sort((a, b) => b.ours - a.ours);
  console.log('writes per pod lifetime, by resource and verb (Underpin | floor):');
  for (const r of rows) console.log(`  ${r.k.padEnd(40)} ${r.ours.toFixed(2).padStart(6)} | ${r.floor.toFixed(2).padStart(6)}`);
  console.log(`  ${'total'.padEnd(40)} ${(total(ours.writes) / ours.pods).toFixed(2).padStart(6)} | ${(total(floor.writes) / floor.pods).toFixed(2).padStart(6)}`);
}
