// Auto pools follow their application: resized to its desired size (a shrink the
// webhook could only start, because the addresses were still in use, finishes
// once the pods are gone; a change the webhook missed is caught), and deleted with
// the application when ippool-reclaim is true (the pool's finalizer then waits for
// its last pods to release their addresses).
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AUTO_POOL_LABEL } from '../ipam/auto-pool.js';
import type { PoolView } from '../ipam/pool-candidates.js';
import { Workload } from '../ipam/workload.js';
import { customObject, SPIDER_IPPOOL } from '../kube/resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import type { AutoPoolSizer } from '../ipam/auto-pool-sizer.js';
import { apiStatus } from '../kube/api-status.js';
import { promptToRetry } from './denied-replicasets.js';

const RESOURCES: Record<string, { group: string; plural: string }> = {
  Deployment: { group: 'apps', plural: 'deployments' },
  ReplicaSet: { group: 'apps', plural: 'replicasets' },
  StatefulSet: { group: 'apps', plural: 'statefulsets' },
  DaemonSet: { group: 'apps', plural: 'daemonsets' },
  Job: { group: 'batch', plural: 'jobs' },
  CronJob: { group: 'batch', plural: 'cronjobs' },
};

const PROMPT_INTERVAL_MS = 1_000;
const PASS_DEBOUNCE_MS = 100;

/** The status fields that tell whether a workload may be waiting for pods it could not create. */
const WorkloadProgress = z.looseObject({
  spec: z.looseObject({ replicas: z.number().int().nonnegative().nullish() }).nullish(),
  status: z
    .looseObject({
      replicas: z.number().int().nonnegative().nullish(),
      updatedReplicas: z.number().int().nonnegative().nullish(),
      unavailableReplicas: z.number().int().nonnegative().nullish(),
    })
    .nullish(),
});

/**
 * Could the workload be short of pods (a create denied for want of an address)? Only
 * then is it worth listing its ReplicaSets: the periodic pass must not cost a list per
 * application when everything has the pods it wants.
 */
export function mayBeShortOfPods(kind: string, object: unknown): boolean {
  const parsed = WorkloadProgress.safeParse(object);
  if (!parsed.success) return true;
  const wanted = parsed.data.spec?.replicas ?? 1;
  const status = parsed.data.status ?? {};
  switch (kind) {
    case 'Deployment':
      return (status.updatedReplicas ?? 0) < wanted || (status.unavailableReplicas ?? 0) > 0 || (status.replicas ?? 0) < wanted;
    case 'ReplicaSet':
    case 'StatefulSet':
      return (status.replicas ?? 0) < wanted;
    default:
      return false; // no controller of these kinds is prompted (see controllersShortOfPods)
  }
}

interface AppPools {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  pools: PoolView[];
}

const appKey = (app: { kind: string; namespace: string; name: string }) => `${app.kind}/${app.namespace}/${app.name}`;

