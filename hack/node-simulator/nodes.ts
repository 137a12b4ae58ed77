// Node objects for simulated nodes: registered and reported Ready the way a kubelet
// does, so the real scheduler places pods on them. The one way tests, benchmarks and
// the dev cluster make simulated nodes.
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Taint } from '@kubernetes/client-node';

export interface SimulatedNodeSpec {
  name: string;
  labels?: Record<string, string>;
}

// Added at registration until the node lifecycle controller sees Ready; removed at once so pods need not wait for it.
const STARTUP_TAINTS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
const RESOURCES = { cpu: '64', memory: '256Gi', pods: '500' };

const status = (code: number) => (error: unknown) => error instanceof ApiException && error.code === code;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Creates the Node (or reuses it), reports it Ready and lifts the start-up taints. */
export async function registerReadyNode(kubeConfig: KubeConfig, node: SimulatedNodeSpec): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const labels = { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', 'underpin.dev/simulated-node': 'true', ...node.labels };
  try {
    await core.createNode({ body: { metadata: { name: node.name, labels } } });
  } catch (error) {
    if (!status(409)(error)) throw new Error(`registering node ${node.name}: ${(error as Error).message}`);
    await core.patchNode({ name: node.name, body: { metadata: { labels } } }, mergePatch);
  }
  await reportReady(kubeConfig, node.name);
  await liftStartupTaints(core, node.name);
}

/** The kubelet's status report: Ready, with capacity; also the heartbeat that keeps it Ready. */
export async function reportReady(kubeConfig: KubeConfig, name: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const now = new Date();
  const condition = { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'Underpin node simulator', lastHeartbeatTime: now, lastTransitionTime: now };
  await core.patchNodeStatus({ name, body: { status: { capacity: RESOURCES, allocatable: RESOURCES, conditions: [condition] } } }, mergePatch);
}

async function liftStartupTaints(core: CoreV1Api, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await core.readNode({ name });
    const taints: V1Taint[] = current.spec?.taints ?? [];
    const kept = taints.filter((t) => !STARTUP_TAINTS.has(t.key));
    if (kept.length === taints.length) return;
    try {
      // resourceVersion: fail rather than overwrite a taint the lifecycle controller adds meanwhile.
      await core.patchNode({ name, body: { metadata: { resourceVersion: current.metadata?.resourceVersion }, spec: { taints: kept } } }, mergePatch);
      return;
    } catch (error) {
      if (!status(409)(error) || attempt >= 10) throw new Error(`removing the start-up taints of node ${name}: ${(error as Error).message}`);
    }
  }
}
