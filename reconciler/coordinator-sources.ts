// Reads what SpiderCoordinator `default`'s status is made of (ipam/coordinator-status.ts
// decides): ServiceCIDR objects, kubeadm's ClusterConfiguration, the control plane's
// static pods, Calico's IPPools, Cilium's configuration and pools. A source the
// cluster lacks (404: CRD or API not installed) or that Underpin may not read (403)
// is absent, never an error: most clusters have neither Calico nor Cilium.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from '../kube/api-status.js';
import type { CoordinatorSources } from '../ipam/coordinator-status.js';

const SERVICE_CIDR = { group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs' };
const CALICO_IPPOOL = { group: 'crd.projectcalico.org', version: 'v1', plural: 'ippools' };
const CILIUM_POD_IPPOOL = { group: 'cilium.io', version: 'v2alpha1', plural: 'ciliumpodippools' };
const SYSTEM = 'kube-system';

export interface SourceLog {
  debug(obj: object, msg: string): void;
}

type Item = { spec?: Record<string, unknown> };

/** The value of a read, or undefined when the cluster has no such thing (404) or refuses to show it (403). */
async function optional<T>(what: string, read: Promise<T>, log: SourceLog): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    const status = apiStatus(error);
    if (status === 404 || status === 403) {
      log.debug({ source: what, status }, 'coordinator status source absent');
      return undefined;
    }
    throw new Error(`reading ${what}: ${(error as Error).message}`, { cause: error });
  }
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

export class CoordinatorSourceReader {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, private readonly log: SourceLog) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private async items(ref: { group: string; version: string; plural: string }): Promise<Item[] | undefined> {
    const list = await optional(`${ref.plural}.${ref.group}`, this.custom.listClusterCustomObject(ref) as Promise<{ items?: Item[] }>, this.log);
    return list === undefined ? undefined : (list.items ?? []);
  }

  /** Everything but the nodes' podCIDRs, which the reconciler's node cache already holds. */
  async read(nodePodCIDRs: string[]): Promise<CoordinatorSources> {
    const configMap = (name: string) => optional(`configmap ${SYSTEM}/${name}`, this.core.readNamespacedConfigMap({ namespace: SYSTEM, name }), this.log);
    const [serviceCIDRs, kubeadm, controlPlane, calico, cilium, ciliumPools] = await Promise.all([
      this.items(SERVICE_CIDR),
      configMap('kubeadm-config'),
      optional('control plane pods', this.core.listNamespacedPod({ namespace: SYSTEM, labelSelector: 'component in (kube-controller-manager,kube-apiserver)' }), this.log),
      this.items(CALICO_IPPOOL),
      configMap('cilium-config'),
      this.items(CILIUM_POD_IPPOOL),
    ]);
    const controlPlaneArgs = (controlPlane?.items ?? []).flatMap((pod) => (pod.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]));
    const ciliumPoolCIDRs = ciliumPools?.flatMap((pool) => {
      const spec = pool.spec ?? {};
      return [...strings((spec.ipv4 as Item['spec'])?.cidrs), ...strings((spec.ipv6 as Item['spec'])?.cidrs)];
    });
    return {
      ...(serviceCIDRs ? { serviceCIDRObjects: serviceCIDRs.flatMap((s) => strings(s.spec?.cidrs)) } : {}),
      ...(kubeadm?.data?.ClusterConfiguration !== undefined ? { kubeadmClusterConfiguration: kubeadm.data.ClusterConfiguration } : {}),
      controlPlaneArgs,
      nodePodCIDRs,
      ...(calico ? { calicoPools: calico.filter((p) => p.spec?.disabled !== true).flatMap((p) => (typeof p.spec?.cidr === 'string' ? [p.spec.cidr] : [])) } : {}),
      ...(cilium ? { ciliumConfig: cilium.data ?? {} } : {}),
      ...(ciliumPoolCIDRs ? { ciliumPodIPPools: ciliumPoolCIDRs } : {}),
    };
  }
}
