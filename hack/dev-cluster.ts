// The developer's local cluster: Underpin installed on a local control plane, and a
// node simulator with two nodes whose pods get real network namespaces and the real
// CNI chain; left running in the background and described by .underpin/state.json
// (npm run dev:up / dev:down, and the demo).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { LocalControlPlane, stopControlPlaneProcesses } from './control-plane.js';
import { simulationUnavailable } from './node-simulator-host.js';
import { checkoutPrefix } from './node-simulator-names.js';
import { startNodeSimulatorProcess, stopNodeSimulatorProcess } from './node-simulator-process.js';
import { isAlive } from './processes.js';
import { REPO_ROOT, repoPath } from './repo-paths.js';
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
  kubeconfig: z.string(),
  kubectl: z.string(),
  ports: z.array(z.number().int()),
  controlPlane: z.array(ProcessRecord),
  underpin: z.array(ProcessRecord),
  nodeSimulator: z.object({ process: ProcessRecord, prefix: z.string(), nodes: z.array(z.string()) }).optional(),
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
  return [...state.controlPlane, ...state.underpin, ...(state.nodeSimulator ? [state.nodeSimulator.process] : [])];
}

/** Start the local cluster unless it is already up; returns its state. */
export async function devUp(): Promise<DevState> {
  const existing = readDevState();
  if (existing && allProcesses(existing).every((p) => isAlive(p.pid))) {
    console.log(`A local cluster is already up (since ${existing.startedAt}).\n  export KUBECONFIG=${DEV_KUBECONFIG}\nStop it with: npm run dev:down`);
    return existing;
  }
  if (existing) {
    console.log('A previous local cluster is partly down; cleaning it up first.');
    await devDown();
  }
  const started = Date.now();
  const say = (line: string) => console.log(`[dev:up ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  rmSync(join(DEV_DIR, 'cluster'), { recursive: true, force: true });
  rmSync(join(DEV_DIR, 'underpin'), { recursive: true, force: true });
  rmSync(SIMULATOR_DIR, { recursive: true, force: true });
  mkdirSync(DEV_DIR, { recursive: true });
  const plane = await LocalControlPlane.start({ dir: join(DEV_DIR, 'cluster'), persistent: true, log: say });
  let installation;
  try {
    installation = await installUnderpin(plane, { dir: join(DEV_DIR, 'underpin'), persistent: true, log: say });
  } catch (error) {
    await plane.stop();
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
      await installation.stop();
      await plane.stop();
      throw error;
    }
  }
  copyFileSync(plane.kubeconfig, DEV_KUBECONFIG);
  const webhookPort = Number(new URL(installation.webhookUrl).port);
  const state: DevState = {
    startedAt: new Date().toISOString(),
    kubeconfig: DEV_KUBECONFIG,
    kubectl: plane.binaries.kubectl,
    ports: [...Object.values(plane.state.ports), webhookPort],
    controlPlane: plane.state.processes,
    underpin: installation.processes,
    ...(simulator ? { nodeSimulator: { process: simulator, prefix: SIMULATOR_PREFIX, nodes: DEV_NODES } } : {}),
  };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`
Use it:
  export KUBECONFIG=${DEV_KUBECONFIG}
  ${plane.binaries.kubectl} get spiderippools
(kubectl ${plane.binaries.kubectl} is the cluster's own version; any kubectl 1.33+ works too.)
${
    simulator
      ? `Simulated nodes ${DEV_NODES.join(', ')}: each pod gets a network namespace ${SIMULATOR_PREFIX}-<namespace>-<pod>-<uid>
  (ip netns list; ip -n <netns> addr) with the real CNI chain (macvlan on uplink0/uplink1, underpin, coordinator).`
      : `No simulated nodes (${unavailable}).`
  }
Logs: ${join(DEV_DIR, 'cluster', 'logs')}, ${join(DEV_DIR, 'underpin', 'logs')} and ${join(SIMULATOR_DIR, 'node-simulator.log')}
Stop it: npm run dev:down`);
  return state;
}

export async function devDown(): Promise<void> {
  const state = readDevState();
  if (!state) {
    console.log('No local cluster is up (no .underpin/state.json).');
    return;
  }
  // The simulator first: its CNI DELs still find the API.
  let simulatorProblem: Error | undefined;
  if (state.nodeSimulator) {
    await stopNodeSimulatorProcess(state.nodeSimulator.process, state.nodeSimulator.prefix).catch((error: Error) => (simulatorProblem = error));
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
  rmSync(SIMULATOR_DIR, { recursive: true, force: true });
  console.log('Local cluster stopped: no process, listening port or pod network namespace left.');
}
