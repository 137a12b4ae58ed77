// Plays kubelet for simulated nodes, without containers or networking: pods bound
// to these nodes are reported Running and Ready (with their first bound address as
// pod IP), and pods being deleted are removed as a kubelet would once they stop (a
// pod a finalizer holds is first reported with its containers terminated, as that
// report is all that is left of it). Enough for controllers (rolling updates,
// StatefulSets) to behave as in a cluster, and cheap enough for hundreds of pods.
//
// With heartbeats, it also reports its nodes Ready every so often, so a control plane
// with a short --node-monitor-grace-period keeps them Ready; lose(node) plays a dead
// kubelet (no heartbeats, its pods left as they were) until restore(node).
//
// For pods with real network namespaces and the CNI chain, use NodeSimulator
// (hack/node-simulator/node-simulator.ts); register the nodes with registerReadyNode
// (hack/node-simulator/nodes.ts) either way.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { decodeBinding } from '../../ipam/binding.js';
import { listWatch, podSource, type InformerLog, type ListWatch } from '../../kube/list-watch.js';
import { reportReady } from './nodes.js';
import { removeStoppedPod, reportsStopped, runningStatus, stoppedStatus } from './pod-status.js';

export interface KubeletSimulatorOptions {
  /** Report every node not lost Ready this often; default: never (registerReadyNode's report stays). */
  heartbeatMs?: number;
  /** Where the list-watch's reconnect warnings and failed heartbeats go; default: nowhere, as tests with hundreds of pods want. */
  log?: InformerLog;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeletSimulator {
  private pods: ListWatch | undefined;
  private readonly core: CoreV1Api;
  private readonly log: InformerLog;
  private readonly inFlight = new Set<string>();
  /** Nodes whose kubelet plays dead. */
  private readonly lost = new Set<string>();
  private heartbeat: { timer?: NodeJS.Timeout; beating?: Promise<void>; stopped: boolean } = { stopped: false };

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly nodes: ReadonlySet<string>,
    private readonly options: KubeletSimulatorOptions = {},
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.log = options.log ?? { warn: () => {} };
  }

  async start(): Promise<void> {
    // The shared list-watch, which reconnects on its own.
    this.pods = listWatch(this.kubeConfig, podSource(this.kubeConfig), this.log);
    this.pods.onChange((event, pod) => {
      const uid = pod.metadata?.uid;
      if (event !== 'delete') void this.handle(pod as V1Pod);
      else if (uid) for (const step of ['run', 'delete']) this.inFlight.delete(`${uid}/${step}`);
    });
    await this.pods.start();
    if (this.options.heartbeatMs !== undefined) this.scheduleHeartbeat(this.options.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.heartbeat.stopped = true;
    clearTimeout(this.heartbeat.timer);
    await this.heartbeat.beating;
    await this.pods?.stop();
  }

  /**
   * The node's kubelet dies: no more heartbeats (with heartbeats on, the node
   * lifecycle controller marks the node NotReady after its grace period), and its
   * pods keep the last status it reported, deleted or not.
   */
  lose(node: string): void {
    this.requireNode(node);
    this.lost.add(node);
  }

  /** The kubelet is back: reports the node Ready, then handles its pods as it finds them (its deleted ones go). */
  async restore(node: string): Promise<void> {
    this.requireNode(node);
    this.lost.delete(node);
    await reportReady(this.kubeConfig, node);
    const pods = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
    await Promise.all(pods.items.map((pod) => this.handle(pod)));
  }

  private requireNode(node: string): void {
    if (!this.nodes.has(node)) throw new Error(`node ${node} is not one this KubeletSimulator plays (${[...this.nodes].join(', ')})`);
  }

  private scheduleHeartbeat(everyMs: number): void {
    this.heartbeat.timer = setTimeout(() => {
      this.heartbeat.beating = this.beat().finally(() => {
        if (!this.heartbeat.stopped) this.scheduleHeartbeat(everyMs);
      });
    }, everyMs);
  }

  private async beat(): Promise<void> {
    const alive = [...this.nodes].filter((node) => !this.lost.has(node));
    await Promise.all(
      alive.map((node) => reportReady(this.kubeConfig, node).catch((error: unknown) => this.log.warn({ node, err: error }, `heartbeat of node ${node} failed; trying again at the next`))),
    );
  }

  private async handle(pod: V1Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata ?? {};
    const node = pod.spec?.nodeName;
    if (!name || !namespace || !uid || !node || !this.nodes.has(node)) return;
    if (this.lost.has(node)) return; // a dead kubelet reports nothing
    const key = `${uid}/${pod.metadata?.deletionTimestamp ? 'delete' : 'run'}`;
    if (this.inFlight.has(key)) return;
    if (pod.metadata?.deletionTimestamp) {
      this.inFlight.add(key);
      try {
        // The delete below leaves a pod with finalizers in place: its status is what
        // tells that its containers are gone. Only then is it worth the write.
        if (pod.metadata.finalizers?.length && !reportsStopped(pod)) {
          await this.core.patchNamespacedPodStatus({ name, namespace, body: { status: stoppedStatus(pod) } }, mergePatch);
        }
        await removeStoppedPod(this.core, name, namespace, uid);
      } catch {
        this.inFlight.delete(key); // the next update event retries
      }
      return;
    }
    if (pod.status?.phase === 'Running') return;
    this.inFlight.add(key);
    try {
      await this.markRunning(pod, name, namespace);
    } catch {
      this.inFlight.delete(key); // a conflict or a blip: the next update event retries
    }
  }

  private async markRunning(pod: V1Pod, name: string, namespace: string): Promise<void> {
    const binding = decodeBinding(pod.metadata?.annotations?.['underpin.dev/binding'] ?? '');
    const podIP = binding?.interfaces[0]?.ipv4?.address.split('/')[0];
    await this.core.replaceNamespacedPodStatus({ name, namespace, body: { ...pod, status: runningStatus(pod, podIP ? [podIP] : []) } });
  }
}
