// A real Kubernetes node on this machine: kubelet and containerd (with runc) in a
// network namespace that leads nowhere and a mount namespace of their own, joined to
// the local control plane by the tunnel (tunnel.ts). Pods run as real containers
// from images imported into its containerd; `kubectl logs/exec` reach the kubelet
// through the API server's cluster egress. One real node per machine at a time:
// kubelet's sysctls are the machine's.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { KUBERNETES_SERVICE_IP } from '../control-plane/control-plane.js';
import { kubectlOrThrow } from '../control-plane/kubectl.js';
import { eventually, HANG_TIMEOUT_MS, isAlive, startProcess, stopProcess, tailOf, type ManagedProcess } from '../processes.js';
import { runCommand } from '../images/run-command.js';
import { entryPoint, repoPath } from '../repo-paths.js';
import { claimHostChanges, createCgroupRoot, createMountpoints, HostChanges, nodeInUse, readHostChanges, readSysctls, undoHostChanges, writeHostChanges } from './host-changes.js';
import { createNodeNetwork, NODE_IP } from './node-network.js';
import { writeNodeFiles } from './node-config.js';

export const REAL_NODE_NAME = 'real-node-1';
/** Short and machine-wide: Unix socket paths are limited to 107 bytes, and the host record must outlive a crashed run's work dir. */
const RUN_DIR = '/run/underpin-real-node';

export interface RealNodeSockets {
  /** The API server's cluster egress (HTTP CONNECT into the node): `--egress-selector-config-file`. */
  egress: string;
  /** The host end of node → API server. */
  api: string;
}

export function realNodeSockets(name = REAL_NODE_NAME): RealNodeSockets {
  return { egress: join(RUN_DIR, `${name}.egress.sock`), api: join(RUN_DIR, `${name}.api.sock`) };
}

function hostChangesFile(name: string): string {
  return join(RUN_DIR, `${name}.json`);
}

export interface RealNodeBinaries {
  kubelet: string;
  referencePlugins: string;
}

export interface RealNodeOptions {
  plane: LocalControlPlane;
  binaries: RealNodeBinaries;
  /** Work directory: configuration, the node's root directories, logs. Not under /run, /var or /opt. */
  dir: string;
  name?: string;
  /** Image archives (docker-archive or OCI) to import into the node's containerd before it registers. */
  images?: string[];
  /** kubelet --register-with-taints, e.g. underpin.dev/real-node=true:NoSchedule. */
  taints?: string[];
  persistent?: boolean;
  log?: (line: string) => void;
  timeoutMs?: number;
  /** How long to wait for another run's node of this name to stop (default 10 min). */
  waitForFreeMs?: number;
}

/** Long enough for a test file beside this one to finish with the node. */
const DEFAULT_WAIT_FOR_FREE_MS = 600_000;

export interface RealNodeState {
  name: string;
  dir: string;
  netns: string;
  processes: ManagedProcess[];
}

/** Why a real node cannot start here, or undefined. */
export function realNodeUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'a real node needs root (network and mount namespaces, cgroups)';
  for (const [binary, pkg] of [
    ['/usr/bin/containerd', 'containerd'],
    ['/usr/sbin/runc', 'runc'],
    ['/usr/bin/unshare', 'util-linux'],
    ['/usr/bin/nsenter', 'util-linux'],
    ['/usr/bin/ctr', 'containerd'],
  ] as const) {
    if (!existsSync(binary)) return `${binary} is missing: apt-get install ${pkg}`;
  }
  return undefined;
}

export class RealNode {
  private constructor(
    readonly state: RealNodeState,
    private readonly options: RealNodeOptions,
  ) {}

  get name(): string {
    return this.state.name;
  }

  /**
   * Remove everything the recorded node of this name left on the machine: with
   * `only`, the node of that work dir (a stop, dev:down); without, a leftover whose
   * starter is gone (a crash). False when there was nothing of the kind.
   */
  static async sweep(name = REAL_NODE_NAME, only?: { dir: string }): Promise<boolean> {
    const file = hostChangesFile(name);
    const changes = readHostChanges(file);
    if (!changes) return false;
    // A stop undoes its own node only; a start, only a leftover: another run may hold the name.
    if (only ? changes.dir !== resolve(only.dir) : nodeInUse(changes)) return false;
    await undoHostChanges(file, changes);
    for (const socket of Object.values(realNodeSockets(name))) rmSync(socket, { force: true });
    return true;
  }

