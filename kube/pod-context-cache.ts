// What pod admission reads besides the underlay: namespaces (their labels, for pool
// namespace affinity, and their default-pool annotations) and NetworkAttachment-
// Definitions (does Underpin do a network's IPAM, with which default pools?). Only the
// webhook runs it; the reconciler reads neither.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ObjectMeta } from '../ipam/object-meta.js';
import { foundOrUndefined } from './api-status.js';
import { customObjectSource, listWatch, namespaceSource, type InformerLog } from './list-watch.js';
import { ResourceCache } from './resource-cache.js';
import { NETWORK_ATTACHMENT_DEFINITION, customObject } from './resources.js';

export interface NamespaceView {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A NetworkAttachmentDefinition as pod admission needs it: does Underpin do its IPAM, with which default pools? */
export interface NetworkView {
  key: string;
  underpinIPAM?: { ipv4: string[]; ipv6: string[] };
}

const NamespaceRecord = z.looseObject({ metadata: ObjectMeta }).transform(
  (ns): NamespaceView => ({ name: ns.metadata.name ?? '', labels: ns.metadata.labels ?? {}, annotations: ns.metadata.annotations ?? {} }),
);

const UNDERPIN_IPAM_TYPES = new Set(['underpin', 'spiderpool']);

const NetworkRecord = z
  .looseObject({ metadata: ObjectMeta, spec: z.looseObject({ config: z.string().optional() }).optional() })
  .transform((nad): NetworkView => {
    const key = `${nad.metadata.namespace ?? ''}/${nad.metadata.name ?? ''}`;
    const ipam = findIPAM(nad.spec?.config);
    if (!ipam || !UNDERPIN_IPAM_TYPES.has(String(ipam.type))) return { key };
    const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    return { key, underpinIPAM: { ipv4: names(ipam.default_ipv4_ippool), ipv6: names(ipam.default_ipv6_ippool) } };
  });

/** The IPAM section of a CNI config or conflist (first plugin that has one). */
function findIPAM(config: string | undefined): Record<string, unknown> | undefined {
  if (!config) return undefined;
  let json: { ipam?: Record<string, unknown>; plugins?: { ipam?: Record<string, unknown> }[] };
  try {
    json = JSON.parse(config);
  } catch {
    return undefined; // not ours to judge; Multus reports it
  }
  return json.ipam ?? json.plugins?.find((p) => p.ipam)?.ipam;
}

export class PodContextCache {
  readonly namespaces: ResourceCache<NamespaceView>;
  readonly networks: ResourceCache<NetworkView>;
  private readonly core: CoreV1Api;
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, log: InformerLog) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.namespaces = new ResourceCache(listWatch(kubeConfig, namespaceSource(kubeConfig), log), NamespaceRecord, 'Namespace', log);
    this.networks = new ResourceCache(listWatch(kubeConfig, customObjectSource(kubeConfig, NETWORK_ATTACHMENT_DEFINITION), log), NetworkRecord, NETWORK_ATTACHMENT_DEFINITION.kind, log);
  }

  async start(): Promise<void> {
    await Promise.all([this.namespaces.start(), this.networks.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.namespaces.stop(), this.networks.stop()]);
  }

  get hasSynced(): boolean {
    return this.namespaces.hasSynced && this.networks.hasSynced;
  }

  // Read-through for objects applied together with the pods that use them (one
  // `kubectl apply -f dir/`): the pod's review can come before the watch event.

  /** A namespace from the cache, or from the API when the cache has not seen it yet. */
  namespaceOrRead(name: string): Promise<NamespaceView | undefined> {
    return this.namespaces.getOrRead(name, () => foundOrUndefined(this.core.readNamespace({ name })));
  }

  /** A NetworkAttachmentDefinition (`namespace/name`) from the cache, or from the API when the cache has not seen it yet. */
  networkOrRead(key: string): Promise<NetworkView | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    return this.networks.getOrRead(key, () => foundOrUndefined(this.api.getNamespacedCustomObject({ ...customObject(NETWORK_ATTACHMENT_DEFINITION), namespace, name })));
  }
}
