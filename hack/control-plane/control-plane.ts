// A real Kubernetes control plane on loopback: etcd, kube-apiserver (TLS, RBAC,
// service-account keys), kube-controller-manager and kube-scheduler, each in its
// own process group, with logs under the instance directory. Instances get their
// own ports and directory, so several can run side by side.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { controlPlaneBinaries, type ControlPlaneBinaries } from './binaries.js';
import { createControlPlanePki, type ControlPlanePki } from './pki.js';
import { writeKubeconfig } from './kubeconfig.js';
import { freeLoopbackPorts } from '../loopback-ports.js';
import { HANG_TIMEOUT_MS, killProcess, startProcess, stopProcess, waitUntil, type ManagedProcess, type StartOptions } from '../processes.js';

export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

export interface ControlPlaneOptions {
  /** Directory for certificates, etcd data, kubeconfigs and logs; created if absent. */
  dir: string;
  /** Keep running after this process exits (npm run dev:up). */
  persistent?: boolean;
  /** Start kube-controller-manager and kube-scheduler (default true). */
  controllers?: boolean;
  /**
   * How long a node may go without a heartbeat before the node lifecycle controller
   * marks it NotReady and taints it unreachable (default 3600: simulated nodes
   * heartbeat rarely or never). Tests of node loss shorten it and heartbeat.
   */
  nodeMonitorGracePeriodSeconds?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
  /**
   * Send the API server's "cluster" traffic (kubelets, Service webhooks, pod and
   * service proxies) as HTTP CONNECT over this Unix socket: a real node's tunnel
   * (hack/real-node/tunnel.ts). Without one it goes to a socket nobody listens on, so
   * it fails at once: the API server never dials a node's or pod's address itself
   * (simulated nodes' pods have pool addresses, which would follow the default route).
   */
  clusterEgressSocket?: string;
}

export interface ControlPlaneState {
  dir: string;
  apiserverUrl: string;
  kubeconfig: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number; controllerManager: number; scheduler: number };
  processes: ManagedProcess[];
}

interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
}

