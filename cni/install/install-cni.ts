// Puts Underpin's CNI plugins and their credentials on a node (run by the
// underpin-cni-installer DaemonSet, host directories mounted into the container):
//
//   <cni-bin-dir>/underpin                 the single executable (no Node.js needed on the node)
//   <cni-bin-dir>/spiderpool               -> underpin (Spiderpool NetworkAttachmentDefinitions work unchanged)
//   <cni-bin-dir>/underpin-coordinator     -> underpin
//   <cni-bin-dir>/coordinator              -> underpin
//   <cni-conf-dir>/underpin.d/underpin.kubeconfig   JSON (read faster than YAML); paths relative to it
//   <cni-conf-dir>/underpin.d/token, ca.crt         the service account's projected token and the cluster CA
//
// Every file is written beside its target and renamed over it, so a plugin call
// running during an upgrade or a token refresh sees the old file or the new one,
// never half of one. The token is re-copied periodically: projected tokens rotate.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXECUTABLE = 'underpin';
/** Names the executable answers to besides its own (it runs the plugin it is called as). */
export const PLUGIN_ALIASES = ['spiderpool', 'underpin-coordinator', 'coordinator'] as const;
export const CREDENTIALS_DIR = 'underpin.d';
export const KUBECONFIG_FILE = 'underpin.kubeconfig';

export interface InstallPaths {
  /** Where the image keeps the built executable (dist/cni/bin). */
  sourceDir: string;
  /** The node's CNI binary directory, as mounted (/host/opt/cni/bin). */
  cniBinDir: string;
  /** The node's CNI configuration directory, as mounted (/host/etc/cni/net.d). */
  cniConfDir: string;
  /** The pod's service account files (token, ca.crt). */
  serviceAccountDir: string;
}

/**
 * In 1 MiB chunks: the executable is a whole Node.js runtime (over 100 MiB), and
 * reading it at once, twice, overran the installer's memory limit on a real node.
 */
function sha256(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function replaceFile(target: string, write: (temporary: string) => void): void {
  const temporary = join(target, '..', `.${target.split('/').pop()}.new`);
  rmSync(temporary, { force: true });
  write(temporary);
  renameSync(temporary, target);
}

/** Copy the executable (unless the node has the same one) and point the aliases at it. Returns whether it was replaced. */
export function installPlugins(paths: InstallPaths): boolean {
  const source = join(paths.sourceDir, EXECUTABLE);
  if (!existsSync(source)) throw new Error(`${source} is missing: the image must contain the CNI executable built by \`npm run build\``);
  mkdirSync(paths.cniBinDir, { recursive: true });
  const target = join(paths.cniBinDir, EXECUTABLE);
  const replaced = sha256(source) !== sha256(target);
  if (replaced) {
    replaceFile(target, (temporary) => {
      copyFileSync(source, temporary);
      chmodSync(temporary, 0o755);
    });
  }
  for (const alias of PLUGIN_ALIASES) replaceFile(join(paths.cniBinDir, alias), (temporary) => symlinkSync(EXECUTABLE, temporary));
  return replaced;
}

/** https://host:port of the API server as the pod sees it (IPv6 hosts in brackets). */
export function apiServerUrl(env: NodeJS.ProcessEnv): string {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: run the installer in a pod, or pass --server');
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The kubeconfig the plugins read: token and CA by file, relative to it, so a refresh needs no rewrite. */
export function pluginKubeconfig(server: string): string {
  return `${JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'underpin', cluster: { server, 'certificate-authority': 'ca.crt' } }],
    users: [{ name: 'underpin-cni', user: { tokenFile: 'token' } }],
    contexts: [{ name: 'underpin-cni', context: { cluster: 'underpin', user: 'underpin-cni' } }],
    'current-context': 'underpin-cni',
  })}\n`;
}

/** Copy the current token and CA next to the kubeconfig (only when they changed). */
export function refreshCredentials(paths: InstallPaths): void {
  const dir = join(paths.cniConfDir, CREDENTIALS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, mode] of [['token', 0o600], ['ca.crt', 0o644]] as const) {
    const source = join(paths.serviceAccountDir, name);
    if (!existsSync(source)) throw new Error(`${source} is missing: the installer needs its service account token mounted (automountServiceAccountToken)`);
    const target = join(dir, name);
    if (sha256(source) === sha256(target)) continue;
    replaceFile(target, (temporary) => writeFileSync(temporary, readFileSync(source), { mode }));
  }
}

export function writePluginKubeconfig(paths: InstallPaths, server: string): string {
  const dir = join(paths.cniConfDir, CREDENTIALS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, KUBECONFIG_FILE);
  replaceFile(target, (temporary) => writeFileSync(temporary, pluginKubeconfig(server), { mode: 0o600 }));
  return target;
}
