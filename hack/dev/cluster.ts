// The developer's local cluster: Underpin installed on a local control plane (as
// processes on this machine, or with --real-node from its image on a real node), and
// a node simulator with two nodes whose pods get real network namespaces and the
// real CNI chain; left running in the background and described by
// .underpin/state.json (npm run dev:up / dev:down, and the demo).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { LocalControlPlane, stopControlPlaneProcesses } from '../control-plane/control-plane.js';
import { simulationUnavailable } from '../node-simulator/host.js';
import { checkoutPrefix } from '../node-simulator/names.js';
import { startNodeSimulatorProcess, stopNodeSimulatorProcess } from '../node-simulator/process.js';
import { isAlive, type ManagedProcess } from '../processes.js';
import { RealNode, REAL_NODE_NAME, realNodeSockets, realNodeUnavailable } from '../real-node/real-node.js';
import { startUnderpinOnRealNode } from '../real-node/underpin-on-real-node.js';
import { REPO_ROOT, repoPath } from '../repo-paths.js';
import { installUnderpin } from './underpin-install.js';

export const DEV_DIR = repoPath('.underpin');
const STATE_FILE = join(DEV_DIR, 'state.json');
export const DEV_KUBECONFIG = join(DEV_DIR, 'kubeconfig');
const SIMULATOR_DIR = join(DEV_DIR, 'node-simulator');
export const DEV_NODES = ['sim-node-1', 'sim-node-2'];
/** One per checkout: a dev:up cleans up what a crashed dev:up of this checkout left, never another's. */
const SIMULATOR_PREFIX = checkoutPrefix(REPO_ROOT);

const ProcessRecord = z.object({ name: z.string(), pid: z.number().int(), logFile: z.string() });
const DevState = z.object({
  startedAt: z.string(),
  mode: z.enum(['simulated', 'real-node']).default('simulated'),
  kubeconfig: z.string(),
  kubectl: z.string(),
  ports: z.array(z.number().int()),
  controlPlane: z.array(ProcessRecord),
  underpin: z.array(ProcessRecord),
  nodeSimulator: z.object({ process: ProcessRecord, prefix: z.string(), nodes: z.array(z.string()) }).optional(),
  realNode: z.object({ name: z.string(), processes: z.array(ProcessRecord), timings: z.record(z.string(), z.number()) }).optional(),
});
export type DevState = z.infer<typeof DevState>;

export function readDevState(): DevState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  const parsed = DevState.safeParse(JSON.parse(readFileSync(STATE_FILE, 'utf8')));
  if (!parsed.success) throw new Error(`${STATE_FILE} is not a dev:up state file; remove it and run dev:down again`);
  return parsed.data;
}

/** Does something accept connections on 127.0.0.1:`port`? */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every process dev:up started: control plane, Underpin, node simulator. */
export function allProcesses(state: DevState) {
  return [...state.controlPlane, ...state.underpin, ...(state.nodeSimulator ? [state.nodeSimulator.process] : []), ...(state.realNode?.processes ?? [])];
}

export interface DevUpOptions {
  /**
   * Run Underpin as users do: its image built from the Dockerfile, on a real node
   * (kubelet, containerd) installed with `kubectl apply -k manifests/`. The
   * simulated nodes stay, for the two-NIC pods (no Multus on the real node).
   */
  realNode?: boolean;
}

/** Pods run on the real node only when they say so: the seed's two-NIC pods need the simulated nodes' Multus. */
export const REAL_NODE_TAINT = 'underpin.dev/real-node=true:NoSchedule';
const REAL_NODE_DIR = join(DEV_DIR, 'real-node');

