// underpin-webhook: serves admission over HTTPS with a certificate it creates and
// rotates itself, and keeps the webhook configurations' caBundle in step.
import { loadKubeConfig } from './kube-config.js';
import pino from 'pino';
import { injectCABundle } from '../certs/ca-bundle-injector.js';
import { ensureServingCertificates, type ServingCertificates } from '../certs/serving-certificates.js';
import { AdmissionLedger } from './admission-ledger.js';
import { MUTATING_CONFIGURATION_NAME, VALIDATING_CONFIGURATION_NAME } from './configurations.js';
import { parseWebhookOptions, type WebhookOptions } from './options.js';
import { buildWebhookServer, replaceServingCertificate } from './server.js';
import { UnderlayCache } from './underlay-cache.js';
import { ClusterUnderlayState, clusterPodState, clusterWorkloadState } from './underlay-state.js';
import { WorkloadAdmission } from './workloads.js';
import { WebhookMetrics } from './metrics.js';
import { APIClaimStore } from './claim-store.js';
import { PodAdmission } from './pod-admission.js';


async function run(options: WebhookOptions): Promise<void> {
  const log = pino({ level: options.logLevel, base: { component: 'webhook' } });
  const certificateOptions = { dnsNames: options.dnsNames, ipAddresses: options.ipAddresses };
  let certificates: ServingCertificates = ensureServingCertificates(options.certDir, certificateOptions);
  log.info({ certDir: options.certDir, renewed: certificates.renewed, notAfter: certificates.notAfter }, 'serving certificate loaded');

  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const cache = new UnderlayCache(kubeConfig, log);
  const underlay = new ClusterUnderlayState(cache, new AdmissionLedger(kubeConfig, options.namespace));
  const podAdmission = new PodAdmission(clusterPodState(cache, new APIClaimStore(kubeConfig), kubeConfig), { trustedUsers: options.trustedUsers });
  const app = buildWebhookServer({
    tls: certificates,
    maxRequestBytes: options.maxRequestBytes,
    logger: log,
    underlay,
    podAdmission,
    metrics: new WebhookMetrics(),
    workloadAdmission: new WorkloadAdmission(clusterWorkloadState(cache, kubeConfig), { defaultExtraAddresses: options.defaultExtraAddresses }),
  });

  const names = { mutating: MUTATING_CONFIGURATION_NAME, validating: VALIDATING_CONFIGURATION_NAME };
  const syncCABundle = async () => {
    if (!options.injectCaBundle) return;
    try {
      const result = await injectCABundle(kubeConfig, certificates.caBundlePem, names);
      if (result.updated.length > 0) log.info({ updated: result.updated }, 'caBundle registered');
      if (result.missing.length > 0) log.debug({ missing: result.missing }, 'webhook configurations not found yet');
    } catch (error) {
      log.warn({ err: error }, 'could not register caBundle; will retry');
    }
  };
  const checkCertificates = async () => {
    try {
      const next = ensureServingCertificates(options.certDir, certificateOptions);
      if (next.renewed === 'none') return;
      certificates = next;
      // Register the new CA before serving with a certificate it signed.
      await syncCABundle();
      replaceServingCertificate(app, next);
      log.info({ renewed: next.renewed, notAfter: next.notAfter }, 'serving certificate renewed');
    } catch (error) {
      log.error({ err: error }, 'certificate renewal failed; still serving the current certificate');
    }
  };

  await app.listen({ host: options.bindAddress, port: options.port });
  await syncCABundle();
  // Informers retry on their own; /readyz says 503 until they have listed everything.
  await cache.start();
  log.info('cluster state loaded; ready');
  const timers = [
    setInterval(checkCertificates, options.certCheckIntervalSeconds * 1000),
    setInterval(syncCABundle, options.caBundleCheckIntervalSeconds * 1000),
  ];

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    timers.forEach(clearInterval);
    await app.close();
    await cache.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

const parsed = parseWebhookOptions(process.argv.slice(2));
if (!parsed.ok) {
  console.error(`underpin-webhook: ${parsed.error}`);
  process.exit(2);
}
run(parsed.options).catch((error: unknown) => {
  console.error(`underpin-webhook: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
