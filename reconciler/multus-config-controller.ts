// Controller: one NetworkAttachmentDefinition per SpiderMultusConfig, rendered from it
// (multus-config-plan.ts decides), as upstream's multuscniconfig controller keeps them.
// The NAD carries a controller ownerReference to its smc, so Kubernetes' garbage
// collector removes it with the smc; the controller also deletes it itself once the
// smc is gone (the NAD goes at once, also where the garbage collector lags), and
// repairs any edit of it. A NAD of that name it did not make is never written: a
// Warning Event on the smc says which and how to fix it, and the smc is looked at
// again when that NAD changes or goes. Runs in the leader only (reconciler/main.ts).
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { networkNameOf } from '../ipam/multus-config/spider-multus-config.js';
import { apiStatus } from '../kube/api-status.js';
import { customObjectSource, listWatch } from '../kube/list-watch.js';
import { ResourceCache } from '../kube/resource-cache.js';
import { apiVersionOf, customObject, NETWORK_ATTACHMENT_DEFINITION, SPIDER_MULTUS_CONFIG } from '../kube/resources.js';
import { EventThrottle, type EventToRecord } from './events.js';
import type { ReconcilerMetrics } from './metrics.js';
import { controllingMultusConfig, MultusConfigRecord, NetworkRecord, planNetwork, type NetworkBody } from './multus-config-plan.js';
import { ResyncLoop } from './resync-loop.js';
import { WorkQueue } from './work-queue.js';

export interface MultusConfigControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  metrics: ReconcilerMetrics;
  recordEvent: (event: EventToRecord) => Promise<void>;
  resyncMs: number;
}

/** smcs by the NAD they render (`namespace/network`). */
const BY_NETWORK = 'network';
/** NADs by their controlling smc (`namespace/smc-name`). */
const BY_CONTROLLER = 'controller';
const BY_UID = 'uid';
/** A NAD that stays in the way is reported again at most this often. */
const EVENT_INTERVAL_MS = 10 * 60_000;
const WAIT_MS = 2000;

const NAD = customObject(NETWORK_ATTACHMENT_DEFINITION);

export class MultusConfigController {
  readonly configs: ResourceCache<MultusConfigRecord>;
  readonly networks: ResourceCache<NetworkRecord>;
  private readonly api: CustomObjectsApi;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly loop: ResyncLoop;
  private readonly throttle = new EventThrottle(EVENT_INTERVAL_MS);

  constructor(private readonly options: MultusConfigControllerOptions) {
    const { kubeConfig } = options;
    this.log = options.log.child({ controller: 'multus-configs' });
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    const cache = <T>(kind: typeof SPIDER_MULTUS_CONFIG, schema: import('zod').ZodType<T>) =>
      new ResourceCache(listWatch(kubeConfig, customObjectSource(kubeConfig, kind), this.log), schema, kind.kind, this.log);
    this.configs = cache(SPIDER_MULTUS_CONFIG, MultusConfigRecord)
      .addIndex(BY_NETWORK, (smc) => [`${smc.metadata.namespace}/${networkNameOf(smc)}`])
      .addIndex(BY_UID, (smc) => [smc.metadata.uid]);
    this.networks = cache(NETWORK_ATTACHMENT_DEFINITION, NetworkRecord).addIndex(BY_CONTROLLER, (nad) => {
      const owner = controllingMultusConfig(nad);
      return owner ? [`${nad.metadata.namespace}/${owner.name}`] : [];
    });
    this.queue = new WorkQueue((key) => options.metrics.time('multus-configs', () => this.reconcile(key)), {
      workers: 2,
      onError: (key, error, retryInMs) => this.log.warn({ key, err: error, retryInMs }, `rendering the NetworkAttachmentDefinition of SpiderMultusConfig ${key} failed; retrying`),
    });
    this.loop = new ResyncLoop(this.queue, options.resyncMs, () => this.enqueueAll());
    this.configs.onChange((key) => this.loop.synced && this.queue.add(key));
    // A NAD that changes or goes: the smc that renders that name, and the one that controls it.
    this.networks.onChange((key, current, previous) => {
      if (!this.loop.synced) return;
      for (const smc of this.configs.byIndex(BY_NETWORK, key)) this.queue.add(`${smc.metadata.namespace}/${smc.metadata.name}`);
      for (const nad of [current, previous]) {
        const owner = nad && controllingMultusConfig(nad);
        if (owner) this.queue.add(`${nad.metadata.namespace}/${owner.name}`);
      }
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.configs.start(), this.networks.start()]);
    this.loop.run();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all([this.configs.stop(), this.networks.stop()]);
  }

