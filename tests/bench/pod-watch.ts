// A benchmark's pods of one namespace as a watch sees them, so waiting for a count
// costs the API server no lists.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { sleep } from '../../hack/processes.js';
import { listWatch, podSource } from '../../kube/list-watch.js';

/** The scenario's pods as a watch sees them, so waiting costs the API server no lists. */
export class PodWatch {
  private readonly pods = new Map<string, V1Pod>();
  private readonly watch;

  constructor(
    kubeConfig: KubeConfig,
    namespace: string,
    private readonly expected: number,
    private readonly timeoutMs: number,
  ) {
    this.watch = listWatch(kubeConfig, podSource(kubeConfig, { fieldSelector: `metadata.namespace=${namespace}` }), { warn: () => {} });
    this.watch.onChange((event, object) => {
      const pod = object as V1Pod;
      const id = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
      if (event === 'delete') this.pods.delete(id);
      else this.pods.set(id, pod);
    });
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  count(): number {
    return this.pods.size;
  }

  running(): V1Pod[] {
    return [...this.pods.values()].filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && (p.status.podIPs?.length ?? 0) > 0);
  }

  async until(what: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${this.timeoutMs / 1000} s (${this.running().length} of ${this.expected} Running, ${this.count()} pods)`);
      await sleep(100);
    }
  }
}
