// List+watch of one resource type, kept running: the one informer the webhook's and
// the reconciler's caches are built on. client-node's informer stops for good on a
// watch or list error; this one reconnects after a pause (resuming from the last
// resourceVersion, or re-listing when that is too old), and retries its first list, so
// an apiserver that is down or restarting does not leave a cache blind.
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

/** A custom resource's coordinates (the API group it is served from, and its plural). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export const collectionPath = (ref: ResourceRef): string => `/apis/${ref.group}/${ref.version}/${ref.plural}`;

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

export interface ListWatch {
  /** Plural resource name, for messages. */
  readonly resource: string;
  /** Raw objects, validated by the consumer; all namespaces unless one is given. */
  list(namespace?: string): readonly KubernetesObject[];
  get(name: string, namespace?: string): KubernetesObject | undefined;
  onChange(handler: (event: 'add' | 'update' | 'delete', object: KubernetesObject) => void): void;
  /** Resolves after the first complete list; retries until then (or until stop()). Shared: every start() needs its stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RECONNECT_DELAY_MS = 2000;

/**
 * A custom resource across the cluster: a cluster-scoped one, or a namespaced one in
 * every namespace (both are the collection /apis/{group}/{version}/{plural}).
 */
export function customObjectSource(kubeConfig: KubeConfig, kind: ResourceRef): ListWatchSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    resource: kind.plural,
    path: collectionPath(kind),
    list: () => api.listClusterCustomObject({ group: kind.group, version: kind.version, plural: kind.plural }) as Promise<KubernetesListObject<KubernetesObject>>,
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

export function namespaceSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { resource: 'namespaces', path: '/api/v1/namespaces', list: () => api.listNamespace() };
}

export function statefulSetSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(AppsV1Api);
  return { resource: 'statefulsets', path: '/apis/apps/v1/statefulsets', list: () => api.listStatefulSetForAllNamespaces() };
}

export function listWatch(kubeConfig: KubeConfig, source: ListWatchSource, log: InformerLog): ListWatch {
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

  let users = 0;
  let starting: Promise<void> | undefined;
  const run = async () => {
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
  };

  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      reconnect = setTimeout(resolve, ms);
    });

  return {
    resource,
    list: (namespace) => informer.list(namespace),
    get: (name, namespace) => informer.get(name, namespace),
    onChange(handler) {
      informer.on('add', (object) => handler('add', object));
      informer.on('update', (object) => handler('update', object));
      informer.on('delete', (object) => handler('delete', object));
    },
    // Several controllers may share one list+watch: the first start() runs it, the
    // others wait for the same sync; it stops when the last of them stops.
    start() {
      users++;
      return (starting ??= run());
    },
    async stop() {
      if (users > 0 && --users > 0) return;
      stopped = true;
      clearTimeout(reconnect);
      wake?.();
      await informer.stop();
    },
  };
}
