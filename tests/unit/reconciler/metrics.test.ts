import t from 'tap';
import { get } from 'node:http';
import { ReconcilerMetrics, replicaReadiness, serveMetrics } from '../../../reconciler/metrics.js';

function fetchText(url: string, method = 'GET'): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
  });
}

t.test('metrics: pool gauges, releases by reason, reconcile latency', async (t) => {
  const metrics = new ReconcilerMetrics({ defaultMetrics: false });
  metrics.setPool('p1', 10, 3);
  metrics.setPool('p2', 5, 5);
  metrics.forgetPool('p2');
  metrics.released('pod-deleted');
  metrics.released('pod-deleted');
  await metrics.time('claims', async () => {});
  await t.rejects(metrics.time('claims', async () => Promise.reject(new Error('boom'))), /boom/, 'errors pass through, timed too');
  const text = await metrics.registry.metrics();
  t.match(text, /underpin_pool_total_ips\{pool="p1"\} 10/);
  t.match(text, /underpin_pool_allocated_ips\{pool="p1"\} 3/);
  t.notMatch(text, /pool="p2"/, 'a deleted pool has no series');
  t.match(text, /underpin_claim_releases_total\{reason="pod-deleted"\} 2/);
  t.match(text, /underpin_claim_releases_total\{reason="pod-never-created"\} 0/, 'every reason is there from the start');
  t.match(text, /underpin_reconcile_duration_seconds_count\{controller="claims"\} 2/);
});

t.test('the listener: /metrics, /healthz, /readyz, and nothing else', async (t) => {
  const metrics = new ReconcilerMetrics();
  let ready = false;
  const server = await serveMetrics('127.0.0.1', 0, metrics, () => (ready ? { ready } : { ready, reason: 'leader; caches are syncing' }));
  t.teardown(() => server.close());
  t.match(server.address, /^127\.0\.0\.1:\d+$/);
  const base = `http://${server.address}`;

  const m = await fetchText(`${base}/metrics`);
  t.equal(m.status, 200);
  t.match(m.type, /^text\/plain/);
  t.match(m.body, /# TYPE underpin_claim_releases_total counter/);
  t.match(m.body, /underpin_reconciler_process_cpu_seconds_total/, 'process metrics, prefixed');

  t.same(await fetchText(`${base}/healthz`), { status: 200, body: 'ok\n', type: 'text/plain' });
  t.same(await fetchText(`${base}/readyz`), { status: 503, body: 'not ready: leader; caches are syncing\n', type: 'text/plain' });
  ready = true;
  t.equal((await fetchText(`${base}/readyz?verbose`)).status, 200);
  t.equal((await fetchText(`${base}/nope`)).status, 404);
  t.equal((await fetchText(`${base}/healthz`, 'POST')).status, 405);
});

t.test('a busy address is an error the caller sees', async (t) => {
  const metrics = new ReconcilerMetrics({ defaultMetrics: false });
  const first = await serveMetrics('127.0.0.1', 0, metrics, () => ({ ready: true }));
  t.teardown(() => first.close());
  const port = Number(first.address.split(':')[1]);
  await t.rejects(serveMetrics('127.0.0.1', port, metrics, () => ({ ready: true })), { code: 'EADDRINUSE' });
});

t.test('readiness: a standby once it has seen the Lease, the leader once its controllers run', async (t) => {
  t.same(replicaReadiness({ observedLease: false, leading: false, controllersRunning: false }), { ready: false, reason: 'not yet through the first leader-election round' });
  t.same(replicaReadiness({ observedLease: true, leading: false, controllersRunning: false }), { ready: true });
  t.same(replicaReadiness({ observedLease: true, leading: true, controllersRunning: false }), { ready: false, reason: 'leader; caches are syncing' });
  t.same(replicaReadiness({ observedLease: true, leading: true, controllersRunning: true }), { ready: true });
});