/** Auto pools grouped by the application their labels name. */
export function groupByApplication(pools: Iterable<PoolView>): AppPools[] {
  const groups = new Map<string, AppPools>();
  for (const pool of pools) {
    const l = pool.labels;
    const [kind, namespace, name, uid] = [l[AUTO_POOL_LABEL.appKind], l[AUTO_POOL_LABEL.appNamespace], l[AUTO_POOL_LABEL.appName], l[AUTO_POOL_LABEL.appUID]];
    if (!kind || !namespace || !name || !uid || !RESOURCES[kind]) continue;
    const key = `${kind}/${namespace}/${name}/${uid}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { kind, namespace, name, uid, pools: [] }));
    group.pools.push(pool);
  }
  return [...groups.values()];
}

export class AutoPoolController {
  private readonly api: CustomObjectsApi;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly cache: UnderlayCache,
    private readonly sizer: AutoPoolSizer,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  start(): void {
    // An address freed in an auto pool may be what a denied ReplicaSet waits for, or
    // what a shrink waits for: pass over its application now rather than at the next tick.
    this.cache.claims.onChange((_, claim, previous) => {
      if (!claim && previous) this.scheduleApplicationPass(previous.spec.pool);
    });
    const tick = async () => {
      if (this.running) return;
      this.running = true;
      try {
        await this.reconcileOnce();
      } catch (error) {
        this.log.warn({ err: error }, 'auto pool reconcile failed; retrying');
      } finally {
        this.running = false;
      }
    };
    this.timer = setInterval(() => void tick(), this.intervalMs);
    void tick();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.passTimer);
    for (const timer of this.deferredPasses.values()) clearTimeout(timer);
    this.deferredPasses.clear();
  }

  private readonly releasedPools = new Set<string>();
  private passTimer: NodeJS.Timeout | undefined;

  /** Gather releases for a moment (a scale-down frees many at once), then pass over their applications. */
  private scheduleApplicationPass(pool: string): void {
    this.releasedPools.add(pool);
    if (this.passTimer) return;
    this.passTimer = setTimeout(() => {
      this.passTimer = undefined;
      const pools = new Set(this.releasedPools);
      this.releasedPools.clear();
      const apps = groupByApplication(this.cache.poolViews().values()).filter((app) => app.pools.some((p) => pools.has(p.name)));
      // A shrink waiting for these pods to go can finish now, and a controller denied
      // an address can be prompted: the application's whole pass, not only the prompt.
      for (const app of apps) this.passInBackground(app);
    }, PASS_DEBOUNCE_MS);
  }

  async reconcileOnce(): Promise<void> {
    if (!this.cache.hasSynced) return;
    for (const app of groupByApplication(this.cache.poolViews().values())) await this.reconcileApplication(app);
  }

  /** One application: reclaim its pools if it is gone, else size them and prompt its controllers if short. */
  private async reconcileApplication(app: AppPools): Promise<void> {
    const { group, plural } = RESOURCES[app.kind]!;
    let object: unknown;
    try {
      object = await this.api.getNamespacedCustomObject({ group, version: 'v1', namespace: app.namespace, plural, name: app.name });
    } catch (error) {
      if (!(apiStatus(error) === 404)) throw error;
    }
    const workload = Workload.safeParse(object);
    const alive = workload.success && workload.data.metadata.uid === app.uid && !workload.data.metadata.deletionTimestamp;
    if (!alive) {
      await this.reclaim(app);
      return;
    }
    const outcome = await this.sizer.size(workload.data, app.namespace);
    if (!outcome.ok) this.log.warn({ app: `${app.kind} ${app.namespace}/${app.name}`, error: outcome.error.message }, 'cannot size auto pools');
    if (mayBeShortOfPods(app.kind, object)) await this.promptRetry(app, object);
  }

  private readonly lastPrompt = new Map<string, number>();
  /** Passes due after a prompt or in place of one held back by PROMPT_INTERVAL_MS: no later release may come to trigger them. */
  private readonly deferredPasses = new Map<string, NodeJS.Timeout>();

  /**
   * A ReplicaSet whose pod creation was denied for want of an address backs off,
   * up to minutes. When its pools have a free address again, touch it so its
   * controller tries at once and a rolling update does not stall.
   */
  private async promptRetry(app: AppPools, workload: unknown): Promise<void> {
    const free = app.pools.every((p) => this.cache.hasFreeAddress(p.name));
    if (!free) return;
    const key = appKey(app);
    const sinceLast = Date.now() - (this.lastPrompt.get(key) ?? 0);
    if (sinceLast < PROMPT_INTERVAL_MS) {
      this.passLater(app, PROMPT_INTERVAL_MS - sinceLast);
      return;
    }
    const short = await this.controllersShortOfPods(app, workload);
    for (const { group, plural, name } of short) {
      this.lastPrompt.set(key, Date.now());
      await promptToRetry(this.api, { group, plural, namespace: app.namespace, name });
      this.log.info({ controller: `${plural}/${app.namespace}/${name}` }, 'an address is free again: prompted the controller to retry');
    }
    // The retry may still be denied (a webhook replica had not yet seen the release),
    // and no later release may come to prompt again: look again once the interval is over.
    if (short.length > 0) this.passLater(app, PROMPT_INTERVAL_MS);
  }

  /** One pass over the application after `ms`, unless one is already due. */
  private passLater(app: AppPools, ms: number): void {
    const key = appKey(app);
    if (this.deferredPasses.has(key)) return;
    const timer = setTimeout(() => {
      this.deferredPasses.delete(key);
      const current = groupByApplication(this.cache.poolViews().values()).find((a) => appKey(a) === key);
      if (current) this.passInBackground(current);
    }, ms);
    this.deferredPasses.set(key, timer);
  }

  private passInBackground(app: AppPools): void {
    void this.reconcileApplication(app).catch((error: unknown) => this.log.warn({ err: error, app: appKey(app) }, 'auto pool reconcile failed'));
  }

  /**
   * The pod-creating controllers of the application that have fewer pods than they
   * want. `workload` is the application as just read: a ReplicaSet or StatefulSet is
   * its own controller, a Deployment's are listed.
   */
  private async controllersShortOfPods(app: AppPools, workload: unknown): Promise<{ group: string; plural: string; name: string }[]> {
    type Counted = { metadata: { name: string; ownerReferences?: { uid: string }[] }; spec?: { replicas?: number; parallelism?: number }; status?: { replicas?: number; active?: number } };
    const list = async (group: string, plural: string) =>
      ((await this.api.listNamespacedCustomObject({ group, version: 'v1', namespace: app.namespace, plural })) as { items: Counted[] }).items;
    const short = (o: Counted) => (o.status?.replicas ?? 0) < (o.spec?.replicas ?? 1);
    switch (app.kind) {
      case 'Deployment':
        return (await list('apps', 'replicasets'))
          .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === app.uid) && short(rs))
          .map((rs) => ({ group: 'apps', plural: 'replicasets', name: rs.metadata.name }));
      case 'ReplicaSet':
      case 'StatefulSet': {
        const plural = app.kind === 'ReplicaSet' ? 'replicasets' : 'statefulsets';
        return workload && short(workload as Counted) ? [{ group: 'apps', plural, name: app.name }] : [];
      }
      default:
        return [];
    }
  }

  /** The application is gone: delete its pools unless they are kept for a same-named successor. */
  private async reclaim(app: AppPools): Promise<void> {
    for (const pool of app.pools) {
      if (pool.deleting || pool.labels[AUTO_POOL_LABEL.reclaim] === 'false') continue;
      try {
        await this.api.deleteClusterCustomObject({ ...customObject(SPIDER_IPPOOL), name: pool.name });
        this.log.info({ pool: pool.name, app: `${app.kind} ${app.namespace}/${app.name}` }, 'application gone: auto pool deleted (it waits for its addresses to be released)');
      } catch (error) {
        if (!(apiStatus(error) === 404)) throw error;
      }
    }
  }
}
