// The controllers the leader runs, over one set of shared caches: claim binding and
// garbage collection, pool and subnet status, SpiderEndpoints, SpiderCoordinator's status. (The pool-finalizer
// and auto-pool controllers run beside them over the same underlay cache.)
import type { NodeLossPolicy } from './node-loss.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import { ClaimController } from './claim-controller.js';
import { ClusterCaches } from './cluster-caches.js';
import { CoordinatorStatusController } from './coordinator-status-controller.js';
import { EndpointController } from './endpoint-controller.js';
import type { EventToRecord } from './events.js';
import type { ReconcilerMetrics } from './metrics.js';
import { StatusController } from './status-controller.js';

export interface ClaimControllersOptions {
  kubeConfig: KubeConfig;
  /** The process's one view of pools, subnets, reserved IPs and claims. */
  underlay: UnderlayCache;
  log: Logger;
  metrics: ReconcilerMetrics;
  recordEvent: (event: EventToRecord) => Promise<void>;
  resyncMs: number;
  orphanTtlMs: number;
  nodeLoss?: NodeLossPolicy;
  /** How often SpiderCoordinator's unwatched sources are read again (default 30 s). */
  coordinatorPollMs?: number;
}

export class ClaimControllers {
  readonly caches: ClusterCaches;
  private readonly claims: ClaimController;
  private readonly status: StatusController;
  private readonly endpoints: EndpointController;
  private readonly coordinator: CoordinatorStatusController;
  private stopped = false;
  private running = false;

  constructor(private readonly options: ClaimControllersOptions) {
    const { kubeConfig, log, metrics, resyncMs } = options;
    this.caches = new ClusterCaches(kubeConfig, options.underlay, log.child({ component: 'caches' }));
    this.claims = new ClaimController({ kubeConfig, log, caches: this.caches, metrics, recordEvent: options.recordEvent, resyncMs, orphanTtlMs: options.orphanTtlMs, ...(options.nodeLoss ? { nodeLoss: options.nodeLoss } : {}) });
    this.status = new StatusController({ kubeConfig, log, caches: this.caches, metrics, resyncMs, recordEvent: options.recordEvent });
    this.endpoints = new EndpointController({ kubeConfig, log, caches: this.caches, metrics, resyncMs });
    this.coordinator = new CoordinatorStatusController({ kubeConfig, log, nodes: this.caches.nodes, ...(options.coordinatorPollMs ? { pollMs: options.coordinatorPollMs } : {}) });
  }

  /** True once the caches are synced and the controllers run. */
  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    const started = Date.now();
    await this.caches.start();
    if (this.stopped) return;
    this.options.log.info(
      { claims: this.caches.claims.size, pods: this.caches.pods.size, pools: this.caches.pools.size, ms: Date.now() - started },
      'claim, status and endpoint caches synced; checking every claim',
    );
    // Events before this point described the initial lists; a full pass covers them,
    // including claims whose pod was deleted while no reconciler ran.
    this.claims.run();
    this.status.run();
    this.endpoints.run();
    // SpiderCoordinator's status is nobody's prerequisite: it starts beside the others.
    this.coordinator.start().catch((error: unknown) => this.options.log.error({ err: error }, 'the SpiderCoordinator status controller did not start'));
    this.running = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    await Promise.all([this.claims.stop(), this.status.stop(), this.endpoints.stop(), this.coordinator.stop()]);
    await this.caches.stop();
  }
}
