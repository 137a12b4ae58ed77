// Command-line options of the reconciler process, validated at the edge.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { checkTiming } from './leader-election.js';

// A Lease holder identity ends up in an object field and in logs; keep it printable.
const identity = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-128 printable characters without spaces');

// Lease names and namespaces are DNS labels / subdomains in the API.
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS name (a-z, 0-9, "-", ".")');
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, "-"), at most 63 characters');

const seconds = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive({ error: 'must be more than 0 seconds' })
    .max(86_400, { error: 'must be at most 86400 seconds (a day)' })
    .default(fallback);

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
    namespace: dnsLabel,
    leaseName: dnsSubdomain.default('underpin-reconciler'),
    identity,
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    resyncSeconds: seconds(300),
    leaseDurationSeconds: seconds(15),
    renewDeadlineSeconds: seconds(10),
    retryPeriodSeconds: seconds(2),
    orphanClaimTtlSeconds: seconds(120),
    autoPoolIntervalSeconds: seconds(5),
    defaultExtraAddresses: z.coerce.number().int().min(0).max(65536).default(1),
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
  --kubeconfig FILE                API credentials (default: in-cluster, then $KUBECONFIG)
  --namespace NS                   namespace of the leader-election Lease (default $POD_NAMESPACE, else underpin-system)
  --lease-name NAME                name of the leader-election Lease (default underpin-reconciler)
  --identity ID                    this replica's name in the Lease (default hostname_pid)
  --log-level LEVEL                fatal|error|warn|info|debug|trace (default info)
  --resync-seconds N               re-check every claim, and every terminating pool and subnet, this often (default 300)
  --auto-pool-interval-seconds N   how often auto pools are re-sized to their applications (default 5)
  --default-extra-addresses N      auto pool size when ippool-ip-number is absent: replicas + N (default 1; match the webhook)
  --orphan-claim-ttl-seconds N     release a claim whose pod never appeared this long after admission
                                   (default $${ORPHAN_CLAIM_TTL_ENV}, else 120)
  --metrics-bind-address ADDR      serve /metrics, /healthz and /readyz on ADDR (default 127.0.0.1:9090; 0 turns it off)
  --lease-duration-seconds N       a leader that stops renewing is replaced after this long (default 15)
  --renew-deadline-seconds N       a leader that cannot renew this long steps down and exits (default 10)
  --retry-period-seconds N         how often to renew, and how often standbys try to acquire (default 2)`;

/** Option names as typed, for messages: resyncSeconds → --resync-seconds. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Parse argv; on bad input return a message that names the option and the fix. */
export function parseReconcilerOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  defaultIdentity = `${hostname()}_${process.pid}`,
): { ok: true; options: ReconcilerOptions } | { ok: false; error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'lease-name': { type: 'string' },
        identity: { type: 'string' },
        'log-level': { type: 'string' },
        'resync-seconds': { type: 'string' },
        'lease-duration-seconds': { type: 'string' },
        'renew-deadline-seconds': { type: 'string' },
        'retry-period-seconds': { type: 'string' },
        'orphan-claim-ttl-seconds': { type: 'string' },
        'auto-pool-interval-seconds': { type: 'string' },
        'default-extra-addresses': { type: 'string' },
        'metrics-bind-address': { type: 'string' },
      },
    }));
  } catch (error) {
    return { ok: false, error: `${(error as Error).message}\n${USAGE}` };
  }
  const parsed = ReconcilerOptions.safeParse({
    kubeconfig: values.kubeconfig,
    namespace: values.namespace ?? (env.POD_NAMESPACE || 'underpin-system'),
    leaseName: values['lease-name'],
    identity: values.identity ?? defaultIdentity,
    logLevel: values['log-level'],
    resyncSeconds: values['resync-seconds'],
    leaseDurationSeconds: values['lease-duration-seconds'],
    renewDeadlineSeconds: values['renew-deadline-seconds'],
    retryPeriodSeconds: values['retry-period-seconds'],
    orphanClaimTtlSeconds: values['orphan-claim-ttl-seconds'] ?? (env[ORPHAN_CLAIM_TTL_ENV] || undefined),
    autoPoolIntervalSeconds: values['auto-pool-interval-seconds'],
    defaultExtraAddresses: values['default-extra-addresses'],
    metricsBindAddress: values['metrics-bind-address'],
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0];
      if (key === 'orphanClaimTtlSeconds' && values['orphan-claim-ttl-seconds'] === undefined) return `$${ORPHAN_CLAIM_TTL_ENV}: ${issue.message}`;
      return typeof key === 'string' ? `${flagName(key)}: ${issue.message}` : issue.message;
    });
    return { ok: false, error: `${problems.join('\n')}\n${USAGE}` };
  }
  return { ok: true, options: parsed.data };
}
