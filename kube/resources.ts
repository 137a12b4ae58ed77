// Where each resource Underpin reads or writes is served, spelled once: the API
// group and plural a client call needs, and the kind Events and logs name. No
// imports: the CNI plugin's bundle reads it too.
export interface ResourceKind {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const SPIDER_IPPOOL: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools', kind: 'SpiderIPPool' };
export const SPIDER_SUBNET: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidersubnets', kind: 'SpiderSubnet' };
export const SPIDER_RESERVED_IP: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderreservedips', kind: 'SpiderReservedIP' };
/** Namespaced, unlike the other Spider* kinds. */
export const SPIDER_ENDPOINT: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderendpoints', kind: 'SpiderEndpoint' };
/** Namespaced; the reconciler renders a NetworkAttachmentDefinition from each. */
export const SPIDER_MULTUS_CONFIG: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidermultusconfigs', kind: 'SpiderMultusConfig' };
export const SPIDER_COORDINATOR: ResourceKind = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidercoordinators', kind: 'SpiderCoordinator' };
export const IP_CLAIM: ResourceKind = { group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims', kind: 'IPClaim' };
export const NETWORK_ATTACHMENT_DEFINITION: ResourceKind = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions', kind: 'NetworkAttachmentDefinition' };

/** The coordinates a CustomObjectsApi call takes (it would pass `kind` on as a query parameter). */
export function customObject(resource: ResourceKind): { group: string; version: string; plural: string } {
  return { group: resource.group, version: resource.version, plural: resource.plural };
}

/** The collection a resource is served at: `/apis/{group}/{version}/{plural}`. */
export function collectionPath(resource: { group: string; version: string; plural: string }): string {
  return `/apis/${resource.group}/${resource.version}/${resource.plural}`;
}

/** `group/version`, as objects and Events spell it. */
export function apiVersionOf(resource: ResourceKind): string {
  return `${resource.group}/${resource.version}`;
}
