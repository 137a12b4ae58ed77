// Installs Underpin on a local control plane the way the manifests do on a real
// cluster: CRDs, the webhook process (which makes its own certificates and
// registers its caBundle), and the webhook configurations, URL-based on loopback.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { webhookConfigurations } from '../../webhook/configurations.js';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { kubectlOrThrow, runKubectl } from '../control-plane/kubectl.js';
import { freeLoopbackPorts } from '../loopback-ports.js';
import { HANG_TIMEOUT_MS, isAlive, killProcess, startProcess, stopProcess, waitUntil, type ManagedProcess, type StartOptions } from '../processes.js';
import { entryPoint, repoPath } from '../repo-paths.js';

/** Node's flags for the webhook and the reconciler, as manifests/controller/deployment.yaml runs them (tests/install checks they agree). */
export const CONTROLLER_NODE_FLAGS = ['--optimize-for-size'];

export interface UnderpinInstallOptions {
  /** Directory for the webhook's certificates and logs. */
  dir: string;
  persistent?: boolean;
  log?: (line: string) => void;
  timeoutMs?: number;
  /** Extra arguments for the webhook process. */
  webhookArgs?: string[];
  /**
   * The webhook's --cluster-network-ipam, and the pod webhook registered to match
   * (with `other` the replicas would narrow it themselves at their next check).
   */
  clusterNetworkIPAM?: 'underpin' | 'other';
  /** Webhook replicas behind a loopback balancer, as behind a Service (default 2). */
  webhookReplicas?: number;
  /** Reconciler replicas (default 1; 0 for tests that run their own). */
  reconcilerReplicas?: number;
  reconcilerArgs?: string[];
  /**
   * Start a process again when it exits, as the kubelet does a pod's container
   * (restartPolicy: Always): a reconciler that lost its Lease exits and comes back.
   * Off by default: some tests kill a process and need it to stay down.
   */
  restartOnExit?: boolean;
}

export interface UnderpinInstallation {
  webhookUrl: string;
  webhookCaPem: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
  /** Kill a process (SIGKILL, as a crash would) and start it again with the same arguments; for chaos tests. */
  crashAndRestart(name: string, downMs?: number): Promise<void>;
}

function readyz(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function applyCRDs(plane: LocalControlPlane): Promise<void> {
  const { kubectl } = plane.binaries;
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['apply', '--server-side', '-k', repoPath('manifests', 'crds')]);
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['apply', '--server-side', '-f', repoPath('manifests', 'namespace.yaml')]);
}

