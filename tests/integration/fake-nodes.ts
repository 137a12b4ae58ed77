// Ready Node objects without a kubelet, so the real scheduler places pods on them.
import type { LocalCluster } from './local-cluster.js';

export async function createReadyNode(cluster: LocalCluster, name: string, labels: Record<string, string> = {}): Promise<void> {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } };
  const created = await cluster.kubectl(['create', '-f', '-'], JSON.stringify(node));
  if (created.code !== 0) throw new Error(`creating node ${name}: ${created.stderr}`);
  const resources = { cpu: '16', memory: '64Gi', pods: '500' };
  const status = {
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
    },
  };
  const patched = await cluster.kubectl(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  if (patched.code !== 0) throw new Error(`marking node ${name} Ready: ${patched.stderr}`);
  // Nodes start with the not-ready taint until the lifecycle controller sees Ready; remove it now.
  await cluster.kubectl(['taint', 'node', name, 'node.kubernetes.io/not-ready-', 'node.kubernetes.io/unreachable-']);
}
