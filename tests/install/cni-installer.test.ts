// The CNI installer DaemonSet, run with its manifest's args against temporary
// directories standing in for the node's /opt/cni/bin and /etc/cni/net.d (see
// manifest-containers.ts). What the kubelet adds is added here: the service
// account mount (a directory with a token and ca.crt, passed with
// --service-account-dir since its path is the installer's default) and
// KUBERNETES_SERVICE_HOST/PORT.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeconfig } from '../../cni/kube/kubeconfig.js';
import { apiServerUrl, CREDENTIALS_DIR, KUBECONFIG_FILE, PLUGIN_ALIASES, refreshCredentials } from '../../cni/install/install-cni.js';
import { repoPath } from '../../hack/repo-paths.js';
import { HANG_TIMEOUT_MS, startProcess, stopProcess, waitUntil, type ManagedProcess } from '../../hack/processes.js';
import { findManifest, localContainers, readManifests } from './manifest-containers.js';

const daemonSet = findManifest(readManifests('manifests', 'cni', 'installer-daemonset.yaml'), 'DaemonSet', 'underpin-cni-installer');
const executable = repoPath('dist', 'cni', 'bin', 'underpin');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function serviceAccountDir(root: string, token: string): string {
  const dir = join(root, 'serviceaccount');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n');
  return dir;
}

async function runInstaller(t: { teardown(fn: () => unknown): void }, root: string, extraArgs: string[] = []): Promise<{ bin: string; conf: string; log: string }> {
  const [container] = await localContainers(daemonSet.spec.template.spec, { podName: 'installer', namespace: 'underpin-system', configMaps: {}, workDir: root });
  const bin = container!.mounts.get('/host/opt/cni/bin')!;
  const conf = container!.mounts.get('/host/etc/cni/net.d')!;
  const log = join(root, `installer-${Date.now()}.log`);
  const managed: ManagedProcess = startProcess({
    name: 'cni-installer',
    command: container!.command,
    args: [...container!.args, `--service-account-dir=${join(root, 'serviceaccount')}`, ...extraArgs],
    env: { PATH: process.env.PATH, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    logFile: log,
  });
  t.teardown(() => stopProcess(managed.pid));
  await waitUntil('installer wrote the kubeconfig', async () => readFileSync(log, 'utf8').includes('kubeconfig'), { timeoutMs: HANG_TIMEOUT_MS, process: managed });
  return { bin, conf, log };
}

t.test('installs the executable, its aliases and a kubeconfig the plugin reads', async (t) => {
  t.ok(existsSync(executable), `${executable} exists (npm run build makes it; the Dockerfile copies it)`);
  const root = mkdtempSync(join(tmpdir(), 'underpin-cni-install-'));
  serviceAccountDir(root, 'token-1');
  const { bin, conf, log } = await runInstaller(t, root);
  t.match(readFileSync(log, 'utf8'), /installed the underpin CNI plugins/);

  t.equal(sha(join(bin, 'underpin')), sha(executable), 'the executable is copied as is');
  t.equal(statSync(join(bin, 'underpin')).mode & 0o777, 0o755);
  for (const alias of PLUGIN_ALIASES) {
    t.ok(lstatSync(join(bin, alias)).isSymbolicLink(), `${alias} is a symlink`);
    t.equal(readlinkSync(join(bin, alias)), 'underpin', `${alias} -> underpin (relative, valid on the node)`);
  }
  const kubeconfig = join(conf, CREDENTIALS_DIR, KUBECONFIG_FILE);
  t.equal(statSync(kubeconfig).mode & 0o777, 0o600);
  t.equal(statSync(join(conf, CREDENTIALS_DIR, 'token')).mode & 0o777, 0o600);
  const connection = loadKubeconfig(kubeconfig);
  t.equal(connection.server, 'https://10.96.0.1:443');
  t.equal(connection.token, 'token-1', 'the plugin finds the token next to the kubeconfig');
  t.match(connection.ca?.toString() ?? '', /BEGIN CERTIFICATE/, 'and the cluster CA');
});

t.test('a second run keeps an unchanged executable and replaces a changed one', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'underpin-cni-install-'));
  serviceAccountDir(root, 'token-1');
  const first = await runInstaller(t, root);
  const again = await runInstaller(t, root);
  t.equal(again.bin, first.bin);
  t.match(readFileSync(again.log, 'utf8'), /kept \(unchanged\)/);
  writeFileSync(join(first.bin, 'underpin'), 'an older version');
  const third = await runInstaller(t, root);
  t.match(readFileSync(third.log, 'utf8'), /installed the underpin CNI plugins/);
  t.equal(sha(join(first.bin, 'underpin')), sha(executable));
});

t.test('a rotated token is copied again; the kubeconfig need not change', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'underpin-cni-install-'));
  const accountDir = serviceAccountDir(root, 'token-1');
  const { conf } = await runInstaller(t, root);
  writeFileSync(join(accountDir, 'token'), 'token-2');
  refreshCredentials({ sourceDir: repoPath('dist', 'cni', 'bin'), cniBinDir: join(root, 'unused'), cniConfDir: conf, serviceAccountDir: accountDir });
  t.equal(loadKubeconfig(join(conf, CREDENTIALS_DIR, KUBECONFIG_FILE)).token, 'token-2');
});

t.test('the API server address: IPv6 in brackets, a missing variable explained', async (t) => {
  t.equal(apiServerUrl({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }), 'https://[fd00::1]:6443');
  t.throws(() => apiServerUrl({}), /KUBERNETES_SERVICE_HOST is not set/);
});
