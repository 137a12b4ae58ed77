// The dev cluster's node simulator, run as its own long-lived process (like the
// webhook and the reconciler), so it keeps playing kubelet after dev:up returns.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { installCniExecutables } from './cni-install.js';
import { removeLeftovers } from './host.js';
import { SimulatorNames } from './names.js';
import { HANG_TIMEOUT_MS, startProcess, stopProcess, waitUntil, type ManagedProcess } from '../processes.js';
import { entryPoint } from '../repo-paths.js';

/** Written by node-simulator/main.ts once its nodes are Ready. */
export const READY_FILE = 'ready';
const STOP_GRACE_MS = 60_000;

export interface NodeSimulatorProcessOptions {
  dir: string;
  nodes: string[];
  prefix: string;
  persistent?: boolean;
  /** Benchmarks: see NodeSimulatorOptions.sandboxes and .concurrency; quiet drops the line per pod. */
  sandboxes?: 'network' | 'ipam-only';
  concurrency?: number;
  quiet?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export async function startNodeSimulatorProcess(plane: LocalControlPlane, options: NodeSimulatorProcessOptions): Promise<ManagedProcess> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dir, { recursive: true });
  rmSync(join(options.dir, READY_FILE), { force: true });
  const cniBin = await installCniExecutables(join(options.dir, 'cni-bin'), log);
  log(`starting the node simulator: nodes ${options.nodes.join(', ')}, namespaces and links named ${options.prefix}-*`);
  const simulator = startProcess({
    name: 'node-simulator',
    command: process.execPath,
    args: [
      ...entryPoint('hack', 'node-simulator', 'main'),
      `--kubeconfig=${plane.kubeconfig}`,
      `--nodes=${options.nodes.join(',')}`,
      `--cni-bin=${cniBin}`,
      `--dir=${options.dir}`,
      `--prefix=${options.prefix}`,
      ...(options.sandboxes ? [`--sandboxes=${options.sandboxes}`] : []),
      ...(options.concurrency ? [`--concurrency=${options.concurrency}`] : []),
      ...(options.quiet ? ['--quiet'] : []),
    ],
    logFile: join(options.dir, 'node-simulator.log'),
    persistent: options.persistent,
  });
  try {
    await waitUntil('node simulator', async () => existsSync(join(options.dir, READY_FILE)), { timeoutMs: options.timeoutMs ?? HANG_TIMEOUT_MS, process: simulator });
  } catch (error) {
    await stopNodeSimulatorProcess(simulator, options.prefix);
    throw error;
  }
  return simulator;
}

/**
 * SIGTERM (the simulator runs CNI DEL and removes its namespaces), then removes
 * whatever of its prefix is still there, in case it was killed.
 */
export async function stopNodeSimulatorProcess(simulator: ManagedProcess, prefix: string): Promise<void> {
  await stopProcess(simulator.pid, STOP_GRACE_MS);
  await removeLeftovers(new SimulatorNames(prefix));
}
