// Controller: a ReplicaSet whose pod was denied for want of an address ("<pool> has no
// free IPv4 address", copied into its ReplicaFailure condition) retries on its
// controller's backoff, which doubles up to about 16 minutes. When an address of that
// pool is released, touch the ReplicaSet so it tries again at once: after `kubectl
// delete pods` on a pool with no spare, the replacements start as the old pods go,
// not minutes later. Auto pools are AutoPoolController's (it also prompts after a
// resize); this covers every other pool.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { AUTO_POOL_LABEL } from '../ipam/auto-pool.js';
import { poolsReportedFull } from '../ipam/allocator.js';
import { listWatch, replicaSetSource } from '../kube/list-watch.js';
import { ResourceCache } from '../kube/resource-cache.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import { ReplicaSetRecord } from './resources.js';

/** Releases are gathered this long (a scale-down or a mass delete frees many at once). */
const GATHER_MS = 200;
/** At most one prompt per ReplicaSet this often. */
const PROMPT_INTERVAL_MS = 1000;
/**
 * Looks again after a prompt this many times: the retry may still be denied (a webhook
 * replica had not yet seen the release) and no later release may come to prompt again.
 */
const FOLLOW_UPS = 5;
export const ADDRESS_FREED_ANNOTATION = 'underpin.dev/address-freed-at';

/**
 * Touches a pod-creating controller (ReplicaSet, StatefulSet) so it retries at once: an
 * update of its own object is what its controller resyncs on, backoff or not.
 */
export async function promptToRetry(api: CustomObjectsApi, target: { group: string; plural: string; namespace: string; name: string }): Promise<void> {
  await api.patchNamespacedCustomObject(
    { ...target, version: 'v1', body: { metadata: { annotations: { [ADDRESS_FREED_ANNOTATION]: new Date().toISOString() } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The pools a ReplicaSet short of pods was denied addresses in, per its ReplicaFailure condition. */
export function deniedPools(set: ReplicaSetRecord): string[] {
  if ((set.status?.replicas ?? 0) >= (set.spec.replicas ?? 1)) return [];
  const failure = set.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  return failure?.message ? poolsReportedFull(failure.message) : [];
}

/** The ReplicaSets to prompt after releases in `released`: denied in one of them that has a free address now. */
export function replicaSetsToPrompt(sets: Iterable<ReplicaSetRecord>, released: ReadonlySet<string>, hasFreeAddress: (pool: string) => boolean): ReplicaSetRecord[] {
  const out: ReplicaSetRecord[] = [];
  for (const set of sets) if (deniedPools(set).some((pool) => released.has(pool) && hasFreeAddress(pool))) out.push(set);
  return out;
}

export class DeniedReplicaSetRetry {
  private readonly api: CustomObjectsApi;
  private readonly sets: ResourceCache<ReplicaSetRecord>;
  private readonly released = new Set<string>();
  private gatherTimer: NodeJS.Timeout | undefined;
  private readonly lastPrompt = new Map<string, number>();
  private readonly followUps = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly underlay: UnderlayCache,
    private readonly log: Logger,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.sets = new ResourceCache(listWatch(kubeConfig, replicaSetSource(kubeConfig), log), ReplicaSetRecord, 'ReplicaSet', log);
  }

  async start(): Promise<void> {
    this.underlay.claims.onChange((_, claim, previous) => {
      if (!claim && previous && !this.isAutoPool(previous.spec.pool)) this.gather(previous.spec.pool);
    });
    this.sets.onChange((key, current) => {
      if (!current) this.lastPrompt.delete(key);
    });
    await this.sets.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.gatherTimer);
    for (const timer of this.followUps) clearTimeout(timer);
    await this.sets.stop();
  }

  private isAutoPool(pool: string): boolean {
    return Boolean(this.underlay.poolViews().get(pool)?.labels[AUTO_POOL_LABEL.appKind]);
  }

  private gather(pool: string): void {
    this.released.add(pool);
    if (this.gatherTimer || this.stopped) return;
    this.gatherTimer = setTimeout(() => {
      this.gatherTimer = undefined;
      const released = new Set(this.released);
      this.released.clear();
      void this.promptDenied(released, FOLLOW_UPS);
    }, GATHER_MS);
  }

  private async promptDenied(released: ReadonlySet<string>, followUps: number): Promise<void> {
    if (!this.sets.hasSynced || this.stopped) return;
    const due = replicaSetsToPrompt(this.sets.values(), released, (pool) => this.underlay.hasFreeAddress(pool));
    let prompted = 0;
    for (const set of due) {
      const key = `${set.metadata.namespace}/${set.metadata.name}`;
      if (Date.now() - (this.lastPrompt.get(key) ?? 0) < PROMPT_INTERVAL_MS) continue; // the follow-up looks again
      this.lastPrompt.set(key, Date.now());
      try {
        await promptToRetry(this.api, { group: 'apps', plural: 'replicasets', namespace: set.metadata.namespace, name: set.metadata.name });
        prompted++;
        this.log.info({ replicaSet: key, pools: deniedPools(set) }, 'an address is free again: prompted the ReplicaSet to retry its denied pods');
      } catch (error) {
        this.log.warn({ replicaSet: key, err: error }, 'could not prompt the ReplicaSet; its own backoff retries');
      }
    }
    if (due.length > 0 && followUps > 0) {
      const timer = setTimeout(() => {
        this.followUps.delete(timer);
        void this.promptDenied(released, followUps - 1);
      }, PROMPT_INTERVAL_MS);
      this.followUps.add(timer);
    }
    if (prompted > 0) this.log.debug({ prompted, pools: [...released] }, 'denied ReplicaSets prompted');
  }
}
