// Plays kubelet for simulated nodes, without containers or networking: pods bound
// to these nodes are reported Running and Ready (with their first bound address as
// pod IP), and pods being deleted are removed as a kubelet would once they stop.
// Enough for controllers (rolling updates, StatefulSets) to behave as in a cluster,
// and cheap enough for hundreds of pods. For pods with real network namespaces and
// the CNI chain, use NodeSimulator (hack/node-simulator/node-simulator.ts); register the nodes
// with registerReadyNode (hack/node-simulator/nodes.ts) either way.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { decodeBinding } from '../../ipam/binding.js';
import { listWatch, podSource, type InformerLog, type ListWatch } from '../../kube/list-watch.js';
import { removeStoppedPod, runningStatus } from './pod-status.js';

export class KubeletSimulator {
  private pods: ListWatch | undefined;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly nodes: ReadonlySet<string>,
    /** Where the list-watch's reconnect warnings go; default: nowhere, as tests with hundreds of pods want. */
    private readonly log: InformerLog = { warn: () => {} },
  ) {}

  async start(): Promise<void> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    // The shared list-watch, which reconnects on its own; a deleted pod needs nothing more.
    this.pods = listWatch(this.kubeConfig, podSource(this.kubeConfig), this.log);
    this.pods.onChange((event, pod) => {
      if (event !== 'delete') void this.handle(core, pod as V1Pod);
    });
    await this.pods.start();
  }

  async stop(): Promise<void> {
    await this.pods?.stop();
  }

  private async handle(core: CoreV1Api, pod: V1Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata ?? {};
    if (!name || !namespace || !uid || !pod.spec?.nodeName || !this.nodes.has(pod.spec.nodeName)) return;
    const key = `${uid}/${pod.metadata?.deletionTimestamp ? 'delete' : 'run'}`;
    if (this.inFlight.has(key)) return;
    if (pod.metadata?.deletionTimestamp) {
      this.inFlight.add(key);
      // On failure the next update event retries.
      await removeStoppedPod(core, name, namespace, uid).catch(() => this.inFlight.delete(key));
      return;
    }
    if (pod.status?.phase === 'Running') return;
    this.inFlight.add(key);
    try {
      await this.markRunning(core, pod, name, namespace);
    } catch {
      this.inFlight.delete(key); // a conflict or a blip: the next update event retries
    }
  }

  private async markRunning(core: CoreV1Api, pod: V1Pod, name: string, namespace: string): Promise<void> {
    const binding = decodeBinding(pod.metadata?.annotations?.['underpin.dev/binding'] ?? '');
    const podIP = binding?.interfaces[0]?.ipv4?.address.split('/')[0];
    await core.replaceNamespacedPodStatus({ name, namespace, body: { ...pod, status: runningStatus(pod, podIP ? [podIP] : []) } });
  }
}
