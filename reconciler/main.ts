// underpin-reconciler: runs Underpin's controllers in the one replica that holds the
// leader-election Lease. Standbys wait; a leader that loses the Lease exits non-zero
// (Kubernetes restarts it as a standby); SIGTERM stops the controllers and releases
// the Lease so a standby takes over at its next poll. Every replica serves /metrics,
// /healthz and /readyz on --metrics-bind-address.
import type { KubeConfig } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { ClaimControllers } from './controllers.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader-election.js';
import { ApiLeaseStore } from './lease-store.js';
import { ReconcilerMetrics, replicaReadiness, serveMetrics, type HealthServer } from './metrics.js';
import { parseReconcilerOptions, type ReconcilerOptions } from './options.js';
import { optionsOrExit } from '../kube/process-options.js';
import { PoolFinalizerController } from './pool-finalizer.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { UnderlayCache } from '../kube/underlay-cache.js';
import { clusterAutoPoolState } from '../kube/auto-pool-state.js';
import { AutoPoolSizer } from '../ipam/auto-pool-sizer.js';
import { AutoPoolController } from './auto-pools.js';
import { DeniedReplicaSetRetry } from './denied-replicasets.js';
import { MultusConfigController } from './multus-config-controller.js';
import { SpiderpoolAdoptionController } from './spiderpool-adoption.js';

const SHUTDOWN_GRACE_MS = 10_000;

function run(options: ReconcilerOptions, kubeConfig: KubeConfig, configFile: string | undefined): void {
  const log: Logger = pino({ level: options.logLevel, base: { component: 'reconciler', identity: options.identity } });
  const controllers: Array<{ start(): Promise<void>; stop(): Promise<void> }> = [];
  const metrics = new ReconcilerMetrics();
  let claimControllers: ClaimControllers | undefined;
  let healthServer: HealthServer | undefined;

  const elector = new LeaderElector({
    store: new ApiLeaseStore(kubeConfig, options.namespace, options.leaseName),
    identity: options.identity,
    timing: {
      leaseDurationMs: options.leaseDurationSeconds * 1000,
      renewDeadlineMs: options.renewDeadlineSeconds * 1000,
      retryPeriodMs: options.retryPeriodSeconds * 1000,
    },
    log,
    onStartedLeading: () => {
      metrics.leader.set(1);
      const events = new EventRecorder(kubeConfig, options.identity);
      const recordEvent = (event: Parameters<EventRecorder['record']>[0]) => events.record(event);
      const resyncMs = options.resyncSeconds * 1000;
      // One cache per resource: the claim controllers, the pool finalizer and auto-pool
      // sizing all read this process's one view of the underlay.
      const underlay = new UnderlayCache(kubeConfig, log.child({ component: 'caches' }));
      const nodeLoss = { mode: options.nodeLossRelease, delayMs: options.nodeLossReleaseDelaySeconds * 1000 };
      claimControllers = new ClaimControllers({ kubeConfig, underlay, log, metrics, recordEvent, resyncMs, orphanTtlMs: options.orphanClaimTtlSeconds * 1000, nodeLoss });
      const finalizer = new PoolFinalizerController({ kubeConfig, log, recordEvent, resyncMs, underlay });
      const sizer = new AutoPoolSizer(clusterAutoPoolState(underlay, kubeConfig), { defaultExtraAddresses: options.defaultExtraAddresses });
      const autoPools = new AutoPoolController(kubeConfig, underlay, sizer, log, options.autoPoolIntervalSeconds * 1000);
      const multusConfigs = new MultusConfigController({ kubeConfig, log, metrics, recordEvent, resyncMs });
      const adoption = new SpiderpoolAdoptionController({ kubeConfig, log, underlay, recordEvent });
      const deniedReplicaSets = new DeniedReplicaSetRetry(kubeConfig, underlay, log.child({ controller: 'denied-replicasets' }));
      controllers.push(finalizer, claimControllers, multusConfigs, adoption, {
        start: async () => {
          await underlay.start();
          autoPools.start();
          await deniedReplicaSets.start();
        },
        stop: async () => {
          autoPools.stop();
          await deniedReplicaSets.stop();
          await underlay.stop();
        },
      });
      for (const controller of controllers) {
        controller.start().catch((error: unknown) => {
          log.fatal({ err: error }, 'controller failed to start');
          process.exit(1);
        });
      }
    },
    onStoppedLeading: (reason) => {
      // Exit at once, before another replica's first write: no controller may act on
      // a lease it no longer holds. Kubernetes restarts us as a standby.
      log.fatal({ reason }, 'leadership lost; exiting');
      process.exit(1);
    },
  });
  log.info(
    { lease: `${options.namespace}/${options.leaseName}`, configFile, defaultExtraAddresses: options.defaultExtraAddresses, resyncSeconds: options.resyncSeconds, orphanClaimTtlSeconds: options.orphanClaimTtlSeconds },
    'starting; waiting to become leader',
  );
  elector.start();

  const bind = options.metricsBindAddress;
  if (bind !== 'disabled') {
    const readiness = () =>
      replicaReadiness({ observedLease: elector.hasObservedLease, leading: elector.isLeader, controllersRunning: claimControllers?.isRunning ?? false });
    serveMetrics(bind.host, bind.port, metrics, readiness).then(
      (server) => {
        healthServer = server;
        log.info({ address: server.address }, 'serving /metrics, /healthz and /readyz');
      },
      // Metrics are for people; the controllers keep running without them.
      (error: unknown) => log.error({ err: error, address: `${bind.host}:${bind.port}` }, 'cannot serve /metrics, /healthz and /readyz; continuing without them (set --metrics-bind-address to a free address, or 0)'),
    );
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting without releasing the lease`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // Controllers first: nothing may write after the lease is released.
    await Promise.all(controllers.map((controller) => controller.stop()));
    await elector.stop();
    await healthServer?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

const parsed = optionsOrExit('underpin-reconciler', parseReconcilerOptions(process.argv.slice(2)));
let kubeConfig: KubeConfig;
try {
  kubeConfig = loadKubeConfig(parsed.options.kubeconfig);
} catch (error) {
  const source = parsed.options.kubeconfig ? `--kubeconfig ${parsed.options.kubeconfig}` : 'the in-cluster or $KUBECONFIG credentials';
  console.error(`underpin-reconciler: cannot load ${source}: ${(error as Error).message}; pass --kubeconfig FILE with a readable kubeconfig`);
  process.exit(2);
}
run(parsed.options, kubeConfig, parsed.configFile);