/** Start the local cluster unless it is already up; returns its state. */
export async function devUp(options: DevUpOptions = {}): Promise<DevState> {
  const mode = options.realNode ? 'real-node' : 'simulated';
  const existing = readDevState();
  if (existing && allProcesses(existing).every((p) => isAlive(p.pid))) {
    if (existing.mode !== mode) throw new Error(`a local cluster is already up with ${existing.mode === 'real-node' ? 'a real node' : 'simulated nodes only'}; stop it first: npm run dev:down`);
    console.log(`A local cluster is already up (since ${existing.startedAt}).\n  export KUBECONFIG=${DEV_KUBECONFIG}\nStop it with: npm run dev:down`);
    return existing;
  }
  if (existing) {
    console.log('A previous local cluster is partly down; cleaning it up first.');
    await devDown();
  }
  if (options.realNode) {
    const why = realNodeUnavailable();
    if (why) throw new Error(`--real-node: ${why}`);
  }
  const started = Date.now();
  const say = (line: string) => console.log(`[dev:up ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  for (const dir of ['cluster', 'underpin', 'real-node']) rmSync(join(DEV_DIR, dir), { recursive: true, force: true });
  rmSync(SIMULATOR_DIR, { recursive: true, force: true });
  mkdirSync(DEV_DIR, { recursive: true });
  const plane = await LocalControlPlane.start({
    dir: join(DEV_DIR, 'cluster'),
    persistent: true,
    log: say,
    ...(options.realNode ? { clusterEgressSocket: realNodeSockets().egress } : {}),
  });
  const stops: (() => Promise<unknown>)[] = [() => plane.stop()];
  const cleanUp = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  let underpin: ManagedProcess[] = [];
  let webhookPort: number[] = [];
  let realNode: DevState['realNode'];
  try {
    if (options.realNode) {
      const onNode = await startUnderpinOnRealNode(plane, { dir: REAL_NODE_DIR, persistent: true, taint: REAL_NODE_TAINT, log: say });
      stops.push(() => onNode.node.stop());
      realNode = { name: onNode.node.name, processes: onNode.node.state.processes, timings: { ...onNode.timings } };
    } else {
      const installation = await installUnderpin(plane, { dir: join(DEV_DIR, 'underpin'), persistent: true, log: say });
      stops.push(() => installation.stop());
      underpin = installation.processes;
      webhookPort = [Number(new URL(installation.webhookUrl).port)];
    }
  } catch (error) {
    await cleanUp();
    throw error;
  }
  let simulator;
  const unavailable = await simulationUnavailable();
  if (unavailable) {
    say(`no node simulator: ${unavailable}. Pods will be admitted and bound, but stay Pending (no node).`);
  } else {
    try {
      simulator = await startNodeSimulatorProcess(plane, { dir: SIMULATOR_DIR, nodes: DEV_NODES, prefix: SIMULATOR_PREFIX, persistent: true, log: say });
    } catch (error) {
      await cleanUp();
      throw error;
    }
  }
  copyFileSync(plane.kubeconfig, DEV_KUBECONFIG);
  const state: DevState = {
    startedAt: new Date().toISOString(),
    mode,
    kubeconfig: DEV_KUBECONFIG,
    kubectl: plane.binaries.kubectl,
    ports: [...Object.values(plane.state.ports), ...webhookPort],
    controlPlane: plane.state.processes,
    underpin,
    ...(simulator ? { nodeSimulator: { process: simulator, prefix: SIMULATOR_PREFIX, nodes: DEV_NODES } } : {}),
    ...(realNode ? { realNode } : {}),
  };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const logs = realNode
    ? `${join(DEV_DIR, 'cluster', 'logs')}, ${join(REAL_NODE_DIR, 'node', 'logs')} (kubelet, containerd), kubectl -n underpin-system logs deploy/underpin-controller`
    : `${join(DEV_DIR, 'cluster', 'logs')}, ${join(DEV_DIR, 'underpin', 'logs')}`;
  console.log(`
Use it:
  export KUBECONFIG=${DEV_KUBECONFIG}
  ${plane.binaries.kubectl} get spiderippools
(kubectl ${plane.binaries.kubectl} is the cluster's own version; any kubectl 1.33+ works too.)
${
    realNode
      ? `Real node ${realNode.name}: kubelet and containerd in network namespace underpin-${realNode.name}, running Underpin's image
  (kubectl -n underpin-system get pods -o wide). Its pods are real containers: kubectl exec POD -- ip addr.
  It is tainted ${REAL_NODE_TAINT}: pods that should run there tolerate it.
`
      : ''
  }${
    simulator
      ? `Simulated nodes ${DEV_NODES.join(', ')}: each pod gets a network namespace ${SIMULATOR_PREFIX}-<namespace>-<pod>-<uid>
  (ip netns list; ip -n <netns> addr) with the real CNI chain (macvlan on uplink0/uplink1, underpin, coordinator).`
      : `No simulated nodes (${unavailable}).`
  }
Logs: ${logs} and ${join(SIMULATOR_DIR, 'node-simulator.log')}
Stop it: npm run dev:down`);
  return state;
}

export async function devDown(): Promise<void> {
  const state = readDevState();
  if (!state) {
    // dev:up may have been interrupted before it wrote its state: its real node is recorded on its own.
    if (await RealNode.sweep(REAL_NODE_NAME, { dir: join(REAL_NODE_DIR, 'node') })) console.log('Removed the real node an interrupted dev:up left.');
    console.log('No local cluster is up (no .underpin/state.json).');
    return;
  }
  // The simulator first: its CNI DELs still find the API.
  let simulatorProblem: Error | undefined;
  if (state.nodeSimulator) {
    await stopNodeSimulatorProcess(state.nodeSimulator.process, state.nodeSimulator.prefix).catch((error: Error) => (simulatorProblem = error));
  }
  if (state.realNode) {
    await stopControlPlaneProcesses(state.realNode.processes);
    await RealNode.sweep(state.realNode.name, { dir: join(REAL_NODE_DIR, 'node') });
  }
  await stopControlPlaneProcesses([...state.underpin, ...state.controlPlane]);
  if (simulatorProblem) throw new Error(`removing the node simulator's namespaces and links: ${simulatorProblem.message}; remove them with ip netns del / ip link del (names start with ${state.nodeSimulator!.prefix})`);
  const stillListening = [];
  for (const port of state.ports) if (await portAnswers(port)) stillListening.push(port);
  if (stillListening.length > 0) throw new Error(`ports still answering after stop: ${stillListening.join(', ')}`);
  rmSync(STATE_FILE, { force: true });
  rmSync(DEV_KUBECONFIG, { force: true });
  rmSync(join(DEV_DIR, 'cluster'), { recursive: true, force: true });
  rmSync(join(DEV_DIR, 'underpin'), { recursive: true, force: true });
  rmSync(REAL_NODE_DIR, { recursive: true, force: true });
  rmSync(SIMULATOR_DIR, { recursive: true, force: true });
  console.log('Local cluster stopped: no process, listening port or pod network namespace left.');
}