/** GET `url` and report whether it answered 200 (used for health endpoints). */
function answers200(url: string, tls?: TlsClient): Promise<boolean> {
  return new Promise((resolve) => {
    const options = { timeout: 2000, ...(tls ?? {}) };
    const req = (url.startsWith('https:') ? request : httpRequest)(url, options, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export class LocalControlPlane {
  /** How each process was started, to start it again the same way (crashAndRestart). */
  private readonly specs = new Map<string, StartOptions>();

  private constructor(
    readonly state: ControlPlaneState,
    readonly pki: ControlPlanePki,
    readonly binaries: ControlPlaneBinaries,
  ) {}

  /**
   * Kill a process of the control plane as a crash would (SIGKILL), keep it down
   * `downMs`, and start it again with the same flags and data; resolves once it
   * answers again (etcd's /health, the API server's /readyz).
   */
  async crashAndRestart(name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler', downMs = 0): Promise<void> {
    const index = this.state.processes.findIndex((p) => p.name === name);
    const spec = this.specs.get(name);
    if (index < 0 || !spec) throw new Error(`no control-plane process named ${name}`);
    await killProcess(this.state.processes[index]!.pid);
    this.state.processes.splice(index, 1);
    await new Promise((r) => setTimeout(r, downMs));
    const restarted = startProcess(spec);
    this.state.processes.push(restarted);
    const ready =
      name === 'etcd'
        ? () => answers200(`http://127.0.0.1:${this.state.ports.etcdClient}/health`)
        : name === 'kube-apiserver'
          ? () => answers200(`${this.apiserverUrl}/readyz`, this.adminTls)
          : async () => true;
    await waitUntil(name, ready, { timeoutMs: HANG_TIMEOUT_MS, process: restarted });
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  get apiserverUrl(): string {
    return this.state.apiserverUrl;
  }

  /** TLS options for talking to the apiserver as cluster admin. */
  get adminTls(): TlsClient {
    return { ca: this.pki.ca.certPem, cert: this.pki.clients.admin.certPem, key: this.pki.clients.admin.keyPem };
  }

  static async start(options: ControlPlaneOptions): Promise<LocalControlPlane> {
    const log = options.log ?? (() => {});
    const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
    const binaries = controlPlaneBinaries();
    const dir = options.dir;
    const logs = join(dir, 'logs');
    mkdirSync(logs, { recursive: true });
    const pki = createControlPlanePki(join(dir, 'pki'), KUBERNETES_SERVICE_IP);
    const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = (await freeLoopbackPorts(5)) as [number, number, number, number, number];
    const apiserverUrl = `https://127.0.0.1:${apiserver}`;
    const kubeconfigs = {
      admin: join(dir, 'admin.kubeconfig'),
      controllerManager: join(dir, 'controller-manager.kubeconfig'),
      scheduler: join(dir, 'scheduler.kubeconfig'),
    };
    writeKubeconfig(kubeconfigs.admin, apiserverUrl, pki.ca.certPem, pki.clients.admin, 'underpin-admin');
    writeKubeconfig(kubeconfigs.controllerManager, apiserverUrl, pki.ca.certPem, pki.clients.controllerManager, 'system:kube-controller-manager');
    writeKubeconfig(kubeconfigs.scheduler, apiserverUrl, pki.ca.certPem, pki.clients.scheduler, 'system:kube-scheduler');

    const state: ControlPlaneState = {
      dir,
      apiserverUrl,
      kubeconfig: kubeconfigs.admin,
      ports: { etcdClient, etcdPeer, apiserver, controllerManager, scheduler },
      processes: [],
    };
    const plane = new LocalControlPlane(state, pki, binaries);
    const start = (name: string, command: string, args: string[]) => {
      const spec: StartOptions = { name, command, args, logFile: join(logs, `${name}.log`), ...(options.persistent !== undefined ? { persistent: options.persistent } : {}) };
      plane.specs.set(name, spec);
      const p = startProcess(spec);
      state.processes.push(p);
      return p;
    };

    try {
      const etcdUrl = `http://127.0.0.1:${etcdClient}`;
      const peerUrl = `http://127.0.0.1:${etcdPeer}`;
      log(`starting etcd on ${etcdUrl}`);
      const etcd = start('etcd', binaries.etcd, [
        '--name=underpin-local',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=underpin-local=${peerUrl}`,
        // Throwaway clusters: durability is not worth an fsync per write.
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=2147483648',
        '--log-level=warn',
      ]);
      await waitUntil('etcd', () => answers200(`${etcdUrl}/health`), { timeoutMs, process: etcd });

      const egressSocket = options.clusterEgressSocket ?? join(dir, 'no-cluster-egress.sock');
      if (Buffer.byteLength(egressSocket) > 107) throw new Error(`control plane dir ${dir} is too long for a Unix socket path in it (${egressSocket}); use a shorter one`);
      const egress = [`--egress-selector-config-file=${writeEgressSelection(dir, egressSocket)}`];
      log(`starting kube-apiserver on ${apiserverUrl}`);
      const kubeApiserver = start('kube-apiserver', binaries.kubeApiserver, [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiserver}`,
        `--cert-dir=${join(dir, 'apiserver')}`,
        `--tls-cert-file=${pki.files.apiserverCert}`,
        `--tls-private-key-file=${pki.files.apiserverKey}`,
        `--client-ca-file=${pki.files.caCert}`,
        `--service-account-key-file=${pki.files.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.files.serviceAccountKey}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        // Node: kubelets of real nodes act as system:node:<name>, limited to their own node and pods.
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        // Kubelets by InternalIP only, never a hostname through the machine's resolver;
        // the API server's own client certificate, and the kubelet's serving certificate checked.
        '--kubelet-preferred-address-types=InternalIP',
        `--kubelet-client-certificate=${pki.files.kubeletClientCert}`,
        `--kubelet-client-key=${pki.files.kubeletClientKey}`,
        `--kubelet-certificate-authority=${pki.files.caCert}`,
        // Service webhooks are called at an endpoint (pod IP), not at the ClusterIP:
        // no kube-proxy runs on this machine's side.
        '--enable-aggregator-routing=true',
        ...egress,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        // The endpoint reconciler would publish 127.0.0.1, which Endpoints reject.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        '--event-ttl=1h',
        '--max-requests-inflight=800',
        '--max-mutating-requests-inflight=400',
        '--v=0',
      ]);
      await waitUntil('kube-apiserver', () => answers200(`${apiserverUrl}/readyz`, plane.adminTls), { timeoutMs, process: kubeApiserver });

      if (options.controllers !== false) {
        log('starting kube-controller-manager and kube-scheduler');
        const kcm = start('kube-controller-manager', binaries.kubeControllerManager, [
          `--kubeconfig=${kubeconfigs.controllerManager}`,
          `--authentication-kubeconfig=${kubeconfigs.controllerManager}`,
          `--authorization-kubeconfig=${kubeconfigs.controllerManager}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${controllerManager}`,
          `--cert-dir=${join(dir, 'controller-manager')}`,
          `--tls-cert-file=${pki.files.controllerManagerCert}`,
          `--tls-private-key-file=${pki.files.controllerManagerKey}`,
          '--leader-elect=false',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${pki.files.serviceAccountKey}`,
          `--root-ca-file=${pki.files.caCert}`,
          `--cluster-signing-cert-file=${pki.files.caCert}`,
          `--cluster-signing-key-file=${pki.files.caKey}`,
          `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
          // Simulated nodes heartbeat rarely (or never, in tests): by default, do not taint them unreachable.
          `--node-monitor-grace-period=${options.nodeMonitorGracePeriodSeconds ?? 3600}s`,
          '--kube-api-qps=200',
          '--kube-api-burst=400',
          '--profiling=false',
          '--v=0',
        ]);
        const sched = start('kube-scheduler', binaries.kubeScheduler, [
          `--kubeconfig=${kubeconfigs.scheduler}`,
          `--authentication-kubeconfig=${kubeconfigs.scheduler}`,
          `--authorization-kubeconfig=${kubeconfigs.scheduler}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${scheduler}`,
          `--cert-dir=${join(dir, 'scheduler')}`,
          `--tls-cert-file=${pki.files.schedulerCert}`,
          `--tls-private-key-file=${pki.files.schedulerKey}`,
          '--leader-elect=false',
          '--profiling=false',
          '--v=0',
        ]);
        const tls = { ca: pki.ca.certPem };
        await Promise.all([
          waitUntil('kube-controller-manager', () => answers200(`https://127.0.0.1:${controllerManager}/healthz`, tls), { timeoutMs, process: kcm }),
          waitUntil('kube-scheduler', () => answers200(`https://127.0.0.1:${scheduler}/healthz`, tls), { timeoutMs, process: sched }),
        ]);
      }
      log('control plane ready');
      return plane;
    } catch (error) {
      await plane.stop();
      throw error;
    }
  }

  /** Stop every process, newest first; with `removeData`, delete the instance directory. */
  async stop(options: { removeData?: boolean } = {}): Promise<void> {
    await stopControlPlaneProcesses(this.state.processes);
    if (options.removeData) rmSync(this.state.dir, { recursive: true, force: true });
  }
}

function writeEgressSelection(dir: string, socket: string): string {
  const file = join(dir, 'egress-selector.yaml');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'apiserver.k8s.io/v1beta1',
      kind: 'EgressSelectorConfiguration',
      egressSelections: [{ name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: socket } } } }],
    }),
  );
  return file;
}

export async function stopControlPlaneProcesses(processes: ManagedProcess[]): Promise<void> {
  // All at once: each takes a second or more to shut down gracefully, and the data
  // of a throwaway cluster is not worth an orderly etcd-last stop.
  await Promise.all(processes.map((p) => stopProcess(p.pid)));
}
