// List+watch of one resource type, kept running: the one reflector every cache of
// webhook and reconciler is fed by. It keeps no objects (the caches keep the views
// they read), only each object's resourceVersion, so that a relist after a broken
// watch announces what changed and what went while it was away. The list is a
// streaming one where the API server offers it, else read in pages: either way a
// cluster of 100,000 claims never sits in memory as one response. It
// reconnects after a pause (resuming from the last resourceVersion, or relisting
// when that is too old), and retries its first list, so an API server that is down
// or restarting does not leave a cache blind.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiStatus } from './api-status.js';
import { collectionPath } from './resources.js';

/** A custom resource's coordinates (the API group it is served from, and its plural). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}


/** `namespace/name` for namespaced objects, `name` otherwise: how every cache keys its objects. */
export function objectKey(object: { metadata?: { name?: string; namespace?: string | null } }): string {
  const { namespace, name = '' } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

export interface InformerLog {
  warn(obj: object, msg: string): void;
}

/** One page of a list: at most `limit` objects, from `continue` on. */
export interface ListPage {
  limit: number;
  continue?: string;
}

/** What to list and watch: a collection path, how to list it page by page, and optional selectors. */
export interface ListWatchSource {
  /** Plural resource name, for messages: "pods", "ipclaims". */
  readonly resource: string;
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  list(page: ListPage): Promise<KubernetesListObject<KubernetesObject>>;
}

export type ChangeEvent = 'add' | 'update' | 'delete';

export interface ListWatch {
  /** Plural resource name, for messages. */
  readonly resource: string;
  /**
   * Every change, in order: objects as the API sent them, minus managedFields and
   * kubectl's last-applied copy. A delete found by a relist carries only the name
   * and namespace.
   */
  onChange(handler: (event: ChangeEvent, object: KubernetesObject) => void): void;
  /** Resolves after the first complete list; retries until then (or until stop()). Shared: every start() needs its stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RECONNECT_DELAY_MS = 2000;
const PAGE_SIZE = 500;
/** The API server ends a watch after this (±50 %, so replicas do not reconnect together). */
const WATCH_TIMEOUT_SECONDS = 300;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** The annotation of the bookmark that ends a streaming list's initial events. */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** A watch refused for its sendInitialEvents (the WatchList gate off: 1.33, or before 1.32): list in pages instead. */
function refusesStreamingList(error: unknown): boolean {
  const status = (error as { statusCode?: number } | undefined)?.statusCode;
  return status === 400 || status === 422;
}

/**
 * A custom resource across the cluster: a cluster-scoped one, or a namespaced one in
 * every namespace (both are the collection /apis/{group}/{version}/{plural}).
 */
export function customObjectSource(kubeConfig: KubeConfig, kind: ResourceRef): ListWatchSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    resource: kind.plural,
    path: collectionPath(kind),
    list: (page) =>
      api.listClusterCustomObject({ group: kind.group, version: kind.version, plural: kind.plural, limit: page.limit, _continue: page.continue }) as Promise<
        KubernetesListObject<KubernetesObject>
      >,
  };
}

/** Pods of all namespaces, optionally only those matching a label and a field selector. */
export function podSource(kubeConfig: KubeConfig, selectors: { labelSelector?: string; fieldSelector?: string } = {}): ListWatchSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    resource: 'pods',
    path: '/api/v1/pods',
    ...selectors,
    list: (page) => api.listPodForAllNamespaces({ ...selectors, limit: page.limit, _continue: page.continue }),
  };
}

export function namespaceSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { resource: 'namespaces', path: '/api/v1/namespaces', list: (page) => api.listNamespace({ limit: page.limit, _continue: page.continue }) };
}

export function nodeSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { resource: 'nodes', path: '/api/v1/nodes', list: (page) => api.listNode({ limit: page.limit, _continue: page.continue }) };
}

export function statefulSetSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(AppsV1Api);
  return {
    resource: 'statefulsets',
    path: '/apis/apps/v1/statefulsets',
    list: (page) => api.listStatefulSetForAllNamespaces({ limit: page.limit, _continue: page.continue }),
  };
}

