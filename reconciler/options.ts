// Options of the reconciler process: flags, the shared settings file and the
// environment, merged and validated by webhook/process-options.ts.
import { hostname } from 'node:os';
import { z } from 'zod';
import { commonUsage, parseProcessOptions, PRECEDENCE_NOTE, type OptionSpec, type ParsedOptions } from '../kube/process-options.js';
import { delaySeconds, dnsLabel, dnsSubdomain, extraAddresses, logLevel, nodeLossRelease, seconds } from '../kube/underpin-config.js';
import { checkTiming } from './leader-election.js';

// A Lease holder identity ends up in an object field and in logs; keep it printable.
const identity = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-128 printable characters without spaces');

/** Where /metrics, /healthz and /readyz are served; `0` turns the listener off. */
export type BindAddress = { host: string; port: number } | 'disabled';

/** `host:port`, `[ipv6]:port`, `:port` (every interface) or `0` (off). */
export function parseBindAddress(text: string): { ok: true; value: BindAddress } | { ok: false; error: string } {
  if (text === '0') return { ok: true, value: 'disabled' };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65_535) {
    return { ok: false, error: `"${text}" is not an address to listen on; write host:port (e.g. 127.0.0.1:9090, [::1]:9090, :9090 for every interface) or 0 to turn it off` };
  }
  return { ok: true, value: { host: match[1] ?? (match[2] || '0.0.0.0'), port } };
}

const bindAddress = z.string().transform((text, ctx) => {
  const parsed = parseBindAddress(text);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

/** Environment variable read as the default of --orphan-claim-ttl-seconds (test clusters shorten it). */
export const ORPHAN_CLAIM_TTL_ENV = 'UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS';

export const ReconcilerOptions = z
  .object({
    kubeconfig: z.string().min(1).optional(),
    namespace: dnsLabel.default('underpin-system'),
    leaseName: dnsSubdomain.default('underpin-reconciler'),
    identity,
    logLevel: logLevel.default('info'),
    resyncSeconds: seconds.default(300),
    leaseDurationSeconds: seconds.default(15),
    renewDeadlineSeconds: seconds.default(10),
    retryPeriodSeconds: seconds.default(2),
    orphanClaimTtlSeconds: seconds.default(120),
    nodeLossRelease: nodeLossRelease.default('not-ready'),
    nodeLossReleaseDelaySeconds: delaySeconds.default(0),
    autoPoolIntervalSeconds: seconds.default(30),
    defaultExtraAddresses: extraAddresses.default(1),
    metricsBindAddress: bindAddress.default({ host: '127.0.0.1', port: 9090 }),
  })
  .superRefine((options, ctx) => {
    const problem = checkTiming(
      {
        leaseDurationMs: options.leaseDurationSeconds * 1000,
        renewDeadlineMs: options.renewDeadlineSeconds * 1000,
        retryPeriodMs: options.retryPeriodSeconds * 1000,
      },
      { leaseDuration: '--lease-duration-seconds', renewDeadline: '--renew-deadline-seconds', retryPeriod: '--retry-period-seconds' },
    );
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export type ReconcilerOptions = z.infer<typeof ReconcilerOptions>;

export const USAGE = `usage: underpin-reconciler [options]
${PRECEDENCE_NOTE} Settings also in the file are marked (config: key).
${commonUsage(35)}
  --kubeconfig FILE                API credentials (default: in-cluster, then $KUBECONFIG)
  --namespace NS                   namespace of the leader-election Lease (default $POD_NAMESPACE, else underpin-system)
  --lease-name NAME                name of the leader-election Lease (default underpin-reconciler)
  --identity ID                    this replica's name in the Lease (default hostname_pid)
  --log-level LEVEL                fatal|error|warn|info|debug|trace (default info) (config: logLevel)
  --resync-seconds N               re-check every claim, and every terminating pool and subnet, this often (default 300) (config: resyncSeconds)
  --auto-pool-interval-seconds N   how often every application's auto pools are re-checked (default 30; a released address re-checks its application at once) (config: autoPoolIntervalSeconds)
  --default-extra-addresses N      auto pool size when ippool-ip-number is absent: replicas + N (default 1) (config: defaultExtraAddresses)
  --orphan-claim-ttl-seconds N     release a claim whose pod never appeared this long after admission
                                   (default $${ORPHAN_CLAIM_TTL_ENV}, else 120) (config: orphanClaimTtlSeconds)
  --node-loss-release MODE         when a stateless pod terminating on a lost node gives its addresses back, past its
                                   grace period: not-ready (node NotReady, gone or out-of-service; default) or
                                   out-of-service (only once the node is tainted node.kubernetes.io/out-of-service)
                                   (config: nodeLossRelease)
  --node-loss-release-delay-seconds N  wait this long beyond the grace period (default 0) (config: nodeLossReleaseDelaySeconds)
  --metrics-bind-address ADDR      serve /metrics, /healthz and /readyz on ADDR (default 127.0.0.1:9090; 0 turns it off)
  --lease-duration-seconds N       a leader that stops renewing is replaced after this long (default 15)
  --renew-deadline-seconds N       a leader that cannot renew this long steps down and exits (default 10)
  --retry-period-seconds N         how often to renew, and how often standbys try to acquire (default 2)`;

const options = (defaultIdentity: string): OptionSpec[] => [
  { key: 'kubeconfig', flag: 'kubeconfig' },
  { key: 'namespace', flag: 'namespace', env: 'POD_NAMESPACE' },
  { key: 'leaseName', flag: 'lease-name' },
  { key: 'identity', flag: 'identity', fallback: () => defaultIdentity },
  { key: 'logLevel', flag: 'log-level', configKey: 'logLevel' },
  { key: 'resyncSeconds', flag: 'resync-seconds', configKey: 'resyncSeconds' },
  { key: 'leaseDurationSeconds', flag: 'lease-duration-seconds' },
  { key: 'renewDeadlineSeconds', flag: 'renew-deadline-seconds' },
  { key: 'retryPeriodSeconds', flag: 'retry-period-seconds' },
  { key: 'orphanClaimTtlSeconds', flag: 'orphan-claim-ttl-seconds', configKey: 'orphanClaimTtlSeconds', env: ORPHAN_CLAIM_TTL_ENV },
  { key: 'nodeLossRelease', flag: 'node-loss-release', configKey: 'nodeLossRelease' },
  { key: 'nodeLossReleaseDelaySeconds', flag: 'node-loss-release-delay-seconds', configKey: 'nodeLossReleaseDelaySeconds' },
  { key: 'autoPoolIntervalSeconds', flag: 'auto-pool-interval-seconds', configKey: 'autoPoolIntervalSeconds' },
  { key: 'defaultExtraAddresses', flag: 'default-extra-addresses', configKey: 'defaultExtraAddresses' },
  { key: 'metricsBindAddress', flag: 'metrics-bind-address' },
];

/** Parse argv (and the --config file it names); on bad input the message names the flag, key or variable and the fix. */
export function parseReconcilerOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  defaultIdentity = `${hostname()}_${process.pid}`,
): ParsedOptions<ReconcilerOptions> {
  return parseProcessOptions({ usage: USAGE, options: options(defaultIdentity) }, ReconcilerOptions, argv, env);
}
