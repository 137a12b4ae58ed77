// Ready Node objects without a kubelet, so the real scheduler places pods on them:
// the node simulator's registration (hack/node-simulator/nodes.ts), for tests that
// need nodes but no pod networking.
import { registerReadyNode } from '../../hack/node-simulator/nodes.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import type { LocalCluster } from './local-cluster.js';

export async function createReadyNode(cluster: LocalCluster, name: string, labels: Record<string, string> = {}): Promise<void> {
  await registerReadyNode(loadKubeConfig(cluster.plane.kubeconfig), { name, labels });
}