  /** Resolves once nothing is queued (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private enqueueAll(): void {
    for (const key of this.configs.keys()) this.queue.add(key);
    // smcs that are gone but whose NADs are still here.
    for (const key of this.networks.indexValues(BY_CONTROLLER)) this.queue.add(key);
  }

  private async reconcile(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const smc = this.configs.get(key);
    const live = smc && !smc.metadata.deletionTimestamp ? smc : undefined;
    // NADs this smc name controls but should not: the smc is gone, is a new object of
    // the same name, or renders another name now.
    const target = live ? `${namespace}/${networkNameOf(live)}` : undefined;
    for (const nad of this.networks.byIndex(BY_CONTROLLER, key)) {
      const owner = controllingMultusConfig(nad)!;
      const nadKey = `${nad.metadata.namespace}/${nad.metadata.name}`;
      const current = live && owner.uid === live.metadata.uid;
      if ((current && nadKey === target) || (!current && this.isLive(owner.uid))) continue;
      if (!current && nadKey === target) continue; // replaced below, after the plan says so
      await this.deleteNetwork(nad.metadata.namespace, nad.metadata.name, nad.metadata.uid);
    }
    if (!live) return;
    const existing = this.networks.get(target!);
    const plan = planNetwork(live, existing, (uid) => this.isLive(uid));
    const nadName = networkNameOf(live);
    switch (plan.action) {
      case 'none':
        return;
      case 'create':
        return this.create(plan.body);
      case 'update':
        return this.update(namespace, nadName, plan);
      case 'wait':
        this.log.debug({ smc: key }, plan.reason);
        this.queue.addAfter(key, WAIT_MS);
        return;
      case 'replace-stale':
        await this.deleteNetwork(namespace, nadName, plan.uid);
        this.queue.addAfter(key, WAIT_MS);
        return;
      case 'foreign':
        this.log.warn({ smc: key, nad: target }, plan.message);
        return this.warn(live, plan.reason, plan.message);
      case 'invalid':
        this.log.warn({ smc: key }, plan.message);
        return this.warn(live, 'InvalidSpiderMultusConfig', plan.message);
    }
  }

  private isLive(uid: string): boolean {
    return this.configs.byIndex(BY_UID, uid).some((smc) => !smc.metadata.deletionTimestamp);
  }

  private async warn(smc: MultusConfigRecord, reason: string, message: string): Promise<void> {
    const { name, namespace, uid } = smc.metadata;
    if (!this.throttle.tryTake(`${namespace}/${name}/${reason}/${message}`)) return;
    try {
      await this.options.recordEvent({ involved: { apiVersion: apiVersionOf(SPIDER_MULTUS_CONFIG), kind: SPIDER_MULTUS_CONFIG.kind, name, namespace, uid }, type: 'Warning', reason, message });
    } catch (error) {
      // The Event is for people; the next resync tries again.
      this.throttle.forget(`${namespace}/${name}/${reason}/${message}`);
      this.log.warn({ err: error, smc: `${namespace}/${name}` }, 'could not record the Event');
    }
  }

  private async create(body: NetworkBody): Promise<void> {
    const { namespace, name } = body.metadata;
    try {
      await this.api.createNamespacedCustomObject({ ...NAD, namespace, body });
    } catch (error) {
      // 409: one appeared meanwhile; its watch event brings this smc back to look at it.
      if (apiStatus(error) === 409) return;
      throw new Error(`creating NetworkAttachmentDefinition ${namespace}/${name}: ${(error as Error).message}`, { cause: error });
    }
    this.log.info({ nad: `${namespace}/${name}`, smc: body.metadata.ownerReferences[0]!.name }, 'NetworkAttachmentDefinition created');
  }

  private async update(namespace: string, name: string, plan: Extract<ReturnType<typeof planNetwork>, { action: 'update' }>): Promise<void> {
    // Tested against uid and resourceVersion: a NAD replaced or edited since the cache saw it is looked at again, not overwritten blind.
    const patch = [
      { op: 'test', path: '/metadata/uid', value: plan.uid },
      ...(plan.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: plan.resourceVersion }] : []),
      { op: 'add', path: '/metadata/annotations', value: plan.annotations },
      { op: 'add', path: '/spec', value: plan.spec },
    ];
    try {
      await this.api.patchNamespacedCustomObject({ ...NAD, namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    } catch (error) {
      throw new Error(`updating NetworkAttachmentDefinition ${namespace}/${name} to its SpiderMultusConfig: ${(error as Error).message}`, { cause: error });
    }
    this.log.info({ nad: `${namespace}/${name}` }, 'NetworkAttachmentDefinition set back to what its SpiderMultusConfig renders');
  }

  private async deleteNetwork(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...NAD, namespace, name, body: { preconditions: { uid } } });
    } catch (error) {
      const status = apiStatus(error);
      // 404: gone already; 409: a new NAD of that name, not the one meant.
      if (status === 404 || status === 409) return;
      throw new Error(`deleting NetworkAttachmentDefinition ${namespace}/${name}: ${(error as Error).message}`, { cause: error });
    }
    this.log.info({ nad: `${namespace}/${name}` }, 'NetworkAttachmentDefinition of a SpiderMultusConfig that is gone deleted');
  }
}
