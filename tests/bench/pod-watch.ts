// A benchmark's pods of one namespace as a watch sees them, so waiting for a count
// costs the API server no lists.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { sleep } from '../../hack/processes.js';
import { listWatch, podSource } from '../../kube/list-watch.js';

/** When the watch first saw each pod created, scheduled and Running (ms, this clock). */
interface Milestones {
  created: number;
  scheduled?: number;
  running?: number;
}

export interface Stages {
  /** Seconds from `since` until the last of the pods was created, scheduled, Running. */
  created: number;
  scheduled: number;
  running: number;
}

/** The scenario's pods as a watch sees them, so waiting costs the API server no lists. */
export class PodWatch {
  private readonly pods = new Map<string, V1Pod>();
  private readonly milestones = new Map<string, Milestones>();
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
      const uid = pod.metadata?.uid;
      if (event === 'delete' || !uid) return;
      const now = Date.now();
      const seen = this.milestones.get(uid) ?? { created: now };
      if (pod.spec?.nodeName) seen.scheduled ??= now;
      if (pod.status?.phase === 'Running') seen.running ??= now;
      this.milestones.set(uid, seen);
    });
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  /** Where the time went for the pods first seen after `since`: the last creation, scheduling and start. */
  stages(since: number): Stages {
    const last = { created: since, scheduled: since, running: since };
    for (const m of this.milestones.values()) {
      if (m.created < since) continue;
      last.created = Math.max(last.created, m.created);
      last.scheduled = Math.max(last.scheduled, m.scheduled ?? 0);
      last.running = Math.max(last.running, m.running ?? 0);
    }
    const s = (ms: number) => (ms - since) / 1000;
    return { created: s(last.created), scheduled: s(last.scheduled), running: s(last.running) };
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