export function replicaSetSource(kubeConfig: KubeConfig): ListWatchSource {
  const api = kubeConfig.makeApiClient(AppsV1Api);
  return {
    resource: 'replicasets',
    path: '/apis/apps/v1/replicasets',
    list: (page) => api.listReplicaSetForAllNamespaces({ limit: page.limit, _continue: page.continue }),
  };
}

/** What no cache reads and every object may carry in bulk: dropped on arrival, as client-go's TransformStripManagedFields does. */
function prune(object: KubernetesObject): KubernetesObject {
  const metadata = object.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (metadata) {
    delete metadata.managedFields;
    if (metadata.annotations?.[LAST_APPLIED] !== undefined) delete metadata.annotations[LAST_APPLIED];
  }
  return object;
}

export interface ListWatchOptions {
  /** Try a streaming list before pages (default true; a server that refuses it gets pages anyway). */
  streamingList?: boolean;
}

export function listWatch(kubeConfig: KubeConfig, source: ListWatchSource, log: InformerLog, options: ListWatchOptions = {}): ListWatch {
  const resource = source.resource;
  const watcher = new Watch(kubeConfig);
  const handlers: ((event: ChangeEvent, object: KubernetesObject) => void)[] = [];
  /** key → resourceVersion of every object the handlers were told of. */
  const known = new Map<string, string>();
  let resourceVersion = '';
  let stopped = false;
  let current: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const emit = (event: ChangeEvent, object: KubernetesObject) => {
    for (const handler of handlers) handler(event, object);
  };

  /** An object as it is now: announced unless the handlers know this version already. */
  const observe = (object: KubernetesObject) => {
    const key = objectKey(object);
    const version = object.metadata?.resourceVersion ?? '';
    const had = known.get(key);
    if (had === version && version !== '') return;
    known.set(key, version);
    emit(had === undefined ? 'add' : 'update', prune(object));
  };

  /** One consistent list, page by page (every page is read at the first page's resourceVersion). */
  const relist = async () => {
    const seen = new Set<string>();
    let page: ListPage = { limit: PAGE_SIZE };
    for (;;) {
      let list: KubernetesListObject<KubernetesObject>;
      try {
        list = await source.list(page);
      } catch (error) {
        // The continue token expired between pages: start the list again.
        if (page.continue && apiStatus(error) === 410) {
          seen.clear();
          page = { limit: PAGE_SIZE };
          continue;
        }
        throw error;
      }
      for (const object of list.items) {
        seen.add(objectKey(object));
        observe(object);
      }
      // Typed lists (pods) carry the token as `_continue`, custom objects' raw JSON as `continue`.
      const next = list.metadata?._continue ?? (list.metadata as { continue?: string } | undefined)?.continue;
      if (!next) {
        resourceVersion = list.metadata?.resourceVersion ?? '';
        break;
      }
      page = { limit: PAGE_SIZE, continue: next };
    }
    forgetUnseen(seen);
  };

  /** After a complete list: what the handlers know and the list did not show is gone. */
  const forgetUnseen = (seen: ReadonlySet<string>) => {
    for (const key of [...known.keys()]) {
      if (seen.has(key)) continue;
      known.delete(key);
      const slash = key.indexOf('/');
      emit('delete', { metadata: slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) } });
    }
  };

  const later = (run: () => void, ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };

  /**
   * Watch from `resourceVersion`; when the watch ends, watch again, relisting first if
   * the version is gone. With `initial`, the watch is the list too (a streaming list):
   * it opens with every object, and the bookmark after them completes the sync.
   */
  const watch = (initial?: { synced: () => void; failed: (error: unknown) => void }) => {
    if (stopped) return;
    let gone = false;
    let events = 0;
    const opened = Date.now();
    const timeoutSeconds = Math.round(WATCH_TIMEOUT_SECONDS * (0.5 + Math.random()));
    const seen = initial ? new Set<string>() : undefined;
    const query = {
      ...(initial ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' } : { resourceVersion }),
      allowWatchBookmarks: true,
      timeoutSeconds,
      ...(source.labelSelector ? { labelSelector: source.labelSelector } : {}),
      ...(source.fieldSelector ? { fieldSelector: source.fieldSelector } : {}),
    };
    let listing = initial !== undefined;
    const onEvent = (type: string, object: KubernetesObject & { code?: number }) => {
      events++;
      if (type === 'ERROR') {
        // 410 Gone: our resourceVersion is older than the API server keeps.
        gone ||= object?.code === 410;
        return;
      }
      const version = object?.metadata?.resourceVersion;
      if (type === 'BOOKMARK') {
        if (version) resourceVersion = version;
        if (listing && object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') {
          listing = false;
          forgetUnseen(seen!);
          initial!.synced();
        }
        return;
      }
      if (listing && type === 'ADDED') seen!.add(objectKey(object));
      if (type === 'DELETED') {
        if (known.delete(objectKey(object))) emit('delete', prune(object));
      } else if (type === 'ADDED' || type === 'MODIFIED') {
        observe(object);
      }
      if (version) resourceVersion = version;
    };
    const onDone = (error: unknown) => {
      current = undefined;
      if (stopped) {
        if (listing) initial!.failed(new Error(`the ${resource} list-watch was stopped`));
        return;
      }
      // Ended before the list was complete: the caller decides (retry, or pages).
      if (listing) return initial!.failed(error ?? new Error(`the ${resource} watch ended before its initial events did`));
      if (gone) return later(resync, 0);
      if (error) log.warn({ resource, err: error }, `watching ${resource} failed; reconnecting in ${RECONNECT_DELAY_MS} ms`);
      // A watch that ends at once with nothing said is refused or broken: do not spin.
      const quiet = events === 0 && Date.now() - opened < 1000;
      later(watch, error || quiet ? RECONNECT_DELAY_MS : 0);
    };
    watcher.watch(source.path, query, onEvent, onDone).then(
      (controller) => {
        if (stopped) controller.abort();
        else current = controller;
      },
      onDone,
    );
  };

  /**
   * One complete sync, with the watch running after it: a streaming list while the
   * API server serves them (WatchList, on by default since Kubernetes 1.34; from its
   * watch cache, much faster than pages read from etcd), else a paged list.
   */
  let streaming = options.streamingList ?? true;
  const sync = async () => {
    if (streaming) {
      try {
        await new Promise<void>((synced, failed) => watch({ synced, failed }));
        return;
      } catch (error) {
        if (!refusesStreamingList(error)) throw error;
        streaming = false;
        log.warn({ resource, err: error }, `the API server does not stream lists of ${resource} (WatchList); listing in pages`);
      }
    }
    await relist();
    watch();
  };

  const resync = () => {
    if (stopped) return;
    sync().catch((error: unknown) => {
      if (stopped) return;
      log.warn({ resource, err: error }, `listing ${resource} failed; retrying in ${RECONNECT_DELAY_MS} ms`);
      later(resync, RECONNECT_DELAY_MS);
    });
  };

  const firstSync = async () => {
    while (!stopped) {
      try {
        await sync();
        return;
      } catch (error) {
        if (stopped) return;
        log.warn({ resource, err: error }, `listing ${resource} failed; retrying in ${RECONNECT_DELAY_MS} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, RECONNECT_DELAY_MS);
        });
      }
    }
  };

  let users = 0;
  let starting: Promise<void> | undefined;
  return {
    resource,
    onChange(handler) {
      handlers.push(handler);
    },
    // Several caches may share one list+watch: the first start() runs it, the others
    // wait for the same sync; it stops when the last of them stops.
    start() {
      users++;
      return (starting ??= firstSync());
    },
    async stop() {
      if (users > 0 && --users > 0) return;
      stopped = true;
      clearTimeout(timer);
      wake?.();
      current?.abort();
    },
  };
}
