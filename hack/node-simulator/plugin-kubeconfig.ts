// The kubeconfig Underpin's CNI plugins use on a simulated node, made the way the
// installer makes it on a real one: the `underpin-cni` ServiceAccount of
// manifests/cni/rbac.yaml (get pods and ipclaims, nothing else) and a token for it.
// So every simulated CNI ADD also checks that the plugins need no more than that
// read-only role (DESIGN.md invariant 5: the CNI plugin never writes to the API).
import { CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../repo-paths.js';
import { apiStatus } from '../../kube/api-status.js';

const RBAC_MANIFEST = repoPath('manifests', 'cni', 'rbac.yaml');
const SERVICE_ACCOUNT = { namespace: 'underpin-system', name: 'underpin-cni' };
const TOKEN_SECONDS = 24 * 3600;
const REFRESH_MS = 3600 * 1000;

export class PluginKubeconfig {
  readonly path: string;
  private readonly tokenFile: string;
  private refresher: NodeJS.Timeout | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    dir: string,
  ) {
    this.path = join(dir, 'underpin-cni.kubeconfig');
    this.tokenFile = join(dir, 'underpin-cni.token');
  }

  /** Applies the CNI role, writes the kubeconfig and a fresh token, and renews the token hourly. */
  async start(): Promise<void> {
    await applyCniRbac(this.kubeConfig);
    await this.writeToken();
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the node simulator\'s kubeconfig has no current cluster');
    const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cluster', cluster: { server: cluster.server, ...(ca ? { 'certificate-authority-data': ca } : {}) } }],
      // tokenFile: the plugin reads it at every call, so a renewed token needs no new kubeconfig.
      users: [{ name: 'underpin-cni', user: { tokenFile: this.tokenFile } }],
      contexts: [{ name: 'underpin-cni', context: { cluster: 'cluster', user: 'underpin-cni' } }],
      'current-context': 'underpin-cni',
    };
    writeFileSync(this.path, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
    this.refresher = setInterval(() => void this.writeToken().catch(() => {}), REFRESH_MS);
    this.refresher.unref();
  }

  stop(): void {
    clearInterval(this.refresher);
  }

  private async writeToken(): Promise<void> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    const request = await core.createNamespacedServiceAccountToken({ ...SERVICE_ACCOUNT, body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } } });
    const token = request.status?.token;
    if (!token) throw new Error(`the API returned no token for ServiceAccount ${SERVICE_ACCOUNT.namespace}/${SERVICE_ACCOUNT.name}`);
    writeFileSync(this.tokenFile, token, { mode: 0o600 });
  }
}

/** Creates the objects of manifests/cni/rbac.yaml that do not exist yet. */
async function applyCniRbac(kubeConfig: KubeConfig): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const objects = parseAllDocuments(readFileSync(RBAC_MANIFEST, 'utf8'))
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
  for (const object of objects) {
    try {
      await client.create(object);
    } catch (error) {
      if (apiStatus(error) === 409) continue;
      const what = `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`;
      const hint = apiStatus(error) === 404 ? ' (is Underpin installed? the underpin-system namespace comes with it)' : '';
      throw new Error(`creating ${what} from ${RBAC_MANIFEST}: ${(error as Error).message}${hint}`);
    }
  }
}