  static async start(options: RealNodeOptions): Promise<RealNode> {
    const name = options.name ?? REAL_NODE_NAME;
    const log = options.log ?? (() => {});
    const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
    const unavailable = realNodeUnavailable();
    if (unavailable) throw new Error(`real node ${name}: ${unavailable}`);
    const dir = resolve(options.dir);
    if (/^\/(run|var|opt|etc)(\/|$)/.test(dir)) throw new Error(`real node ${name}: its work dir ${dir} would be hidden by the node's own /run, /var, /opt or /etc; choose another`);
    const netns = `underpin-${name}`;
    const file = hostChangesFile(name);
    const changes: HostChanges = {
      node: name,
      netns,
      cgroupRoot: `/underpin-${name}`,
      sysctls: {},
      createdDirs: [],
      dir,
      owner: { pid: process.pid, persistent: options.persistent === true },
      hostProcesses: [],
    };
    // Claimed before anything is changed, atomically (two test files may start at
    // once): a crash from here on is swept by the next start.
    const waitForFreeMs = options.waitForFreeMs ?? DEFAULT_WAIT_FOR_FREE_MS;
    for (;;) {
      await RealNode.waitUntilFree(name, waitForFreeMs, log);
      if (await RealNode.sweep(name)) log(`removed what a previous ${name} left on this machine`);
      changes.sysctls = readSysctls();
      if (claimHostChanges(file, changes)) break;
    }
    changes.createdDirs = createMountpoints();
    writeHostChanges(file, changes);
    const state: RealNodeState = { name, dir, netns, processes: [] };
    const node = new RealNode(state, options);
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, 'logs'), { recursive: true });
      await createNodeNetwork(netns, KUBERNETES_SERVICE_IP);
      createCgroupRoot(changes.cgroupRoot);
      writeNodeFiles(dir, { ca: options.plane.pki.ca, nodeName: name, taints: options.taints ?? [] }, changes.cgroupRoot);

      const sockets = realNodeSockets(name);
      const apiPort = options.plane.state.ports.apiserver;
      const start = (processName: string, commandLine: string[], env?: NodeJS.ProcessEnv) => {
        const p = startProcess({ name: processName, command: commandLine[0]!, args: commandLine.slice(1), logFile: join(dir, 'logs', `${processName}.log`), persistent: options.persistent, env });
        state.processes.push(p);
        return p;
      };
      const tunnel = entryPoint('hack', 'real-node', 'tunnel-main');
      log(`starting ${name}: tunnel, containerd, kubelet in network namespace ${netns}`);
      const relay = start('tunnel-host', [process.execPath, ...tunnel, 'host-relay', `--listen=${sockets.api}`, `--to=127.0.0.1:${apiPort}`]);
      // The one process outside the node's namespaces and cgroups: the sweep finds it by this record.
      changes.hostProcesses.push({ pid: relay.pid, commandIncludes: `--listen=${sockets.api}` });
      writeHostChanges(file, changes);
      start('tunnel-node', [
        '/usr/bin/nsenter', `--net=/run/netns/${netns}`, '--',
        process.execPath, ...tunnel, 'node-proxy', `--api-unix=${sockets.api}`,
        `--api-listen=${KUBERNETES_SERVICE_IP}:443`, '--api-listen=127.0.0.1:6443',
        `--egress-unix=${sockets.egress}`, `--allow=${NODE_IP}`,
      ]);
      const init = start(
        'node',
        ['/usr/bin/unshare', '--mount', '--propagation', 'private', '--fork', '--', '/usr/bin/nsenter', `--net=/run/netns/${netns}`, '--', '/bin/bash', repoPath('hack', 'real-node', 'node-init.sh'), dir],
        { ...process.env, KUBELET: options.binaries.kubelet, CONTAINERD: '/usr/bin/containerd', REFERENCE_PLUGINS: options.binaries.referencePlugins },
      );
      changes.supervisorPid = init.pid;
      writeHostChanges(file, changes);
      await eventually(`${name}: containerd`, async () => existsSync(join(dir, 'init.pid')) && (await node.exec(['ctr', 'version']).then(() => true, () => false)), { timeoutMs, process: init });
      for (const archive of options.images ?? []) {
        log(`importing ${archive} into ${name}'s containerd`);
        await node.exec(['ctr', '-n', 'k8s.io', 'images', 'import', '--no-unpack=false', archive]);
      }
      await node.waitReady(timeoutMs);
      log(`${name} is Ready`);
      return node;
    } catch (error) {
      const undone = await node.stop().then(
        () => undefined,
        (stopError: Error) => stopError,
      );
      if (undone) throw new AggregateError([error, undone], `${(error as Error).message}; undoing the start failed too: ${undone.message}`);
      throw error;
    }
  }

  /**
   * One real node per machine (kubelet's sysctls are the machine's): wait while
   * another run's node of this name is in use, e.g. a test file beside this one.
   */
  static async waitUntilFree(name: string, timeoutMs: number, log: (line: string) => void): Promise<void> {
    const file = hostChangesFile(name);
    const busy = () => {
      const changes = readHostChanges(file);
      return changes && nodeInUse(changes) ? changes : undefined;
    };
    // Only a finished start or stop can be judged; a record is replaced whole (rename), never seen half-written.
    const holder = busy();
    if (!holder) return;
    log(`${name} is in use (${holder.dir}, started by pid ${holder.owner.pid}); waiting for it to stop`);
    await eventually(`${name} free`, async () => !busy(), { timeoutMs, intervalMs: 1000 }).catch((error: Error) => {
      throw new Error(
        `${name} is still in use after ${timeoutMs / 1000} s (${holder.dir}): one real node per machine; stop that one first (npm run dev:down for a dev cluster)`,
        { cause: error },
      );
    });
  }

  /** Run a command in the node's namespaces (mount and network), as `docker exec kind-node` would. */
  async exec(args: string[]): Promise<string> {
    const pid = readFileSync(join(this.state.dir, 'init.pid'), 'utf8').trim();
    const { stdout } = await runCommand('/usr/bin/nsenter', [`--target=${pid}`, '--mount', '--net', '--', ...args], { doing: `${this.name}: ${args.join(' ')}` });
    return stdout;
  }

  async waitReady(timeoutMs = HANG_TIMEOUT_MS): Promise<void> {
    const { plane } = this.options;
    const kubelet = this.state.processes.find((p) => p.name === 'node');
    await eventually(
      `${this.name} Ready`,
      async () => {
        const out = await kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, ['get', 'node', this.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return out.trim() === 'True';
      },
      { timeoutMs, process: kubelet },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nlast lines of ${join(this.state.dir, 'logs', 'kubelet.log')}:\n${tailOf(join(this.state.dir, 'logs', 'kubelet.log'))}`, { cause: error });
    });
  }

  /** The running kubelet's pid (node-init.sh restarts it when it exits), or undefined while it rewrites the file. */
  kubeletPid(): number | undefined {
    const text = readFileSync(join(this.state.dir, 'kubelet.pid'), 'utf8').trim();
    const pid = Number(text);
    // Never 0 or 1: process.kill(0) would signal our own process group.
    return /^\d+$/.test(text) && pid > 1 ? pid : undefined;
  }

  /** Kill kubelet as a crash would; node-init.sh starts it again. Resolves once the new one runs. */
  async crashKubelet(): Promise<void> {
    const before = await eventually(`${this.name}: kubelet's pid`, async () => this.kubeletPid());
    process.kill(before, 'SIGKILL');
    await eventually(`${this.name}: kubelet restarted`, async () => {
      const now = this.kubeletPid();
      return now !== undefined && now !== before && isAlive(now);
    });
  }

  /** Stop every process of the node and undo every change it made to the machine. */
  async stop(): Promise<void> {
    const init = this.state.processes.find((p) => p.name === 'node');
    // node-init.sh stops kubelet and containerd; the sweep then kills shims and containers.
    if (init) await stopProcess(init.pid, 10_000);
    await Promise.all(this.state.processes.map((p) => stopProcess(p.pid, 5_000)));
    await RealNode.sweep(this.name, { dir: this.state.dir });
  }
}
