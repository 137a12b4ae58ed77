// A cluster-scoped resource kept in memory from a list+watch, each object validated
// with zod on arrival and turned into the view the caller needs. Malformed objects
// (written before Underpin, or by hand past the webhook) are logged and skipped.
import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { z } from 'zod';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export const SPIDER_SUBNETS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidersubnets' };
export const SPIDER_IPPOOLS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools' };
export const SPIDER_RESERVED_IPS: ResourceRef = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderreservedips' };
export const IPCLAIMS: ResourceRef = { group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims' };

const RESTART_DELAY_MS = 1000;

export class ResourceInformer<T, V> {
  private readonly views = new Map<string, V>();
  private readonly listeners: ((name: string, view: V | undefined) => void)[] = [];
  private stopped = false;
  private synced = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly ref: ResourceRef,
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
    const api = this.kubeConfig.makeApiClient(CustomObjectsApi);
    const { group, version, plural } = this.ref;
    const informer = makeInformer<KubernetesObject>(this.kubeConfig, `/apis/${group}/${version}/${plural}`, () =>
      api.listClusterCustomObject({ group, version, plural }),
    );
    const upsert = (object: KubernetesObject) => this.upsert(object);
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', (object) => this.remove(object.metadata?.name ?? ''));
    informer.on('error', (error: unknown) => {
      if (this.stopped) return;
      this.log.warn({ err: error, resource: plural }, 'watch failed; restarting');
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
    const name = object.metadata?.name ?? '';
    const parsed = this.schema.safeParse(object);
    const view = parsed.success ? this.toView(parsed.data) : undefined;
    if (!view) {
      this.log.warn({ resource: this.ref.plural, name, issues: parsed.success ? undefined : parsed.error.issues.slice(0, 3) }, 'ignoring malformed object');
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
