// Installs Underpin on a local control plane the way the manifests do on a real
// cluster: CRDs, the webhook process (which makes its own certificates and
// registers its caBundle), and the webhook configurations, URL-based on loopback.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { webhookConfigurations } from '../webhook/configurations.js';
import type { LocalControlPlane } from './control-plane.js';
import { kubectlOrThrow, runKubectl } from './kubectl.js';
import { freeLoopbackPorts } from './loopback-ports.js';
import { startProcess, stopProcess, waitUntil, type ManagedProcess } from './processes.js';
import { repoPath } from './repo-paths.js';

export interface UnderpinInstallOptions {
  /** Directory for the webhook's certificates and logs. */
  dir: string;
  persistent?: boolean;
  log?: (line: string) => void;
  timeoutMs?: number;
  /** Extra arguments for the webhook process. */
  webhookArgs?: string[];
}

export interface UnderpinInstallation {
  webhookUrl: string;
  webhookCaPem: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/** Run the webhook from source under tsx in tests, from dist/ otherwise. */
function webhookEntry(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', 'tsx', repoPath('webhook', 'main.ts')] : [repoPath('dist', 'webhook', 'main.js')];
}

function readyz(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function applyCRDs(plane: LocalControlPlane): Promise<void> {
  const { kubectl } = plane.binaries;
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['apply', '--server-side', '-k', repoPath('manifests', 'crds')]);
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await kubectlOrThrow(kubectl, plane.kubeconfig, ['apply', '--server-side', '-f', repoPath('manifests', 'namespace.yaml')]);
}

export async function installUnderpin(plane: LocalControlPlane, options: UnderpinInstallOptions): Promise<UnderpinInstallation> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 60_000;
  mkdirSync(join(options.dir, 'logs'), { recursive: true });
  const certDir = join(options.dir, 'webhook-certs');

  log('applying CRDs and the underpin-system namespace');
  await applyCRDs(plane);

  const [port] = (await freeLoopbackPorts(1)) as [number];
  const webhookUrl = `https://127.0.0.1:${port}`;
  log(`starting the webhook on ${webhookUrl}`);
  const webhook = startProcess({
    name: 'underpin-webhook',
    command: process.execPath,
    args: [
      ...webhookEntry(),
      '--bind-address=127.0.0.1',
      `--port=${port}`,
      `--cert-dir=${certDir}`,
      '--dns-names=localhost',
      '--ip-addresses=127.0.0.1',
      `--kubeconfig=${plane.kubeconfig}`,
      ...(options.webhookArgs ?? []),
    ],
    logFile: join(options.dir, 'logs', 'underpin-webhook.log'),
    persistent: options.persistent,
  });
  const processes = [webhook];
  const stop = async () => {
    await Promise.all(processes.map((p) => stopProcess(p.pid)));
  };

  try {
    const caFile = join(certDir, 'ca.crt');
    await waitUntil('underpin webhook certificates', async () => existsSync(caFile) && existsSync(join(certDir, 'tls.crt')), {
      timeoutMs,
      process: webhook,
    });
    const webhookCaPem = readFileSync(caFile, 'utf8');
    await waitUntil('underpin webhook', () => readyz(webhookUrl, webhookCaPem), { timeoutMs, process: webhook });

    log('registering the webhook configurations');
    const { mutating, validating } = webhookConfigurations({ url: webhookUrl }, webhookCaPem);
    await kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, ['apply', '-f', '-'], `${stringify(mutating)}---\n${stringify(validating)}`);
    await waitUntil('webhook registration', () => apiserverCallsWebhook(plane), { timeoutMs, process: webhook, intervalMs: 200 });
    log('Underpin installed');
    return { webhookUrl, webhookCaPem, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The API server picks up webhook configurations asynchronously; a server-side
 * dry run of a pool with a bad subnet tells when admission really reaches us.
 */
async function apiserverCallsWebhook(plane: LocalControlPlane): Promise<boolean> {
  const probe = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'underpin-registration-probe' },
    spec: { subnet: 'not-a-cidr' },
  };
  const result = await runKubectl(plane.binaries.kubectl, plane.kubeconfig, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(probe));
  return result.code !== 0 && result.stderr.includes('admission webhook "spider-resources.validate.underpin.dev" denied');
}
