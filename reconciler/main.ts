// underpin-reconciler: runs Underpin's controllers in the one replica that holds the
// leader-election Lease. Standbys wait; a leader that loses the Lease exits non-zero
// (Kubernetes restarts it as a standby); SIGTERM stops the controllers and releases
// the Lease so a standby takes over at its next poll.
import type { KubeConfig } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader-election.js';
import { ApiLeaseStore } from './lease-store.js';
import { parseReconcilerOptions, type ReconcilerOptions } from './options.js';
import { PoolFinalizerController } from './pool-finalizer.js';
import { loadKubeConfig } from '../webhook/kube-config.js';

const SHUTDOWN_GRACE_MS = 10_000;

function run(options: ReconcilerOptions, kubeConfig: KubeConfig): void {
  const log: Logger = pino({ level: options.logLevel, base: { component: 'reconciler', identity: options.identity } });
  const controllers: PoolFinalizerController[] = [];

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
      const events = new EventRecorder(kubeConfig, options.identity);
      const controller = new PoolFinalizerController({
        kubeConfig,
        log,
        recordEvent: (event) => events.record(event),
        resyncMs: options.resyncSeconds * 1000,
      });
      controllers.push(controller);
      controller.start().catch((error: unknown) => {
        log.fatal({ err: error }, 'controller failed to start');
        process.exit(1);
      });
    },
    onStoppedLeading: (reason) => {
      // Exit at once, before another replica's first write: no controller may act on
      // a lease it no longer holds. Kubernetes restarts us as a standby.
      log.fatal({ reason }, 'leadership lost; exiting');
      process.exit(1);
    },
  });
  log.info({ lease: `${options.namespace}/${options.leaseName}`, resyncSeconds: options.resyncSeconds }, 'starting; waiting to become leader');
  elector.start();

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
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

const parsed = parseReconcilerOptions(process.argv.slice(2));
if (!parsed.ok) {
  console.error(`underpin-reconciler: ${parsed.error}`);
  process.exit(2);
}
let kubeConfig: KubeConfig;
try {
  kubeConfig = loadKubeConfig(parsed.options.kubeconfig);
} catch (error) {
  const source = parsed.options.kubeconfig ? `--kubeconfig ${parsed.options.kubeconfig}` : 'the in-cluster or $KUBECONFIG credentials';
  console.error(`underpin-reconciler: cannot load ${source}: ${(error as Error).message}; pass --kubeconfig FILE with a readable kubeconfig`);
  process.exit(2);
}
run(parsed.options, kubeConfig);
