// Informers: a cache fed by list+watch, started and kept running. client-node's
// informer stops for good on a watch or list error; this one reconnects after a pause
// (resuming from the last resourceVersion, or re-listing when that is too old), so a
// restarted apiserver does not leave the reconciler blind.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { collectionPath, type ResourceKind } from './resources.js';

export interface InformerLog {
  warn(obj: object, msg: string): void;
}

/** What to list and watch: a collection path, how to list it, and an optional label selector. */
export interface ListWatchSource {
  /** Plural resource name, for messages: "pods", "ipclaims". */
  readonly resource: string;
  readonly path: string;
  readonly labelSelector?: string;
  list(): Promise<KubernetesListObject<KubernetesObject>>;
}

export interface ResourceInformer {
  /** Raw objects, validated by the consumer; all namespaces unless one is given. */
  list(namespace?: string): readonly KubernetesObject[];
  get(name: string, namespace?: string): KubernetesObject | undefined;
  onChange(handler: (event: 'add' | 'update' | 'delete', object: KubernetesObject) => void): void;
  /** Resolves after the first complete list; retries until then (or until stop()). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CustomObjectInformer extends ResourceInformer {
  readonly kind: ResourceKind;
}

const RECONNECT_DELAY_MS = 2000;

/** A cluster-scoped custom resource. */
export function customObjectSource(kubeConfig: KubeConfig, kind: ResourceKind): ListWatchSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    resource: kind.plural,
    path: collectionPath(kind),
    list: () => api.listClusterCustomObject({ group: kind.group, version: kind.version, plural: kind.plural }) as Promise<KubernetesListObject<KubernetesObject>>,
  };
}

/** A namespaced custom resource, in all namespaces. */
export function namespacedCustomObjectSource(kubeConfig: KubeConfig, kind: ResourceKind): ListWatchSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    resource: kind.plural,
    path: collectionPath(kind),
    list: () => api.listCustomObjectForAllNamespaces({ group: kind.group, version: kind.version, plural: kind.plural }) as Promise<KubernetesListObject<KubernetesObject>>,
  };
}

/** Pods of all namespaces, optionally only those matching a label selector. */
export function podSource(kubeConfig: KubeConfig, labelSelector?: string): ListWatchSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    resource: 'pods',
    path: '/api/v1/pods',
    ...(labelSelector !== undefined ? { labelSelector } : {}),
    list: () => api.listPodForAllNamespaces(labelSelector !== undefined ? { labelSelector } : {}),
  };
}

export function statefulSetSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(AppsV1Api);
  return { resource: 'statefulsets', path: '/apis/apps/v1/statefulsets', list: () => api.listStatefulSetForAllNamespaces() };
}

export function resourceInformer(kubeConfig: KubeConfig, source: ListWatchSource, log: InformerLog): ResourceInformer {
  const informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { latestResourceVersion(): string } = makeInformer(
    kubeConfig,
    source.path,
    source.list,
    source.labelSelector,
  ) as never;
  const resource = source.resource;
  let stopped = false;
  let synced = false;
  let failedSinceStart = false;
  let reconnect: NodeJS.Timeout | undefined;

  // The single restart path once synced; before that, start() below retries.
  const scheduleReconnect = () => {
    clearTimeout(reconnect);
    reconnect = setTimeout(() => {
      informer.start().catch((error: unknown) => {
        log.warn({ resource, err: error }, `restarting the ${resource} watch failed`);
        scheduleReconnect();
      });
    }, RECONNECT_DELAY_MS);
  };

  informer.on('error', (error) => {
    if (stopped) return;
    failedSinceStart = true;
    log.warn({ resource, err: error }, `watching ${resource} failed; reconnecting in ${RECONNECT_DELAY_MS} ms`);
    if (synced) scheduleReconnect();
  });

  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      reconnect = setTimeout(resolve, ms);
    });

  return {
    list: (namespace) => informer.list(namespace),
    get: (name, namespace) => informer.get(name, namespace),
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
          log.warn({ resource, err: error }, `listing ${resource} failed; retrying in ${RECONNECT_DELAY_MS} ms`);
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

/** A cluster-scoped custom resource (pools, subnets, claims). */
export function customObjectInformer(kubeConfig: KubeConfig, kind: ResourceKind, log: InformerLog): CustomObjectInformer {
  return { kind, ...resourceInformer(kubeConfig, customObjectSource(kubeConfig, kind), log) };
}
