// Informers for cluster-scoped custom resources: a cache fed by list+watch, started
// and kept running. client-node's informer stops for good on a watch or list error;
// this one reconnects after a pause (resuming from the last resourceVersion, or
// re-listing when that is too old), so a restarted apiserver does not leave the
// reconciler blind.
import { CustomObjectsApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { collectionPath, type ResourceKind } from './resources.js';

export interface InformerLog {
  warn(obj: object, msg: string): void;
}

export interface CustomObjectInformer {
  readonly kind: ResourceKind;
  /** Raw objects, validated by the consumer. */
  list(): readonly KubernetesObject[];
  get(name: string): KubernetesObject | undefined;
  onChange(handler: (event: 'add' | 'update' | 'delete', object: KubernetesObject) => void): void;
  /** Resolves after the first complete list; retries until then (or until stop()). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RECONNECT_DELAY_MS = 2000;

export function customObjectInformer(kubeConfig: KubeConfig, kind: ResourceKind, log: InformerLog): CustomObjectInformer {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { latestResourceVersion(): string } = makeInformer(
    kubeConfig,
    collectionPath(kind),
    () => api.listClusterCustomObject({ group: kind.group, version: kind.version, plural: kind.plural }),
  ) as never;
  let stopped = false;
  let synced = false;
  let failedSinceStart = false;
  let reconnect: NodeJS.Timeout | undefined;

  // The single restart path once synced; before that, start() below retries.
  const scheduleReconnect = () => {
    clearTimeout(reconnect);
    reconnect = setTimeout(() => {
      informer.start().catch((error: unknown) => {
        log.warn({ resource: kind.plural, err: error }, `restarting the ${kind.plural} watch failed`);
        scheduleReconnect();
      });
    }, RECONNECT_DELAY_MS);
  };

  informer.on('error', (error) => {
    if (stopped) return;
    failedSinceStart = true;
    log.warn({ resource: kind.plural, err: error }, `watching ${kind.plural} failed; reconnecting in ${RECONNECT_DELAY_MS} ms`);
    if (synced) scheduleReconnect();
  });

  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      reconnect = setTimeout(resolve, ms);
    });

  return {
    kind,
    list: () => informer.list(),
    get: (name) => informer.get(name),
    onChange(handler) {
      informer.on('add', (object) => handler('add', object));
      informer.on('update', (object) => handler('update', object));
      informer.on('delete', (object) => handler('delete', object));
    },
    async start() {
      while (!stopped) {
        failedSinceStart = false;
        try {
          // Lists, then opens the watch; a failed list leaves no resourceVersion.
          await informer.start();
        } catch (error) {
          failedSinceStart = true;
          log.warn({ resource: kind.plural, err: error }, `listing ${kind.plural} failed; retrying in ${RECONNECT_DELAY_MS} ms`);
        }
        if (informer.latestResourceVersion() !== '') {
          synced = true;
          // Listed, but the watch already broke: reconnect it from the cache's version.
          if (failedSinceStart) scheduleReconnect();
          return;
        }
        await sleep(RECONNECT_DELAY_MS);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(reconnect);
      wake?.();
      await informer.stop();
    },
  };
}
