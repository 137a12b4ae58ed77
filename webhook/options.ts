// Command-line options of the webhook process, validated at the edge.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { describeIssues } from './admission-review.js';
import { DEFAULT_MAX_REQUEST_BYTES } from './server.js';

const commaList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const WebhookOptions = z.object({
  bindAddress: z.string().default('0.0.0.0'),
  port: z.coerce.number().int().min(1).max(65535).default(9443),
  certDir: z.string().min(1).default('/var/run/underpin/certs'),
  dnsNames: commaList.default(['underpin-webhook.underpin-system.svc', 'underpin-webhook.underpin-system.svc.cluster.local']),
  ipAddresses: commaList.default([]),
  kubeconfig: z.string().optional(),
  namespace: z.string().min(1).default(process.env.POD_NAMESPACE || 'underpin-system'),
  defaultExtraAddresses: z.coerce.number().int().min(0).max(65536).default(1),
  trustedUsers: commaList.default(['system:serviceaccount:underpin-system:underpin-controller']),
  injectCaBundle: z.boolean().default(true),
  maxRequestBytes: z.coerce.number().int().min(64 * 1024).default(DEFAULT_MAX_REQUEST_BYTES),
  certCheckIntervalSeconds: z.coerce.number().positive().default(3600),
  caBundleCheckIntervalSeconds: z.coerce.number().positive().default(60),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type WebhookOptions = z.infer<typeof WebhookOptions>;

export const USAGE = `usage: underpin-webhook [options]
  --bind-address ADDR                 listen address (default 0.0.0.0)
  --port N                            HTTPS port (default 9443)
  --cert-dir DIR                      where the CA and serving certificate live (default /var/run/underpin/certs)
  --dns-names a,b                     serving certificate DNS names (default the underpin-webhook Service names)
  --ip-addresses a,b                  serving certificate IP addresses (e.g. 127.0.0.1 for a local cluster)
  --kubeconfig FILE                   API credentials (default: in-cluster, then $KUBECONFIG)
  --namespace NS                      Underpin's own namespace (default $POD_NAMESPACE or underpin-system)
  --default-extra-addresses N         auto pool size when ippool-ip-number is absent: replicas + N (default 1)
  --trusted-users a,b                 users allowed to change a pod's binding (default Underpin's service account)
  --no-inject-ca-bundle               do not keep the webhook configurations' caBundle up to date
  --max-request-bytes N               largest AdmissionReview accepted (default ${DEFAULT_MAX_REQUEST_BYTES})
  --cert-check-interval-seconds N     how often to check for certificate renewal (default 3600)
  --ca-bundle-check-interval-seconds N  how often to re-check the registered caBundle (default 60)
  --log-level LEVEL                   fatal|error|warn|info|debug|trace (default info)`;

/** Parse argv; on bad input return a message that names the option and the fix. */
export function parseWebhookOptions(argv: string[]): { ok: true; options: WebhookOptions } | { ok: false; error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'bind-address': { type: 'string' },
        port: { type: 'string' },
        'cert-dir': { type: 'string' },
        'dns-names': { type: 'string' },
        'ip-addresses': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'trusted-users': { type: 'string' },
        'default-extra-addresses': { type: 'string' },
        'no-inject-ca-bundle': { type: 'boolean' },
        'max-request-bytes': { type: 'string' },
        'cert-check-interval-seconds': { type: 'string' },
        'ca-bundle-check-interval-seconds': { type: 'string' },
        'log-level': { type: 'string' },
      },
    }));
  } catch (error) {
    return { ok: false, error: `${(error as Error).message}\n${USAGE}` };
  }
  const parsed = WebhookOptions.safeParse({
    bindAddress: values['bind-address'],
    port: values.port,
    certDir: values['cert-dir'],
    dnsNames: values['dns-names'],
    ipAddresses: values['ip-addresses'],
    kubeconfig: values.kubeconfig,
    namespace: values.namespace,
    trustedUsers: values['trusted-users'],
    defaultExtraAddresses: values['default-extra-addresses'],
    injectCaBundle: !values['no-inject-ca-bundle'],
    maxRequestBytes: values['max-request-bytes'],
    certCheckIntervalSeconds: values['cert-check-interval-seconds'],
    caBundleCheckIntervalSeconds: values['ca-bundle-check-interval-seconds'],
    logLevel: values['log-level'],
  });
  if (!parsed.success) return { ok: false, error: `${describeIssues(parsed.error)}\n${USAGE}` };
  return { ok: true, options: parsed.data };
}
