// A cluster-scoped resource kept in memory from a list+watch, each object validated
// with zod on arrival and turned into the view the caller needs. Malformed objects
// (written before Underpin, or by hand past the webhook) are logged and skipped.
import { CoreV1Api, CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { z } from 'zod';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

/** How to list and watch one resource type across all namespaces. */
export interface ListWatchSource {
  name: string;
  path: string;
  list(kubeConfig: KubeConfig): Promise<KubernetesListObject<KubernetesObject>>;
}

export function customResourceSource(ref: ResourceRef): ListWatchSource {
  const { group, version, plural } = ref;
  return {
    name: plural,
    path: `/apis/${group}/${version}/${plural}`,
    list: (kc) => kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group, version, plural }),
  };
}

export const NAMESPACES: ListWatchSource = {
  name: 'namespaces',
  path: '/api/v1/namespaces',
  list: (kc) => kc.makeApiClient(CoreV1Api).listNamespace(),
};

export const SPIDER_SUBNETS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidersubnets' };
export const SPIDER_IPPOOLS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools' };
export const SPIDER_RESERVED_IPS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderreservedips' };
export const IPCLAIMS: ResourceRef = { group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' };
export const NETWORK_ATTACHMENT_DEFINITIONS: ResourceRef = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };

const RESTART_DELAY_MS = 1000;

export class ResourceInformer<T, V> {
  /** Keyed by `namespace/name` for namespaced objects, by name otherwise. */
  private readonly views = new Map<string, V>();
  private readonly listeners: ((name: string, view: V | undefined) => void)[] = [];
  private stopped = false;
  private synced = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly source: ListWatchSource,
    private readonly schema: z.ZodType<T>,
    private readonly toView: (object: T) => V | undefined,
    private readonly log: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  values(): IterableIterator<V> {
    return this.views.values();
  }

  get(name: string): V | undefined {
    return this.views.get(name);
  }

  /** Called after every change with the object's new view (undefined when deleted). */
  onChange(listener: (name: string, view: V | undefined) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const informer = makeInformer<KubernetesObject>(this.kubeConfig, this.source.path, () => this.source.list(this.kubeConfig));
    const upsert = (object: KubernetesObject) => this.upsert(object);
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (object) => this.remove(keyOf(object)));
    informer.on('error', (error: unknown) => {
      if (this.stopped) return;
      this.log.warn({ err: error, resource: this.source.name }, 'watch failed; restarting');
      setTimeout(() => void informer.start().catch(() => {}), RESTART_DELAY_MS);
    });
    this.stopInformer = () => informer.stop();
    await informer.start();
    this.synced = true;
  }

  private stopInformer: () => Promise<void> = async () => {};

  async stop(): Promise<void> {
    this.stopped = true;
    await this.stopInformer();
  }

  private upsert(object: KubernetesObject): void {
    const name = keyOf(object);
    const parsed = this.schema.safeParse(object);
    const view = parsed.success ? this.toView(parsed.data) : undefined;
    if (!view) {
      this.log.warn({ resource: this.source.name, name, issues: parsed.success ? undefined : parsed.error.issues.slice(0, 3) }, 'ignoring malformed object');
      this.remove(name);
      return;
    }
    this.views.set(name, view);
    for (const listener of this.listeners) listener(name, view);
  }

  private remove(name: string): void {
    if (!this.views.delete(name)) return;
    for (const listener of this.listeners) listener(name, undefined);
  }
}

function keyOf(object: KubernetesObject): string {
  const { namespace, name = '' } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}
