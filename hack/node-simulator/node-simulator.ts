// The node simulator: registers Nodes and, for the pods the scheduler binds to them,
// plays kubelet, container runtime and Multus with real networking. Per pod it makes
// a network namespace (the sandbox), runs the real CNI chain of each of the pod's
// networks in it (macvlan on the node's uplink, `underpin` IPAM, the coordinator —
// whatever the NetworkAttachmentDefinitions say), and reports the pod Running with
// the addresses eth0 got. When the pod is deleted it runs CNI DEL, removes the
// namespace and lets the pod go, as kubelet does once containers stopped.
//
// Failures are reported where a user looks: a FailedCreatePodSandBox Warning Event
// on the pod (kubectl describe pod) with the plugin's CNI error; the pod stays
// Pending and the sandbox is retried with backoff, as kubelet does.
//
// Everything it makes in the host carries its prefix (names.ts):
// start() first removes what an earlier run with the same prefix left, stop()
// removes all of it.
import { mkdirSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { referencePluginDir } from '../control-plane/binaries.js';
import { addNetworkList, delNetworkList, ipamOnly, resultAddresses, type CniResult, type RuntimeConf } from './cni.js';
import { UplinkFabric, addNetns, deleteNetns, removeLeftovers } from './host.js';
import { podDelegates, type Delegate, type NetworkRef } from './multus.js';
import { SimulatorNames, randomPrefix } from './names.js';
import { configurationForNode, type SimulatedNode } from './node-conf.js';
import { registerReadyNode, reportReady, type SimulatedNodeSpec } from './nodes.js';
import { PluginKubeconfig } from './plugin-kubeconfig.js';
import { NETWORK_STATUS_ANNOTATION, networkStatus } from './network-status.js';
import { removeStoppedPod, reportsRunning, runningStatus } from './pod-status.js';
import { apiStatus } from '../../kube/api-status.js';
import { listWatch, objectKey, podSource, type ListWatch } from '../../kube/list-watch.js';

const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };
const HEARTBEAT_MS = 60_000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export interface NodeSimulatorOptions {
  kubeConfig: KubeConfig;
  nodes: (string | SimulatedNodeSpec)[];
  /** Directory of Underpin's plugin executables (dist/cni/bin). */
  cniBinDir: string;
  /** Directory of the reference plugins; default: referencePluginDir(), built from Go on first use. */
  referencePluginDir?: string;
  /** Directory for the plugins' kubeconfig, token and log. */
  workDir: string;
  /** Starts every namespace and host link name; default: a random one. Reusing one cleans up after a crashed run. */
  prefix?: string;
  /** Multus's default network, for pods that name none in v1.multus-cni.io/default-network; without it they get no eth0. */
  clusterNetwork?: NetworkRef;
  /** Pod sandboxes set up or torn down at once (each runs several plugin processes). */
  concurrency?: number;
  /**
   * `network` (default): a namespace per pod and every network's whole plugin chain.
   * `ipam-only`: no namespace and no link, only each network's IPAM plugin, as its main
   * plugin would delegate: what is measured is the address management and the control
   * plane, not the kernel's namespace and macvlan work (benchmarks).
   */
  sandboxes?: 'network' | 'ipam-only';
  log?: (line: string) => void;
}

interface Attachment {
  ifname: string;
  network: string;
  list: Delegate['list'];
  /** Absent while its ADD runs or after it failed: DEL runs anyway, as Multus does. */
  result?: CniResult;
}

export interface Sandbox {
  pod: { namespace: string; name: string; uid: string };
  node: string;
  /** Network namespace name (under /run/netns); absent for hostNetwork pods. */
  netns?: string;
  containerID: string;
  attachments: Attachment[];
  podIPs: string[];
}

type PodKey = string; // the pod's UID

export class NodeSimulator {
  readonly names: SimulatorNames;
  readonly nodes: SimulatedNodeSpec[];
  private readonly log: (line: string) => void;
  private readonly fabric: UplinkFabric;
  private readonly pluginKubeconfig: PluginKubeconfig;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly sandboxes = new Map<PodKey, Sandbox>();
  /** The newest state of each of our pods, or 'deleted'. */
  private readonly latest = new Map<PodKey, V1Pod | 'deleted'>();
  /** `namespace/name` → uid of the pods on our nodes. */
  private readonly podUIDs = new Map<string, PodKey>();
  private readonly running = new Map<PodKey, Promise<void>>();
  private readonly dirty = new Set<PodKey>();
  private readonly retries = new Map<PodKey, { timer?: NodeJS.Timeout; delayMs: number; lastEvent?: string }>();
  private readonly slots: { free: number; waiting: (() => void)[] };
  private stopping = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private pods: ListWatch | undefined;

