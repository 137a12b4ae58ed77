// Prometheus metrics of the reconciler (prom-client), and the HTTP listener that
// serves them with /healthz and /readyz. Every replica serves it; the controller
// metrics move only in the leader.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RELEASE_REASONS, type ReleaseReason } from './claim-release.js';

export class ReconcilerMetrics {
  readonly registry = new Registry();
  readonly poolTotal: Gauge<'pool'>;
  readonly poolAllocated: Gauge<'pool'>;
  readonly releases: Counter<'reason'>;
  readonly reconcileSeconds: Histogram<'controller'>;
  readonly leader: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.poolTotal = new Gauge({
      name: 'underpin_pool_total_ips',
      help: 'Addresses a SpiderIPPool can hand out: ips minus excludeIPs minus SpiderReservedIPs',
      labelNames: ['pool'],
      registers,
    });
    this.poolAllocated = new Gauge({
      name: 'underpin_pool_allocated_ips',
      help: 'Addresses of a SpiderIPPool held by IPClaims (bound to a pod, or reserved for one)',
      labelNames: ['pool'],
      registers,
    });
    this.releases = new Counter({
      name: 'underpin_claim_releases_total',
      help: 'IPClaims deleted by the garbage collector, by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of RELEASE_REASONS) this.releases.inc({ reason }, 0);
    this.reconcileSeconds = new Histogram({
      name: 'underpin_reconcile_duration_seconds',
      help: 'Time to reconcile one object (claim, pool or subnet status, endpoint), API calls included',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.leader = new Gauge({ name: 'underpin_reconciler_leader', help: '1 while this replica holds the leader-election Lease', registers });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'underpin_reconciler_' });
  }

  released(reason: ReleaseReason): void {
    this.releases.inc({ reason });
  }

  setPool(pool: string, total: number, allocated: number): void {
    this.poolTotal.set({ pool }, total);
    this.poolAllocated.set({ pool }, allocated);
  }

  forgetPool(pool: string): void {
    this.poolTotal.remove({ pool });
    this.poolAllocated.remove({ pool });
  }

  /** Times `work` under the controller's label, also when it throws. */
  async time<T>(controller: string, work: () => Promise<T>): Promise<T> {
    const end = this.reconcileSeconds.startTimer({ controller });
    try {
      return await work();
    } finally {
      end();
    }
  }
}

export interface Readiness {
  ready: boolean;
  /** Why not, for the /readyz body. */
  reason?: string;
}

/**
 * /readyz of a replica: a standby once it has seen the Lease (it can take over); the
 * leader once its controllers run on synced caches. So with one replica, ready means
 * "claims are being bound and released".
 */
export function replicaReadiness(state: { observedLease: boolean; leading: boolean; controllersRunning: boolean }): Readiness {
  if (state.leading) return state.controllersRunning ? { ready: true } : { ready: false, reason: 'leader; caches are syncing' };
  return state.observedLease ? { ready: true } : { ready: false, reason: 'not yet through the first leader-election round' };
}

export interface HealthServer {
  /** `host:port` actually bound (the port is chosen by the OS when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

/** /metrics, /healthz (the process answers) and /readyz (`readiness()`), GET only. */
export async function serveMetrics(host: string, port: number, metrics: ReconcilerMetrics, readiness: () => Readiness): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed; use GET\n');
      return;
    }
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch((error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const state = readiness();
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(state.ready ? 'ok\n' : `not ready: ${state.reason ?? 'starting'}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
