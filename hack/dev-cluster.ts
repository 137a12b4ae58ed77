// The developer's local cluster: Underpin installed on a local control plane, left
// running in the background and described by .underpin/state.json (npm run
// dev:up / dev:down, and the demo).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { LocalControlPlane, stopControlPlaneProcesses } from './control-plane.js';
import { isAlive } from './processes.js';
import { repoPath } from './repo-paths.js';
import { installUnderpin } from './underpin-install.js';

export const DEV_DIR = repoPath('.underpin');
const STATE_FILE = join(DEV_DIR, 'state.json');
export const DEV_KUBECONFIG = join(DEV_DIR, 'kubeconfig');

const ProcessRecord = z.object({ name: z.string(), pid: z.number().int(), logFile: z.string() });
const DevState = z.object({
  startedAt: z.string(),
  kubeconfig: z.string(),
  kubectl: z.string(),
  ports: z.array(z.number().int()),
  controlPlane: z.array(ProcessRecord),
  underpin: z.array(ProcessRecord),
});
export type DevState = z.infer<typeof DevState>;

export function readDevState(): DevState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  const parsed = DevState.safeParse(JSON.parse(readFileSync(STATE_FILE, 'utf8')));
  if (!parsed.success) throw new Error(`${STATE_FILE} is not a dev:up state file; remove it and run dev:down again`);
  return parsed.data;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Start the local cluster unless it is already up; returns its state. */
export async function devUp(): Promise<DevState> {
  const existing = readDevState();
  if (existing && [...existing.controlPlane, ...existing.underpin].every((p) => isAlive(p.pid))) {
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
  mkdirSync(DEV_DIR, { recursive: true });
  const plane = await LocalControlPlane.start({ dir: join(DEV_DIR, 'cluster'), persistent: true, log: say });
  let installation;
  try {
    installation = await installUnderpin(plane, { dir: join(DEV_DIR, 'underpin'), persistent: true, log: say });
  } catch (error) {
    await plane.stop();
    throw error;
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
  };
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`
Use it:
  export KUBECONFIG=${DEV_KUBECONFIG}
  ${plane.binaries.kubectl} get spiderippools
(kubectl ${plane.binaries.kubectl} is the cluster's own version; any kubectl 1.33+ works too.)
Logs: ${join(DEV_DIR, 'cluster', 'logs')} and ${join(DEV_DIR, 'underpin', 'logs')}
Stop it: npm run dev:down`);
  return state;
}

export async function devDown(): Promise<void> {
  const state = readDevState();
  if (!state) {
    console.log('No local cluster is up (no .underpin/state.json).');
    return;
  }
  await stopControlPlaneProcesses([...state.underpin, ...state.controlPlane]);
  const stillListening = [];
  for (const port of state.ports) if (await portAnswers(port)) stillListening.push(port);
  if (stillListening.length > 0) throw new Error(`ports still answering after stop: ${stillListening.join(', ')}`);
  rmSync(STATE_FILE, { force: true });
  rmSync(DEV_KUBECONFIG, { force: true });
  rmSync(join(DEV_DIR, 'cluster'), { recursive: true, force: true });
  rmSync(join(DEV_DIR, 'underpin'), { recursive: true, force: true });
  console.log('Local cluster stopped: no process and no listening port left.');
}