  constructor(private readonly options: NodeSimulatorOptions) {
    this.names = new SimulatorNames(options.prefix ?? randomPrefix());
    this.nodes = options.nodes.map((n) => (typeof n === 'string' ? { name: n } : n));
    this.log = options.log ?? (() => {});
    this.fabric = new UplinkFabric(this.names, this.nodes.map((n) => n.name));
    this.pluginKubeconfig = new PluginKubeconfig(options.kubeConfig, options.workDir);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.slots = { free: options.concurrency ?? 4, waiting: [] };
  }

  get prefix(): string {
    return this.names.prefix;
  }

  /** Pod sandboxes set up now, by pod UID (for tests and the demo). */
  sandbox(uid: string): Sandbox | undefined {
    return this.sandboxes.get(uid);
  }

  async start(): Promise<void> {
    const stale = await removeLeftovers(this.names);
    if (stale.netns.length + stale.links.length > 0) {
      this.log(`removed what an earlier run of prefix ${this.prefix} left: ${[...stale.netns, ...stale.links].join(', ')}`);
    }
    for (const node of this.nodes) mkdirSync(`${this.options.workDir}/nodes/${node.name}`, { recursive: true });
    await this.pluginKubeconfig.start();
    for (const node of this.nodes) await registerReadyNode(this.options.kubeConfig, node);
    this.heartbeat = setInterval(() => {
      for (const node of this.nodes) void reportReady(this.options.kubeConfig, node.name).catch((e: Error) => this.log(`heartbeat of ${node.name}: ${e.message}`));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();

    // The shared list-watch reconnects after an apiserver restart; observe() keeps
    // the newest state of each pod itself, so nothing here reads its cache.
    this.pods = listWatch(this.options.kubeConfig, podSource(this.options.kubeConfig), {
      warn: (details, message) => this.log(`${message}: ${errorMessage(details)}`),
    });
    this.pods.onChange((event, pod) => this.observe(pod as V1Pod, event === 'delete'));
    await this.pods.start();
    this.log(`nodes ${this.nodes.map((n) => n.name).join(', ')} Ready; namespaces and links named ${this.prefix}-* / ${this.prefix}n*u*`);
  }

  /** Stops watching and removes every namespace and link this simulator made (the pods stay in the API). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.heartbeat);
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    await this.pods?.stop();
    await Promise.allSettled(this.running.values());
    await Promise.allSettled([...this.sandboxes.values()].map((s) => this.withSlot(() => this.removeSandbox(s))));
    await removeLeftovers(this.names);
    this.pluginKubeconfig.stop();
  }

  private observe(pod: V1Pod, deleted: boolean): void {
    // A delete found by a relist names the pod only; a pod replaced under the same
    // name while the watch was down arrives as an update with a new uid.
    const key = objectKey(pod);
    const before = this.podUIDs.get(key);
    const uid = deleted ? before : pod.metadata?.uid;
    if (before && before !== uid) this.forget(key, before);
    if (!uid) return;
    if (deleted) return this.forget(key, uid);
    if (!this.nodes.some((n) => n.name === pod.spec?.nodeName)) return;
    this.podUIDs.set(key, uid);
    this.latest.set(uid, pod);
    this.schedule(uid);
  }

  private forget(key: string, uid: PodKey): void {
    this.podUIDs.delete(key);
    this.latest.set(uid, 'deleted');
    this.schedule(uid);
  }

  /** One sync at a time per pod; events during a sync make it run once more with the newest state. */
  private schedule(uid: PodKey): void {
    if (this.stopping) return;
    if (this.running.has(uid)) {
      this.dirty.add(uid);
      return;
    }
    const run = (async () => {
      do {
        this.dirty.delete(uid);
        await this.sync(uid).catch((error: Error) => {
          this.log(`pod ${this.describe(uid)}: ${error.message}; retrying`);
          this.retryLater(uid);
        });
      } while (this.dirty.has(uid) && !this.stopping);
    })().finally(() => this.running.delete(uid));
    this.running.set(uid, run);
  }

  private describe(uid: PodKey): string {
    const pod = this.latest.get(uid);
    return pod && pod !== 'deleted' ? `${pod.metadata?.namespace}/${pod.metadata?.name}` : uid;
  }

  private async sync(uid: PodKey): Promise<void> {
    const pod = this.latest.get(uid);
    if (pod === undefined) return;
    if (pod === 'deleted') {
      await this.tearDown(uid);
      this.latest.delete(uid);
      this.forgetRetry(uid);
      return;
    }
    const { name, namespace } = pod.metadata as { name: string; namespace: string };
    if (pod.metadata?.deletionTimestamp) {
      await this.tearDown(uid);
      // Containers stopped and sandbox gone: kubelet lets the API remove the pod.
      await removeStoppedPod(this.core, name, namespace, uid);
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    let sandbox = this.sandboxes.get(uid);
    if (!sandbox) {
      try {
        sandbox = await this.withSlot(() => this.setUp(pod));
      } catch (error) {
        await this.failed(pod, error as Error);
        return;
      }
    }
    if (!reportsRunning(pod, sandbox.podIPs)) {
      try {
        // Multus's network-status goes with the status write (pods/status), as Multus writes it.
        const annotations = sandbox.attachments.length > 0 ? { ...pod.metadata?.annotations, [NETWORK_STATUS_ANNOTATION]: networkStatus(sandbox.attachments) } : pod.metadata?.annotations;
        await this.core.replaceNamespacedPodStatus({ name, namespace, body: { ...pod, metadata: { ...pod.metadata, ...(annotations ? { annotations } : {}) }, status: runningStatus(pod, sandbox.podIPs) } });
      } catch (error) {
        // 409: the informer brings the newer pod and a sync with it; anything else: retry.
        if (!(apiStatus(error) === 409 || apiStatus(error) === 404)) this.retryLater(uid);
        return;
      }
    }
    this.forgetRetry(uid);
  }

  private async setUp(pod: V1Pod): Promise<Sandbox> {
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const node = pod.spec!.nodeName!;
    const containerID = `${this.prefix}-${uid}`;
    const sandbox: Sandbox = { pod: { namespace, name, uid }, node, containerID, attachments: [], podIPs: [] };
    if (pod.spec?.hostNetwork) {
      this.sandboxes.set(uid, sandbox);
      return sandbox; // the host's network: nothing to make (and no node address to report)
    }
    const delegates = await podDelegates(pod, (ref) => this.getNetwork(ref), this.options.clusterNetwork);
    const simulatedNode = this.simulatedNode(node);
    const ipamOnlySandbox = this.options.sandboxes === 'ipam-only';
    const lists = await Promise.all(delegates.map(async (d) => {
      const list = await configurationForNode(d.list, d.network, simulatedNode);
      return ipamOnlySandbox ? ipamOnly(list) : list;
    }));
    const netns = this.names.podNetns({ namespace, name, uid });
    if (!ipamOnlySandbox) {
      await deleteNetns(netns); // a half-made one of a failed attempt
      await addNetns(netns);
    }
    sandbox.netns = netns;
    try {
      for (const [i, delegate] of delegates.entries()) {
        const attachment: Attachment = { ifname: delegate.ifname, network: delegate.network, list: lists[i]! };
        sandbox.attachments.push(attachment);
        attachment.result = await addNetworkList(attachment.list, this.runtimeConf(sandbox, delegate.ifname));
        const master = delegate.list.plugins.find((plugin) => typeof plugin.master === 'string')?.master;
        if (typeof master === 'string' && !ipamOnlySandbox) {
          await this.fabric.addGateways(master, attachment.result.ips ?? []).catch((error: Error) => this.log(`pod ${namespace}/${name}: gateway on the fabric for ${delegate.ifname}: ${error.message}`));
        }
      }
    } catch (error) {
      await this.removeSandbox(sandbox).catch(() => {});
      throw error;
    }
    // The runtime reports the default network's addresses: the pod IPs are eth0's.
    sandbox.podIPs = resultAddresses(sandbox.attachments.find((a) => a.ifname === 'eth0')?.result);
    this.sandboxes.set(uid, sandbox);
    const nics = sandbox.attachments.map((a) => `${a.ifname} ${(a.result?.ips ?? []).map((ip) => ip.address).join(',') || '-'}`);
    this.log(`pod ${namespace}/${name} on ${node}: netns ${netns}, ${nics.join(', ')}`);
    return sandbox;
  }

  private async tearDown(uid: PodKey): Promise<void> {
    const sandbox = this.sandboxes.get(uid);
    if (!sandbox) return;
    await this.withSlot(() => this.removeSandbox(sandbox));
    this.log(`pod ${sandbox.pod.namespace}/${sandbox.pod.name}: sandbox removed`);
  }

  /** CNI DEL of each network, last first (Multus's order), then the namespace. */
  private async removeSandbox(sandbox: Sandbox): Promise<void> {
    const netns = sandbox.netns;
    if (netns) {
      for (const attachment of [...sandbox.attachments].reverse()) {
        await delNetworkList(attachment.list, this.runtimeConf(sandbox, attachment.ifname), attachment.result).catch((error: Error) => this.log(`pod ${sandbox.pod.namespace}/${sandbox.pod.name}: CNI DEL ${attachment.ifname}: ${error.message}`));
      }
      if (this.options.sandboxes !== 'ipam-only') await deleteNetns(netns);
    }
    this.sandboxes.delete(sandbox.pod.uid);
  }

  /** What the runtime passes to every plugin of the sandbox: the same on ADD and DEL. */
  private runtimeConf(sandbox: Sandbox, ifname: string): RuntimeConf {
    const { namespace, name, uid } = sandbox.pod;
    return {
      containerID: sandbox.containerID,
      netns: `/run/netns/${sandbox.netns}`,
      ifname,
      // What kubelet passes through the runtime, and Multus on to each delegate.
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAMESPACE', namespace],
        ['K8S_POD_NAME', name],
        ['K8S_POD_INFRA_CONTAINER_ID', sandbox.containerID],
        ['K8S_POD_UID', uid],
      ],
      cniPath: [this.options.cniBinDir, this.options.referencePluginDir ?? referencePluginDir()],
    };
  }

  private simulatedNode(node: string): SimulatedNode {
    return {
      name: node,
      // IPAM alone makes no interface: no uplink to make for it either.
      uplink: async (master) => (this.options.sandboxes === 'ipam-only' ? master : this.fabric.hostLink(node, master)),
      pluginKubeconfig: this.pluginKubeconfig.path,
      pluginLogFile: `${this.options.workDir}/cni.log`,
      stateDir: `${this.options.workDir}/nodes/${node}`,
    };
  }

  private async getNetwork(ref: NetworkRef): Promise<unknown> {
    try {
      return await this.custom.getNamespacedCustomObject({ ...NAD, namespace: ref.namespace, name: ref.name });
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** As kubelet: a Warning Event on the pod (once per distinct message), and another try later. */
  private async failed(pod: V1Pod, error: Error): Promise<void> {
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const message = `Failed to create pod sandbox: ${error.message}`;
    this.log(`pod ${namespace}/${name}: ${message}`);
    const retry = this.retryLater(uid);
    if (retry.lastEvent === message) return;
    retry.lastEvent = message;
    const now = new Date();
    await this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.` },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace, uid },
          reason: 'FailedCreatePodSandBox',
          message,
          type: 'Warning',
          source: { component: 'kubelet', host: pod.spec?.nodeName },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch(() => {});
  }

  private retryLater(uid: PodKey): { delayMs: number; lastEvent?: string } {
    const retry = this.retries.get(uid) ?? { delayMs: RETRY_FIRST_MS };
    this.retries.set(uid, retry);
    clearTimeout(retry.timer);
    retry.timer = setTimeout(() => this.schedule(uid), retry.delayMs);
    retry.timer.unref();
    retry.delayMs = Math.min(retry.delayMs * 2, RETRY_MAX_MS);
    return retry;
  }

  private forgetRetry(uid: PodKey): void {
    clearTimeout(this.retries.get(uid)?.timer);
    this.retries.delete(uid);
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.slots.free > 0) this.slots.free--;
    else await new Promise<void>((resolve) => this.slots.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.slots.waiting.shift();
      if (next) next();
      else this.slots.free++;
    }
  }
}

/** The reason in a list-watch warning's details ({ resource, err }). */
function errorMessage(details: object): string {
  const error = (details as { err?: unknown }).err;
  return error instanceof Error ? error.message : String(error);
}
