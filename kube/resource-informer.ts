// A cluster-scoped resource kept in memory from a list+watch, each object validated
// with zod on arrival and turned into the view the caller needs. Malformed objects
// (written before Underpin, or by hand past the webhook) are logged and skipped.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ListWatch, ResourceRef } from './list-watch.js';

export const SPIDER_SUBNETS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidersubnets' };
export const SPIDER_IPPOOLS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools' };
export const SPIDER_RESERVED_IPS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderreservedips' };
export const IPCLAIMS: ResourceRef = { group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' };
export const NETWORK_ATTACHMENT_DEFINITIONS: ResourceRef = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };

export class ResourceInformer<T, V> {
  /** Keyed by `namespace/name` for namespaced objects, by name otherwise. */
  private readonly views = new Map<string, V>();
  private readonly listeners: ((name: string, view: V | undefined, previous: V | undefined) => void)[] = [];
  private synced = false;

  /** `source` may be shared with other caches: start() and stop() are counted. */
  constructor(
    private readonly source: ListWatch,
    private readonly schema: z.ZodType<T>,
    private readonly toView: (object: T) => V | undefined,
    private readonly log: Logger,
  ) {
    this.source.onChange((event, object) => (event === 'delete' ? this.remove(keyOf(object)) : this.upsert(object)));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  values(): IterableIterator<V> {
    return this.views.values();
  }

  get(name: string): V | undefined {
    return this.views.get(name);
  }

  /**
   * The cached view, or, when the cache has not seen the object (created a moment
   * ago, the watch event still on its way), the view of the object `read` returns
   * now (undefined: it does not exist). What was read is not cached: the watch stays
   * the cache's only writer, so a read cannot bring back an object deleted since.
   */
  async getOrRead(name: string, read: () => Promise<unknown>): Promise<V | undefined> {
    const cached = this.views.get(name);
    if (cached !== undefined) return cached;
    const object = await read();
    if (object === undefined) return undefined;
    const parsed = this.schema.safeParse(object);
    return parsed.success ? this.toView(parsed.data) : undefined;
  }

  /** Called after every change with the object's new view (undefined when deleted) and the one it replaced. */
  onChange(listener: (name: string, view: V | undefined, previous: V | undefined) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves after the first complete list (retried until the API server answers). */
  async start(): Promise<void> {
    await this.source.start();
    this.synced = true;
  }

  async stop(): Promise<void> {
    await this.source.stop();
  }

  private upsert(object: KubernetesObject): void {
    const name = keyOf(object);
    const parsed = this.schema.safeParse(object);
    const view = parsed.success ? this.toView(parsed.data) : undefined;
    if (!view) {
      this.log.warn({ resource: this.source.resource, name, issues: parsed.success ? undefined : parsed.error.issues.slice(0, 3) }, 'ignoring malformed object');
      this.remove(name);
      return;
    }
    const previous = this.views.get(name);
    this.views.set(name, view);
    for (const listener of this.listeners) listener(name, view, previous);
  }

  private remove(name: string): void {
    const previous = this.views.get(name);
    if (previous === undefined) return;
    this.views.delete(name);
    for (const listener of this.listeners) listener(name, undefined, previous);
  }
}

function keyOf(object: KubernetesObject): string {
  const { namespace, name = '' } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}
