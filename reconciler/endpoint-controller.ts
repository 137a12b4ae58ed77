// Controller: one SpiderEndpoint per pod with a binding, as Spiderpool keeps them
// (endpoint-record.ts decides what it holds). Created with an ownerReference to the
// pod, so Kubernetes' garbage collector removes it with the pod; its status written
// through the /status subresource (the CRD has one: a create drops .status).
import { ResyncLoop } from './resync-loop.js';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterCaches } from './cluster-caches.js';
import { planEndpoint, type EndpointStatus, type PodOwnerReference } from './endpoint-record.js';
import type { ReconcilerMetrics } from './metrics.js';
import { SPIDER_ENDPOINT } from '../kube/resources.js';
import { WorkQueue } from './work-queue.js';
import { apiStatus } from '../kube/api-status.js';

export interface EndpointControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  caches: ClusterCaches;
  metrics: ReconcilerMetrics;
  resyncMs: number;
}

export const ENDPOINT_MANAGED_BY = { 'app.kubernetes.io/managed-by': 'underpin' } as const;


const KIND = { group: SPIDER_ENDPOINT.group, version: SPIDER_ENDPOINT.version, plural: SPIDER_ENDPOINT.plural };

export class EndpointController {
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly loop: ResyncLoop;
  /**
   * Endpoints whose status we wrote, with the resourceVersion we wrote over (the
   * status-less one of a create): while the cache still shows that version, our write
   * is on its way, and planning from it would only write the same status again.
   */
  private readonly wroteOver = new Map<string, string>();

  constructor(private readonly options: EndpointControllerOptions) {
    this.log = options.log.child({ controller: 'endpoints' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.queue = new WorkQueue((key) => options.metrics.time('endpoints', () => this.reconcile(key)), {
      workers: 4,
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `keeping SpiderEndpoint ${key} failed; retrying`),
    });
    this.loop = new ResyncLoop(this.queue, options.resyncMs, () => this.enqueueAll());
    // Same key for a pod and its endpoint: `namespace/name`.
    options.caches.pods.onChange((key) => this.loop.synced && this.queue.add(key));
    options.caches.endpoints.onChange((key, current) => {
      if (!current) this.wroteOver.delete(key);
      if (this.loop.synced) this.queue.add(key);
    });
  }

  run(): void {
    this.loop.run();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private enqueueAll(): void {
    for (const key of this.options.caches.pods.keys()) this.queue.add(key);
    for (const key of this.options.caches.endpoints.keys()) this.queue.add(key);
  }

  private async reconcile(key: string): Promise<void> {
    const { caches } = this.options;
    const pod = caches.pods.get(key);
    const endpoint = caches.endpoints.get(key);
    const pending = this.wroteOver.get(key);
    if (pending !== undefined && endpoint?.metadata.resourceVersion === pending) return; // the next event brings our write
    this.wroteOver.delete(key);
    const plan = planEndpoint(pod, endpoint);
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    switch (plan.action) {
      case 'none':
        return;
      case 'create':
        return this.create(namespace, name, plan.ownerReference, plan.status);
      case 'adopt': {
        const meta = endpoint!.metadata;
        const patch = [
          ...(meta.uid ? [{ op: 'test', path: '/metadata/uid', value: meta.uid }] : []),
          ...(meta.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion }] : []),
          { op: 'add', path: '/metadata/ownerReferences', value: [plan.ownerReference] },
        ];
        try {
          await this.api.patchNamespacedCustomObject({ ...KIND, namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
        } catch (error) {
          // The garbage collector took the earlier pod's endpoint first: make a new one.
          if (apiStatus(error) === 404) return this.create(namespace, name, plan.ownerReference, plan.status);
          throw new Error(`taking over SpiderEndpoint ${key}: ${(error as Error).message}`, { cause: error });
        }
        await this.writeStatus(namespace, name, meta.uid, plan.status, undefined);
        this.log.debug({ endpoint: key }, 'SpiderEndpoint taken over from an earlier pod of that name');
        return;
      }
      case 'write-status':
        await this.writeStatus(namespace, name, endpoint!.metadata.uid, plan.status, endpoint!.metadata.resourceVersion);
        return;
      case 'delete':
        try {
          await this.api.deleteNamespacedCustomObject({
            ...KIND,
            namespace,
            name,
            body: { preconditions: endpoint!.metadata.uid ? { uid: endpoint!.metadata.uid } : {} },
          });
        } catch (error) {
          if (apiStatus(error) !== 404) throw new Error(`deleting SpiderEndpoint ${key}: ${(error as Error).message}`, { cause: error });
        }
        return;
    }
  }

  private async create(namespace: string, name: string, ownerReference: PodOwnerReference, desired: EndpointStatus): Promise<void> {
    let uid: string | undefined;
    let createdVersion: string | undefined;
    try {
      const created = (await this.api.createNamespacedCustomObject({
        ...KIND,
        namespace,
        body: {
          apiVersion: `${SPIDER_ENDPOINT.group}/${SPIDER_ENDPOINT.version}`,
          kind: SPIDER_ENDPOINT.kind,
          metadata: { name, namespace, labels: { ...ENDPOINT_MANAGED_BY }, ownerReferences: [ownerReference] },
        },
      })) as { metadata?: { uid?: string; resourceVersion?: string } };
      uid = created.metadata?.uid;
      createdVersion = created.metadata?.resourceVersion;
    } catch (error) {
      // 409: it exists and the cache has not caught up; the next try adopts or updates it.
      throw new Error(`creating SpiderEndpoint ${namespace}/${name}: ${(error as Error).message}`, { cause: error });
    }
    await this.writeStatus(namespace, name, uid, desired, createdVersion);
    this.log.debug({ endpoint: `${namespace}/${name}` }, 'SpiderEndpoint created');
  }

  /** `over`: the resourceVersion this write replaces, remembered until the cache moves past it. */
  private async writeStatus(namespace: string, name: string, uid: string | undefined, desired: EndpointStatus, over: string | undefined): Promise<void> {
    const patch = [...(uid ? [{ op: 'test', path: '/metadata/uid', value: uid }] : []), { op: 'add', path: '/status', value: desired }];
    try {
      await this.api.patchNamespacedCustomObjectStatus({ ...KIND, namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
      if (over !== undefined) this.wroteOver.set(`${namespace}/${name}`, over);
    } catch (error) {
      throw new Error(`writing the status of SpiderEndpoint ${namespace}/${name}: ${(error as Error).message}`, { cause: error });
    }
  }
}