export async function installUnderpin(plane: LocalControlPlane, options: UnderpinInstallOptions): Promise<UnderpinInstallation> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
  mkdirSync(join(options.dir, 'logs'), { recursive: true });
  const certDir = join(options.dir, 'webhook-certs');

  log('applying CRDs and the underpin-system namespace');
  await applyCRDs(plane);

  const replicas = options.webhookReplicas ?? 2;
  const [balancerPort, ...replicaPorts] = await freeLoopbackPorts(replicas + 1);
  const webhookUrl = `https://127.0.0.1:${balancerPort}`;
  const processes: ManagedProcess[] = [];
  const specs = new Map<string, StartOptions>();
  const launch = (spec: StartOptions): ManagedProcess => {
    specs.set(spec.name, spec);
    const started = startProcess(spec);
    processes.push(started);
    return started;
  };
  /** Processes a caller keeps down on purpose (crashAndRestart): not restarted meanwhile. */
  const heldDown = new Set<string>();
  const supervisor = options.restartOnExit
    ? setInterval(() => {
        for (const p of [...processes]) {
          if (heldDown.has(p.name) || isAlive(p.pid)) continue;
          processes.splice(processes.indexOf(p), 1);
          log(`${p.name} exited; starting it again, as the kubelet would`);
          launch(specs.get(p.name)!);
        }
      }, 1000).unref()
    : undefined;
  const stop = async () => {
    clearInterval(supervisor);
    await Promise.all(processes.map((p) => stopProcess(p.pid)));
  };
  const crashAndRestart = async (name: string, downMs = 0) => {
    const index = processes.findIndex((p) => p.name === name);
    const spec = specs.get(name);
    if (index < 0 || !spec) throw new Error(`no Underpin process named ${name}`);
    heldDown.add(name);
    try {
      await killProcess(processes[index]!.pid);
      processes.splice(index, 1);
      await new Promise((r) => setTimeout(r, downMs));
      launch(spec);
    } finally {
      heldDown.delete(name);
    }
  };
  const startReplica = (index: number, port: number) => {
    return launch({
      name: `underpin-webhook-${index}`,
      command: process.execPath,
      args: [
        // For profiling: e.g. UNDERPIN_WEBHOOK_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
        ...(process.env.UNDERPIN_WEBHOOK_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        ...CONTROLLER_NODE_FLAGS,
        ...entryPoint('webhook', 'main'),
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        `--cert-dir=${certDir}`,
        '--dns-names=localhost',
        '--ip-addresses=127.0.0.1',
        `--kubeconfig=${plane.kubeconfig}`,
        ...(options.clusterNetworkIPAM ? [`--cluster-network-ipam=${options.clusterNetworkIPAM}`] : []),
        ...(options.webhookArgs ?? []),
      ],
      logFile: join(options.dir, 'logs', `underpin-webhook-${index}.log`),
      persistent: options.persistent,
    });
  };

  try {
    // The first replica creates the certificates; the others start once they exist and share them.
    log(`starting ${replicas} webhook replica(s) behind ${webhookUrl}`);
    const first = startReplica(0, replicaPorts[0]!);
    const caFile = join(certDir, 'ca.crt');
    await waitUntil('underpin webhook certificates', async () => existsSync(caFile) && existsSync(join(certDir, 'tls.crt')), {
      timeoutMs,
      process: first,
    });
    const others = replicaPorts.slice(1).map((port, i) => startReplica(i + 1, port));
    launch({
        name: 'webhook-balancer',
        command: process.execPath,
        args: [...entryPoint('hack', 'dev', 'loopback-balancer'), `--port=${balancerPort}`, ...replicaPorts.map((p) => `--backend=127.0.0.1:${p}`)],
        logFile: join(options.dir, 'logs', 'webhook-balancer.log'),
        persistent: options.persistent,
      });
    const webhookCaPem = readFileSync(caFile, 'utf8');
    await Promise.all(
      [first, ...others].map((replica, i) => waitUntil(`underpin webhook replica ${i}`, () => readyz(`https://127.0.0.1:${replicaPorts[i]}`, webhookCaPem), { timeoutMs, process: replica })),
    );

    const reconcilers = options.reconcilerReplicas ?? 1;
    const metricsPorts = await freeLoopbackPorts(reconcilers);
    for (let i = 0; i < reconcilers; i++) {
      launch({
          name: `underpin-reconciler-${i}`,
          command: process.execPath,
          args: [...CONTROLLER_NODE_FLAGS, ...entryPoint('reconciler', 'main'), `--kubeconfig=${plane.kubeconfig}`, `--identity=underpin-reconciler-${i}`, `--metrics-bind-address=127.0.0.1:${metricsPorts[i]}`, ...(options.reconcilerArgs ?? [])],
          logFile: join(options.dir, 'logs', `underpin-reconciler-${i}.log`),
          persistent: options.persistent,
        });
    }

    log('registering the webhook configurations');
    const { mutating, validating } = webhookConfigurations({ url: webhookUrl }, webhookCaPem, { clusterNetworkIsUnderpin: options.clusterNetworkIPAM !== 'other' });
    await kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, ['apply', '-f', '-'], `${stringify(mutating)}---\n${stringify(validating)}`);
    await waitUntil('webhook registration', () => apiserverCallsWebhook(plane), { timeoutMs, process: first, intervalMs: 200 });
    log('Underpin installed');
    return { webhookUrl, webhookCaPem, processes, stop, crashAndRestart };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The API server picks up webhook configurations asynchronously; a server-side
 * dry run of a pool with a bad subnet tells when admission really reaches us.
 */
async function apiserverCallsWebhook(plane: LocalControlPlane): Promise<boolean> {
  const probe = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'underpin-registration-probe' },
    spec: { subnet: 'not-a-cidr' },
  };
  const result = await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(probe));
  return result.code !== 0 && result.stderr.includes('admission webhook "spider-resources.validate.underpin.dev" denied');
}
