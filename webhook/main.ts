// underpin-webhook: serves admission over HTTPS with a certificate it creates and
// rotates itself (shared by every replica through a Secret with --cert-secret), and
// keeps the webhook configurations' caBundle (and the pod webhook's matchConditions)
// in step.
import { loadKubeConfig } from '../kube/kube-config.js';
import type { KubeConfig, V1MatchCondition } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { injectCABundle } from '../certs/ca-bundle-injector.js';
import { apiSecretClient, type BundleGeneration } from '../certs/certificate-secret.js';
import { directorySource, mountedSource, secretSource, ServingCertificateKeeper } from '../certs/serving-certificate-keeper.js';
import { optionsOrExit } from '../kube/process-options.js';
import { AdmissionLedger } from './admission-ledger.js';
import { MUTATING_CONFIGURATION_NAME, POD_MUTATE_WEBHOOK, podMatchConditions, VALIDATING_CONFIGURATION_NAME } from './configurations.js';
import { keepPodWebhookScope } from './pod-webhook-scope.js';
import { parseWebhookOptions, type WebhookOptions } from './options.js';
import { buildWebhookServer, replaceServingCertificate } from './server.js';
import { UnderlayCache } from '../kube/underlay-cache.js';
import { PodContextCache } from '../kube/pod-context-cache.js';
import { clusterAutoPoolState } from '../kube/auto-pool-state.js';
import { ClusterUnderlayState, clusterPodState, clusterWorkloadReader } from './underlay-state.js';
import { WorkloadAdmission } from './workloads.js';
import { WebhookMetrics } from './metrics.js';
import { APIClaimStore } from '../kube/api-claim-store.js';
import { PodAdmission } from './pod-admission.js';
import { ClusterMultusConfigState } from './multus-config-state.js';

/** A newly registered CA is given this long to reach the API server before a certificate it signed is served. */
const CA_PROPAGATION_MS = 5_000;

async function run(options: WebhookOptions, configFile: string | undefined): Promise<void> {
  const log = pino({ level: options.logLevel, base: { component: 'webhook' } });
  log.info({ configFile, namespace: options.namespace, defaultExtraAddresses: options.defaultExtraAddresses, trustedUsers: options.trustedUsers }, 'starting');
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const certificateOptions = { dnsNames: options.dnsNames, ipAddresses: options.ipAddresses };
  const names = { mutating: MUTATING_CONFIGURATION_NAME, validating: VALIDATING_CONFIGURATION_NAME };
  // In a cluster every replica shares one Secret (one CA in the caBundle); outside, a directory.
  const source = options.certMountedDir
    ? mountedSource(options.certMountedDir)
    : options.certSecret
    ? secretSource(apiSecretClient(kubeConfig, options.namespace, options.certSecret), { name: options.certSecret, namespace: options.namespace }, certificateOptions)
    : directorySource(options.certDir, certificateOptions);
  let app: ReturnType<typeof buildWebhookServer> | undefined;
  const keeper = new ServingCertificateKeeper({
    source,
    ...(options.injectCaBundle ? { register: (bundle: string, generation?: BundleGeneration) => injectCABundle(kubeConfig, bundle, names, generation) } : {}),
    serve: (tls) => app && replaceServingCertificate(app, tls),
    log,
    intervalMs: options.certSyncSeconds * 1000,
    caPropagationMs: CA_PROPAGATION_MS,
  });
  const certificates = await keeper.load();

  const cache = new UnderlayCache(kubeConfig, log);
  const podContext = new PodContextCache(kubeConfig, log);
  const ledger = new AdmissionLedger(kubeConfig, options.namespace);
  const claimStore = new APIClaimStore(kubeConfig);
  const underlay = new ClusterUnderlayState(cache, ledger, claimStore);
  const podState = clusterPodState(cache, podContext, claimStore, ledger, kubeConfig);
  const policy = {
    clusterDefaultPools: { ipv4: options.clusterDefaultIPv4IPPool, ipv6: options.clusterDefaultIPv6IPPool },
    clusterNetworkIsUnderpin: options.clusterNetworkIPAM === 'underpin',
  };
  const podAdmission = new PodAdmission(podState, { trustedUsers: options.trustedUsers, ...policy });
  app = buildWebhookServer({
    tls: certificates,
    maxRequestBytes: options.maxRequestBytes,
    logger: log,
    underlay,
    multusConfigs: new ClusterMultusConfigState(kubeConfig, cache),
    podAdmission,
    metrics: new WebhookMetrics(),
    isReady: () => cache.hasSynced && podContext.hasSynced,
    workloadAdmission: new WorkloadAdmission(
      { pools: clusterAutoPoolState(cache, kubeConfig), pods: podState, readWorkload: clusterWorkloadReader(kubeConfig) },
      { defaultExtraAddresses: options.defaultExtraAddresses, policy },
    ),
  });

  await app.listen({ host: options.bindAddress, port: options.port });
  await keeper.sync();
  keeper.start();
  const scopeTimer = options.injectCaBundle ? keepScope(kubeConfig, podMatchConditions(options.clusterNetworkIPAM === 'underpin'), options.certSyncSeconds * 1000, log) : undefined;
  // Informers retry on their own; /readyz says 503 until they have listed everything.
  await Promise.all([cache.start(), podContext.start()]);
  log.info('cluster state loaded; ready');

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    keeper.stop();
    clearInterval(scopeTimer);
    await app!.close();
    await Promise.all([cache.stop(), podContext.stop()]);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** Keep the pod webhook's matchConditions (clusterNetworkIPAM) now and at every caBundle check interval. */
function keepScope(kubeConfig: KubeConfig, conditions: V1MatchCondition[] | undefined, intervalMs: number, log: Logger): NodeJS.Timeout {
  const check = () =>
    keepPodWebhookScope(kubeConfig, MUTATING_CONFIGURATION_NAME, conditions).then(
      (outcome) => {
        if (outcome === 'updated') log.info({ webhook: POD_MUTATE_WEBHOOK, matchConditions: conditions?.map((c) => c.name) ?? [] }, 'pod webhook scope registered');
        if (outcome === 'unsupported') {
          // Rewriting it every interval would change nothing: say so once and stop.
          clearInterval(timer);
          log.warn({ webhook: POD_MUTATE_WEBHOOK }, 'the API server does not keep matchConditions (Kubernetes 1.28 or later needed): every pod is sent to the webhook');
        }
      },
      (error: unknown) => log.warn({ err: error }, 'could not register the pod webhook scope; will retry'),
    );
  const timer = setInterval(check, intervalMs).unref();
  void check();
  return timer;
}

const parsed = optionsOrExit('underpin-webhook', parseWebhookOptions(process.argv.slice(2)));
run(parsed.options, parsed.configFile).catch((error: unknown) => {
  console.error(`underpin-webhook: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
