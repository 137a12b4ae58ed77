// underpin-cni-installer: installs the CNI plugins and their kubeconfig on the node,
// then keeps the copied service account token fresh (see install-cni.ts).
//
//   node dist/cni/install/main.js [--once] [--source-dir dist/cni/bin] [--cni-bin-dir /host/opt/cni/bin]
//        [--cni-conf-dir /host/etc/cni/net.d] [--service-account-dir ...] [--server URL] [--refresh-seconds 60]
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiServerUrl, installPlugins, refreshCredentials, writePluginKubeconfig, type InstallPaths } from './install-cni.js';

const USAGE = `usage: underpin-cni-installer [options]
  --source-dir DIR           the built executable underpin (default dist/cni/bin)
  --cni-bin-dir DIR          the node's CNI binary directory as mounted (default /host/opt/cni/bin)
  --cni-conf-dir DIR         the node's CNI configuration directory as mounted (default /host/etc/cni/net.d)
  --service-account-dir DIR  token and ca.crt to copy (default /var/run/secrets/kubernetes.io/serviceaccount)
  --server URL               API server for the plugins (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
  --refresh-seconds N        how often the token and CA are copied again (default 60)
  --once                     install, write the credentials, and exit`;

const Options = z.object({
  sourceDir: z.string().min(1).default('dist/cni/bin'),
  cniBinDir: z.string().min(1).default('/host/opt/cni/bin'),
  cniConfDir: z.string().min(1).default('/host/etc/cni/net.d'),
  serviceAccountDir: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount'),
  server: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  refreshSeconds: z.coerce.number({ error: 'must be a number of seconds' }).positive({ error: 'must be more than 0' }).default(60),
  once: z.boolean().default(false),
});

function fail(message: string): never {
  console.error(`underpin-cni-installer: ${message}`);
  process.exit(2);
}

function parse(argv: string[]): z.infer<typeof Options> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'source-dir': { type: 'string' },
        'cni-bin-dir': { type: 'string' },
        'cni-conf-dir': { type: 'string' },
        'service-account-dir': { type: 'string' },
        server: { type: 'string' },
        'refresh-seconds': { type: 'string' },
        once: { type: 'boolean' },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const parsed = Options.safeParse({
    sourceDir: values['source-dir'],
    cniBinDir: values['cni-bin-dir'],
    cniConfDir: values['cni-conf-dir'],
    serviceAccountDir: values['service-account-dir'],
    server: values.server,
    refreshSeconds: values['refresh-seconds'],
    once: values.once,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
    fail(`${problems.join('\n')}\n${USAGE}`);
  }
  return parsed.data;
}

const options = parse(process.argv.slice(2));
const paths: InstallPaths = options;
try {
  const server = options.server ?? apiServerUrl(process.env);
  const replaced = installPlugins(paths);
  refreshCredentials(paths);
  const kubeconfig = writePluginKubeconfig(paths, server);
  console.log(`${replaced ? 'installed' : 'kept (unchanged)'} the underpin CNI plugins in ${paths.cniBinDir}; kubeconfig ${kubeconfig} for ${server}`);
} catch (error) {
  fail((error as Error).message);
}
if (!options.once) {
  setInterval(() => {
    try {
      refreshCredentials(paths);
    } catch (error) {
      // Keep running: the plugins still have the last good copy until it expires.
      console.error(`underpin-cni-installer: refreshing credentials: ${(error as Error).message}`);
    }
  }, options.refreshSeconds * 1000);
  process.once('SIGTERM', () => process.exit(0));
}
