// Reads the node's kubeconfig into what one HTTPS GET needs: server URL, trust
// roots and a client identity (certificate and key, or a bearer token). Only the
// subset kubeconfigs written for CNI plugins use; exec and auth-provider plugins are
// refused with a message, since a CNI plugin cannot run them on every pod start.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { CniCode, CniError } from '../skel/cni-error.js';

export const DEFAULT_KUBECONFIG = '/etc/cni/net.d/underpin.d/underpin.kubeconfig';

export interface ApiConnection {
  /** https://host:port (a path prefix is kept). */
  server: string;
  ca?: Buffer;
  insecureSkipTLSVerify: boolean;
  serverName?: string;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** Where the settings came from, for messages. */
  source: string;
}

const Kubeconfig = z.looseObject({
  clusters: z
    .array(
      z.looseObject({
        name: z.string(),
        cluster: z.looseObject({
          server: z.string().min(1),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
          'tls-server-name': z.string().optional(),
        }),
      }),
    )
    .min(1),
  users: z
    .array(
      z.looseObject({
        name: z.string(),
        user: z
          .looseObject({
            'client-certificate': z.string().optional(),
            'client-certificate-data': z.string().optional(),
            'client-key': z.string().optional(),
            'client-key-data': z.string().optional(),
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            exec: z.unknown().optional(),
            'auth-provider': z.unknown().optional(),
          })
          .nullish(),
      }),
    )
    .nullish(),
  contexts: z.array(z.looseObject({ name: z.string(), context: z.looseObject({ cluster: z.string(), user: z.string().optional() }) })).nullish(),
  'current-context': z.string().nullish(),
});

export function loadKubeconfig(path: string): ApiConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CniError(
      CniCode.invalidNetworkConfig,
      `cannot read the kubeconfig ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'the Underpin installer writes it on every node, or set "ipam": {"kubeconfig": "<path>"} in the network configuration',
    );
  }
  return parseKubeconfig(text, path);
}

export function parseKubeconfig(text: string, path: string): ApiConnection {
  const bad = (why: string) => new CniError(CniCode.invalidNetworkConfig, `kubeconfig ${path}: ${why}`);
  let doc: unknown;
  try {
    // JSON is YAML too, and far quicker to read: the installer writes it as JSON.
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parse(text);
  } catch (error) {
    throw bad(`neither YAML nor JSON (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = Kubeconfig.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw bad(`${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  const config = parsed.data;
  const contextName = config['current-context'] ?? undefined;
  const context = contextName ? config.contexts?.find((c) => c.name === contextName)?.context : config.contexts?.[0]?.context;
  if (contextName && !context) throw bad(`current-context ${JSON.stringify(contextName)} is not among its contexts`);
  const clusterEntry = context ? config.clusters.find((c) => c.name === context.cluster) : config.clusters[0];
  if (!clusterEntry) throw bad(`context names cluster ${JSON.stringify(context?.cluster)}, which is not among its clusters`);
  const userName = context?.user;
  const userEntry = userName !== undefined ? config.users?.find((u) => u.name === userName) : config.users?.[0];
  if (userName !== undefined && !userEntry) throw bad(`context names user ${JSON.stringify(userName)}, which is not among its users`);

  const cluster = clusterEntry.cluster;
  const user = userEntry?.user ?? {};
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw bad('exec and auth-provider credentials are not supported by the CNI plugin; use a client certificate or a (service account) token');
  }
  const base = dirname(path);
  const file = (field: string, p: string): Buffer => {
    const full = isAbsolute(p) ? p : join(base, p);
    try {
      return readFileSync(full);
    } catch (error) {
      throw bad(`${field} ${full}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const data = (field: string, b64: string | undefined, p: string | undefined): Buffer | undefined =>
    b64 !== undefined ? Buffer.from(b64, 'base64') : p !== undefined ? file(field, p) : undefined;

  if (!/^https?:\/\//.test(cluster.server)) throw bad(`cluster server ${JSON.stringify(cluster.server)} is not an http(s) URL`);
  const token = user.token ?? (user.tokenFile !== undefined ? file('tokenFile', user.tokenFile).toString('utf8').trim() : undefined);
  const connection: ApiConnection = {
    server: cluster.server.replace(/\/+$/, ''),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    source: path,
  };
  const ca = data('certificate-authority', cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) connection.ca = ca;
  if (cluster['tls-server-name']) connection.serverName = cluster['tls-server-name'];
  const cert = data('client-certificate', user['client-certificate-data'], user['client-certificate']);
  const key = data('client-key', user['client-key-data'], user['client-key']);
  if ((cert === undefined) !== (key === undefined)) throw bad('a client certificate needs its key and a key its certificate');
  if (cert && key) {
    connection.cert = cert;
    connection.key = key;
  }
  if (token) connection.token = token;
  return connection;
}
