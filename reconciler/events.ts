// Kubernetes Events about the objects the reconciler waits on, so that `kubectl
// describe` says why a deletion hangs. Throttled per object: a controller re-checks
// often, and a user needs the reason, not one Event per re-check.
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';

export const REPORTING_COMPONENT = 'underpin-reconciler';

/** Allows one emission per key per interval. */
export class EventThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True (and remembered) when `key` may emit now. */
  tryTake(key: string): boolean {
    const now = this.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }

  /** The object is gone: forget it, so a same-named successor is not muted. */
  forget(key: string): void {
    this.last.delete(key);
  }
}

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
}

export interface EventToRecord {
  involved: InvolvedObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** client-go's naming: object name and a hex timestamp, kept within the name limit. */
export function eventName(objectName: string, nowMs: number): string {
  return `${objectName.slice(0, 230)}.${(BigInt(nowMs) * 1_000_000n).toString(16)}`;
}

/** A core/v1 Event. Cluster-scoped objects get theirs in "default", as client-go does. */
export function buildEvent(event: EventToRecord, instance: string, now: Date): CoreV1Event {
  const namespace = event.involved.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(event.involved.name, now.getTime()), namespace },
    involvedObject: { ...event.involved },
    type: event.type,
    reason: event.reason,
    // The API rejects longer messages; ours are cut before, this is the backstop.
    message: event.message.length > 1024 ? `${event.message.slice(0, 1021)}...` : event.message,
    source: { component: REPORTING_COMPONENT },
    reportingComponent: REPORTING_COMPONENT,
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export class EventRecorder {
  private readonly api: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly instance: string,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  async record(event: EventToRecord): Promise<void> {
    const body = buildEvent(event, this.instance, new Date());
    await this.api.createNamespacedEvent({ namespace: body.metadata.namespace!, body });
  }
}
