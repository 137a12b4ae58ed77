// SpiderEndpoint: Spiderpool's per-pod record of its addresses, kept by the reconciler
// as a compatible view of the pod's binding annotation. Pure: what the endpoint of a
// pod should be, and what to do to get there from what exists.
//
// One per pod with a binding, same namespace and name as the pod, owned by the pod
// (an ownerReference), so Kubernetes' garbage collector deletes it with the pod. A
// finished pod (Succeeded/Failed) has given its addresses back: its endpoint goes.
import { isDeepStrictEqual } from 'node:util';
import { heldBySpiderpool } from '../ipam/adoption/spiderpool-records.js';
import { BINDING_ID_LABEL, readPodBinding, type Binding } from '../ipam/binding.js';
import { podApplications, type Pod } from '../ipam/pod.js';
import type { EndpointRecord, PodRecord } from './resources.js';

export interface EndpointIP {
  interface: string;
  ipv4?: string;
  ipv6?: string;
  ipv4Pool?: string;
  ipv6Pool?: string;
  vlan: number;
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  cleanGateway?: boolean;
  routes: { dst: string; gw: string }[];
}

export interface EndpointStatus {
  current: { uid: string; node: string; ips: EndpointIP[] };
  ownerControllerType: string;
  ownerControllerName: string;
}

export interface PodOwnerReference {
  apiVersion: 'v1';
  kind: 'Pod';
  name: string;
  uid: string;
}

/** The pod's binding, when it has a readable one that matches its binding-id label. */
export function podBinding(pod: PodRecord): Binding | undefined {
  const binding = readPodBinding(pod.metadata.annotations);
  return binding?.ok && binding.value.id === pod.metadata.labels?.[BINDING_ID_LABEL] ? binding.value : undefined;
}

/** The pod's top controller (a ReplicaSet's Deployment, a Job's CronJob), or the pod itself. */
export function topController(pod: PodRecord): { type: string; name: string } {
  const view: Pod = { metadata: { name: pod.metadata.name, labels: pod.metadata.labels ?? null, ownerReferences: pod.metadata.ownerReferences ?? null }, spec: {} };
  const top = podApplications(view, pod.metadata.namespace).at(-1);
  return top ? { type: top.kind, name: top.name } : { type: 'Pod', name: pod.metadata.name };
}

export function endpointStatusFor(pod: PodRecord, binding: Binding): EndpointStatus {
  const ips = binding.interfaces.map((nic): EndpointIP => ({
    interface: nic.interface,
    ...(nic.ipv4 ? { ipv4: nic.ipv4.address, ipv4Pool: nic.ipv4.pool } : {}),
    ...(nic.ipv6 ? { ipv6: nic.ipv6.address, ipv6Pool: nic.ipv6.pool } : {}),
    vlan: nic.ipv4?.vlan ?? nic.ipv6?.vlan ?? 0,
    ...(nic.ipv4?.gateway ? { ipv4Gateway: nic.ipv4.gateway } : {}),
    ...(nic.ipv6?.gateway ? { ipv6Gateway: nic.ipv6.gateway } : {}),
    ...(nic.cleanGateway !== undefined ? { cleanGateway: nic.cleanGateway } : {}),
    routes: nic.routes.map((route) => ({ dst: route.dst, gw: route.gw })),
  }));
  const owner = topController(pod);
  return {
    current: { uid: pod.metadata.uid, node: pod.spec?.nodeName ?? '', ips },
    ownerControllerType: owner.type,
    ownerControllerName: owner.name,
  };
}

export function podOwnerReference(pod: PodRecord): PodOwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid };
}

export type EndpointPlan =
  | { action: 'none' }
  | { action: 'create'; ownerReference: PodOwnerReference; status: EndpointStatus }
  /** The endpoint of an earlier pod of that name (a StatefulSet's): take it over. */
  | { action: 'adopt'; ownerReference: PodOwnerReference; status: EndpointStatus }
  | { action: 'write-status'; status: EndpointStatus }
  | { action: 'delete' };

function ownedBy(endpoint: EndpointRecord, uid: string): boolean {
  return (endpoint.metadata.ownerReferences ?? []).some((ref) => ref.kind === 'Pod' && ref.uid === uid);
}

/**
 * What to do for the pod `namespace/name`. A pod that is gone leaves its endpoint to
 * the garbage collector (the ownerReference); a pod without a binding has no endpoint
 * of ours, and an endpoint of that name that we do not own is left alone.
 */
export function planEndpoint(pod: PodRecord | undefined, endpoint: EndpointRecord | undefined): EndpointPlan {
  if (!pod) return { action: 'none' };
  const binding = podBinding(pod);
  const phase = pod.status?.phase;
  const finished = phase === 'Succeeded' || phase === 'Failed';
  // Spiderpool's own record of a pod not adopted yet is adoption's to read, not ours to delete.
  if (!binding || finished) return endpoint && ownedBy(endpoint, pod.metadata.uid) && !heldBySpiderpool(endpoint.metadata) ? { action: 'delete' } : { action: 'none' };
  const status = endpointStatusFor(pod, binding);
  // Spiderpool writes the endpoint at CNI ADD, when the node is known: so do we, in one
  // status write rather than one before scheduling and one after.
  if (!endpoint) return pod.spec?.nodeName ? { action: 'create', ownerReference: podOwnerReference(pod), status } : { action: 'none' };
  if (!ownedBy(endpoint, pod.metadata.uid)) return { action: 'adopt', ownerReference: podOwnerReference(pod), status };
  return isDeepStrictEqual(endpoint.status ?? undefined, status) ? { action: 'none' } : { action: 'write-status', status };
}
