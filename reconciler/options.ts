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
  --resync-seconds N               re-check every terminating pool and subnet this often (default 300)
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
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0];
      return typeof key === 'string' ? `${flagName(key)}: ${issue.message}` : issue.message;
    });
    return { ok: false, error: `${problems.join('\n')}\n${USAGE}` };
  }
  return { ok: true, options: parsed.data };
}
