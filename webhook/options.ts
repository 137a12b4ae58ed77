// Options of the webhook process: flags, the shared settings file and the
// environment, merged and validated by webhook/process-options.ts.
import { z } from 'zod';
import { commonUsage, parseProcessOptions, PRECEDENCE_NOTE, type OptionSpec, type ParsedOptions } from '../kube/process-options.js';
import { clusterNetworkIPAM, commaSeparated, dnsLabel, dnsSubdomain, extraAddresses, logLevel, poolNames, requestBytes, seconds, userNames } from '../kube/underpin-config.js';
import { WEBHOOK_SERVICE } from './configurations.js';
import { DEFAULT_MAX_REQUEST_BYTES } from './server.js';

const commaList = z.preprocess(commaSeparated, z.array(z.string()));

/** The service account the Deployment runs as: the one user whose pod binding changes are trusted. */
export const CONTROLLER_SERVICE_ACCOUNT = 'underpin-controller';

export const WebhookOptions = z
  .object({
    bindAddress: z.string().default('0.0.0.0'),
    port: z.coerce.number().int().min(1).max(65535).default(9443),
    certDir: z.string().min(1).default('/var/run/underpin/certs'),
    certSecret: dnsSubdomain.optional(),
    certMountedDir: z.string().min(1).optional(),
    dnsNames: commaList.optional(),
    ipAddresses: commaList.default([]),
    kubeconfig: z.string().optional(),
    namespace: dnsLabel.default(WEBHOOK_SERVICE.namespace),
    defaultExtraAddresses: extraAddresses.default(1),
    clusterDefaultIPv4IPPool: poolNames.default([]),
    clusterDefaultIPv6IPPool: poolNames.default([]),
    clusterNetworkIPAM: clusterNetworkIPAM.default('underpin'),
    trustedUsers: userNames.optional(),
    injectCaBundle: z.boolean().default(true),
    maxRequestBytes: requestBytes.default(DEFAULT_MAX_REQUEST_BYTES),
    certSyncSeconds: seconds.default(10),
    logLevel: logLevel.default('info'),
  })
  // Defaults that follow the namespace: the Service's names and the controller's account.
  .transform((options) => ({
    ...options,
    dnsNames: options.dnsNames ?? [`${WEBHOOK_SERVICE.name}.${options.namespace}.svc`, `${WEBHOOK_SERVICE.name}.${options.namespace}.svc.cluster.local`],
    trustedUsers: options.trustedUsers ?? [`system:serviceaccount:${options.namespace}:${CONTROLLER_SERVICE_ACCOUNT}`],
  }));
export type WebhookOptions = z.infer<typeof WebhookOptions>;

export const USAGE = `usage: underpin-webhook [options]
${PRECEDENCE_NOTE} Settings also in the file are marked (config: key).
${commonUsage(38)}
  --bind-address ADDR                 listen address (default 0.0.0.0)
  --port N                            HTTPS port (default 9443)
  --cert-secret NAME                  keep the CA and serving certificate in this Secret of --namespace, shared by every
                                      replica (in a cluster: underpin-webhook-tls); without it they live in --cert-dir
  --cert-dir DIR                      where the CA and serving certificate live without --cert-secret (default /var/run/underpin/certs)
  --cert-mounted-dir DIR              serve a kubernetes.io/tls Secret mounted here (tls.crt, tls.key, ca.crt), kept by
                                      cert-manager or given to the chart; never generated, re-read every --cert-sync-seconds
  --dns-names a,b                     serving certificate DNS names (default the ${WEBHOOK_SERVICE.name} Service's names in --namespace)
  --ip-addresses a,b                  serving certificate IP addresses (e.g. 127.0.0.1 for a local cluster)
  --kubeconfig FILE                   API credentials (default: in-cluster, then $KUBECONFIG)
  --namespace NS                      Underpin's own namespace (default $POD_NAMESPACE, else underpin-system)
  --default-extra-addresses N         auto pool size when ippool-ip-number is absent: replicas + N (default 1) (config: defaultExtraAddresses)
  --cluster-default-ipv4-ippool a,b   pools for pods that name none, before pools with spec.default: true (config: clusterDefaultIPv4IPPool)
  --cluster-default-ipv6-ippool a,b   the same for IPv6 (config: clusterDefaultIPv6IPPool)
  --cluster-network-ipam underpin|other  who addresses eth0 of the cluster's default network: Underpin (default; then namespace
                                      and cluster default pools apply to it) or another CNI (an overlay; then only pods with
                                      Underpin or Multus annotations are sent to the webhook) (config: clusterNetworkIPAM)
  --trusted-users a,b                 users allowed to change a pod's binding (default Underpin's service account) (config: trustedUsers)
  --no-inject-ca-bundle               do not keep the webhook configurations' caBundle (and the pod
                                      webhook's matchConditions, see --cluster-network-ipam) up to date
  --max-request-bytes N               largest AdmissionReview accepted (default ${DEFAULT_MAX_REQUEST_BYTES}) (config: maxRequestBytes)
  --cert-sync-seconds N               how often to re-read the certificates (renewing them when due, taking up another
                                      replica's renewal) and re-check the registered caBundle (default 10)
  --log-level LEVEL                   fatal|error|warn|info|debug|trace (default info) (config: logLevel)`;

const OPTIONS: OptionSpec[] = [
  { key: 'bindAddress', flag: 'bind-address' },
  { key: 'port', flag: 'port' },
  { key: 'certSecret', flag: 'cert-secret' },
  { key: 'certDir', flag: 'cert-dir' },
  { key: 'certMountedDir', flag: 'cert-mounted-dir' },
  { key: 'dnsNames', flag: 'dns-names' },
  { key: 'ipAddresses', flag: 'ip-addresses' },
  { key: 'kubeconfig', flag: 'kubeconfig' },
  { key: 'namespace', flag: 'namespace', env: 'POD_NAMESPACE' },
  { key: 'defaultExtraAddresses', flag: 'default-extra-addresses', configKey: 'defaultExtraAddresses' },
  { key: 'clusterDefaultIPv4IPPool', flag: 'cluster-default-ipv4-ippool', configKey: 'clusterDefaultIPv4IPPool' },
  { key: 'clusterDefaultIPv6IPPool', flag: 'cluster-default-ipv6-ippool', configKey: 'clusterDefaultIPv6IPPool' },
  { key: 'clusterNetworkIPAM', flag: 'cluster-network-ipam', configKey: 'clusterNetworkIPAM' },
  { key: 'trustedUsers', flag: 'trusted-users', configKey: 'trustedUsers' },
  { key: 'injectCaBundle', flag: 'no-inject-ca-bundle', presence: { value: false } },
  { key: 'maxRequestBytes', flag: 'max-request-bytes', configKey: 'maxRequestBytes' },
  { key: 'certSyncSeconds', flag: 'cert-sync-seconds' },
  { key: 'logLevel', flag: 'log-level', configKey: 'logLevel' },
];

/** Parse argv (and the --config file it names); on bad input the message names the flag, key or variable and the fix. */
export function parseWebhookOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedOptions<WebhookOptions> {
  return parseProcessOptions({ usage: USAGE, options: OPTIONS }, WebhookOptions, argv, env);
}
