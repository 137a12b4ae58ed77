// Plays kubelet for simulated nodes, without containers or networking: pods bound
// to these nodes are reported Running and Ready (with their first bound address as
// pod IP), and pods being deleted are removed as a kubelet would once they stop.
// Enough for controllers (rolling updates, StatefulSets) to behave as in a cluster,
// and cheap enough for hundreds of pods. For pods with real network namespaces and
// the CNI chain, use NodeSimulator (hack/node-simulator/node-simulator.ts); register the nodes
// with registerReadyNode (hack/node-simulator/nodes.ts) either way.
import { CoreV1Api, makeInformer, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { decodeBinding } from '../../ipam/binding.js';
import { removeStoppedPod, runningStatus } from './pod-status.js';

export class KubeletSimulator {
  private stopped = false;
  private stopInformer: () => Promise<void> = async () => {};
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly nodes: ReadonlySet<string>,
  ) {}

  async start(): Promise<void> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(this.kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const handle = (pod: V1Pod) => void this.handle(core, pod);
    informer.on('add', handle);
    informer.on('update', handle);
    informer.on('error', () => {
      if (!this.stopped) setTimeout(() => void informer.start().catch(() => {}), 500);
    });
    this.stopInformer = () => informer.stop();
    await informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.stopInformer();
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
