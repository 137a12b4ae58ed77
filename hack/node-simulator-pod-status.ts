// The status a kubelet reports for a pod whose containers all started: Running,
// Ready, with the pod's IPs (those of its eth0, as the runtime reports them).
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';

export function runningStatus(pod: V1Pod, podIPs: string[], now = new Date()): V1PodStatus {
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  return {
    ...pod.status,
    phase: 'Running',
    startTime: pod.status?.startTime ?? now,
    ...(podIPs.length > 0 ? { podIP: podIPs[0], podIPs: podIPs.map((ip) => ({ ip })) } : {}),
    conditions: [condition('PodScheduled'), condition('Initialized'), condition('ContainersReady'), condition('Ready')],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: now } },
    })),
  };
}

/** Already reported Running with exactly these IPs: nothing to write. */
export function reportsRunning(pod: V1Pod, podIPs: string[]): boolean {
  const current = (pod.status?.podIPs ?? []).map((p) => p.ip);
  return pod.status?.phase === 'Running' && current.join() === podIPs.join();
}
