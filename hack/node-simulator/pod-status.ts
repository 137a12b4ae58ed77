// What a kubelet tells the API about a pod: the status once its containers all
// started (Running, Ready, with the IPs of its eth0, as the runtime reports them), the
// status once they all stopped, and that a terminating pod whose containers stopped
// may go.
import type { CoreV1Api, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { apiStatus } from '../../kube/api-status.js';

/** Delete a terminating pod now (grace 0), this one only (its UID); gone already or another pod by now is fine. */
export async function removeStoppedPod(core: CoreV1Api, name: string, namespace: string, uid: string): Promise<void> {
  // The grace period goes in the body: the API server ignores query parameters when there is one.
  await core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } }).catch((error: unknown) => {
    if (!(apiStatus(error) === 404 || apiStatus(error) === 409)) throw error;
  });
}

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

/**
 * Every container terminated and the pod no longer Ready: what a kubelet reports of a
 * deleted pod once it killed its containers. The phase is left as it was, as kubelets
 * before 1.27 left it (newer ones also set Failed or Succeeded, which tells the same
 * more bluntly): this is the report that tells whoever waits on a pod a finalizer
 * holds that it no longer runs.
 */
export function stoppedStatus(pod: V1Pod, now = new Date()): V1PodStatus {
  const condition = (type: string, status: 'True' | 'False') => ({ type, status, lastTransitionTime: now });
  const previous = new Map((pod.status?.containerStatuses ?? []).map((c) => [c.name, c]));
  return {
    ...pod.status,
    conditions: [condition('PodScheduled', 'True'), condition('Initialized', 'True'), condition('ContainersReady', 'False'), condition('Ready', 'False')],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => {
      const startedAt = previous.get(c.name)?.state?.running?.startedAt ?? now;
      return {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: previous.get(c.name)?.restartCount ?? 0,
        started: false,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: now } },
      };
    }),
  };
}

/** Every container reported terminated already: nothing to write. */
export function reportsStopped(pod: V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((c) => c.state?.terminated != null);
}

/** Already reported Running with exactly these IPs: nothing to write. */
export function reportsRunning(pod: V1Pod, podIPs: string[]): boolean {
  const current = (pod.status?.podIPs ?? []).map((p) => p.ip);
  return pod.status?.phase === 'Running' && current.join() === podIPs.join();
}
