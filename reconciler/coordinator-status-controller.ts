// Controller: keeps SpiderCoordinator `default`'s status (phase, reason, Service and
// pod CIDRs) equal to what the cluster says, through the /status subresource, only
// when it changed. Creates `default` with upstream's defaults when the cluster has
// none at leader start (upstream's Helm chart creates it; Underpin's manifests cannot,
// since the webhook that admits it is not running yet when they are applied).
//
// A SpiderCoordinator edit or a node's podCIDRs change is seen at once; the other
// sources (ServiceCIDRs, kubeadm-config, Calico, Cilium) are read again every poll.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { coordinatorStatusDiffers, coordinatorStatusFor } from '../ipam/coordinator-status.js';
import { COORDINATOR_SPEC_DEFAULTS, POD_CIDR_TYPES, SPIDER_COORDINATOR_NAME, SpiderCoordinator, type PodCIDRType } from '../ipam/spider-coordinator.js';
import { apiStatus } from '../kube/api-status.js';
import { customObjectSource, listWatch } from '../kube/list-watch.js';
import { ResourceCache } from '../kube/resource-cache.js';
import { SPIDER_COORDINATOR, apiVersionOf, customObject } from '../kube/resources.js';
import { CoordinatorSourceReader } from './coordinator-sources.js';
import type { NodeRecord } from './resources.js';
import { WorkQueue } from './work-queue.js';

export const DEFAULT_COORDINATOR_POLL_MS = 30_000;

export interface CoordinatorStatusControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** The reconciler's node cache (spec.podCIDRs). */
  nodes: ResourceCache<NodeRecord>;
  /** How often the sources without a watch are read again. */
  pollMs?: number;
  /** Create `default` when absent (default true). */
  createDefault?: boolean;
}

const KEY = SPIDER_COORDINATOR_NAME;

/** spec.podCIDRs (dual-stack), else spec.podCIDR, of one node. */
export function podCIDRsOfNode(node: NodeRecord): string[] {
  const spec = node.spec as { podCIDRs?: string[] | null; podCIDR?: string | null } | null | undefined;
  if (spec?.podCIDRs && spec.podCIDRs.length > 0) return spec.podCIDRs;
  return spec?.podCIDR ? [spec.podCIDR] : [];
}

export class CoordinatorStatusController {
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly cache: ResourceCache<SpiderCoordinator>;
  private readonly queue: WorkQueue;
  private readonly sources: CoordinatorSourceReader;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private cacheStarted = false;
  private needsDefault: boolean;

  constructor(private readonly options: CoordinatorStatusControllerOptions) {
    this.log = options.log.child({ controller: 'coordinator-status' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.needsDefault = options.createDefault ?? true;
    this.sources = new CoordinatorSourceReader(options.kubeConfig, this.log);
    this.cache = new ResourceCache(listWatch(options.kubeConfig, customObjectSource(options.kubeConfig, SPIDER_COORDINATOR), this.log), SpiderCoordinator as z.ZodType<SpiderCoordinator>, SPIDER_COORDINATOR.kind, this.log);
    this.queue = new WorkQueue(() => this.reconcile(), {
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `SpiderCoordinator ${key}: writing its status failed; retrying`),
    });
    this.cache.onChange((name) => {
      if (this.running && name === KEY) this.queue.add(KEY);
    });
    options.nodes.onChange((_, current, previous) => {
      if (!this.running) return;
      const before = previous ? podCIDRsOfNode(previous).join(',') : '';
      const after = current ? podCIDRsOfNode(current).join(',') : '';
      if (before !== after) this.queue.add(KEY);
    });
  }

  /** After the node cache is synced. */
  async start(): Promise<void> {
    this.cacheStarted = true;
    await this.cache.start();
    this.running = true;
    this.queue.add(KEY);
    this.timer = setInterval(() => this.queue.add(KEY), this.options.pollMs ?? DEFAULT_COORDINATOR_POLL_MS);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    await this.queue.stop();
    if (this.cacheStarted) await this.cache.stop();
  }

  private nodePodCIDRs(): string[] {
    const out: string[] = [];
    for (const node of this.options.nodes.values()) out.push(...podCIDRsOfNode(node));
    return out;
  }

  private async reconcile(): Promise<void> {
    let coordinator = this.cache.get(KEY);
    if (!coordinator && this.needsDefault) {
      await this.createDefault();
      return; // its arrival in the cache queues the status
    }
    this.needsDefault = false;
    if (!coordinator) return;
    const type = coordinator.spec.podCIDRType;
    const podCIDRType: PodCIDRType = typeof type === 'string' && (POD_CIDR_TYPES as readonly string[]).includes(type) ? (type as PodCIDRType) : 'auto';
    const sources = await this.sources.read(this.nodePodCIDRs());
    const wanted = coordinatorStatusFor(podCIDRType, sources);
    coordinator = this.cache.get(KEY) ?? coordinator;
    if (!coordinatorStatusDiffers(coordinator.status, wanted)) return;
    try {
      // A merge patch: `reason` is removed (null) once the phase is Synced.
      await this.api.patchClusterCustomObjectStatus(
        { ...customObject(SPIDER_COORDINATOR), name: KEY, body: { status: { reason: null, ...wanted } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (apiStatus(error) === 404) return;
      throw new Error(`writing the status of SpiderCoordinator ${KEY}: ${(error as Error).message}`, { cause: error });
    }
    this.log.info({ ...wanted }, `SpiderCoordinator ${KEY}: status written`);
  }

  private async createDefault(): Promise<void> {
    const body = {
      apiVersion: apiVersionOf(SPIDER_COORDINATOR),
      kind: SPIDER_COORDINATOR.kind,
      metadata: { name: KEY, labels: { 'app.kubernetes.io/managed-by': 'underpin' } },
      spec: { ...COORDINATOR_SPEC_DEFAULTS },
    };
    try {
      await this.api.createClusterCustomObject({ ...customObject(SPIDER_COORDINATOR), body });
      this.log.info(`SpiderCoordinator ${KEY} did not exist: created with upstream's defaults`);
    } catch (error) {
      // Someone else's (a user's apply, upstream's chart) came first: keep theirs.
      if (apiStatus(error) !== 409) throw new Error(`creating SpiderCoordinator ${KEY}: ${(error as Error).message}`, { cause: error });
    }
    this.needsDefault = false;
  }
}
