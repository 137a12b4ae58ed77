// What a CNI plugin may trust about a pod's addresses: the binding the webhook wrote
// into the pod, for the pod the runtime is starting (same UID), and — for the IPAM
// plugin — each address backed by the IPClaim that locks it for this very pod.
// Everything here only reads.
import { z } from 'zod';
import { addressToClaimName, parseAddress } from '../../ipam/address.js';
import { IPClaim } from '../../ipam/ip-claim.js';
import { BINDING_ANNOTATION, BINDING_ID_LABEL, entryAddress, readPodBinding, type Binding, type InterfaceBinding } from '../../ipam/binding.js';
import { CniCode, CniError } from '../skel/cni-error.js';
import type { PodReference } from '../skel/cni-env.js';
import type { ApiReader, ApiReply } from './api-reader.js';
import { IP_CLAIM, collectionPath } from '../../kube/resources.js';

const PodMeta = z.looseObject({
  metadata: z.looseObject({
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
});

export interface BoundPod {
  pod: PodReference;
  uid: string;
  bindingID: string | undefined;
  binding: Binding;
}

const podText = (pod: PodReference) => `pod ${pod.namespace}/${pod.name}`;

/** GETs the pod, checks its UID, reads its binding annotation. */
export async function readBoundPod(reader: ApiReader, pod: PodReference): Promise<BoundPod> {
  const reply = await reader.get(`/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`);
  if (reply.status === 404) {
    throw new CniError(CniCode.podNotFound, `${podText(pod)} does not exist in the API: it was deleted before its network was set up; nothing to do`);
  }
  if (reply.status !== 200) throw refused(reply, `reading ${podText(pod)}`);
  const parsed = PodMeta.safeParse(safeJSON(reply.body));
  if (!parsed.success) throw new CniError(CniCode.decodingFailure, `the API answered for ${podText(pod)} with something that is not a pod`);
  const meta = parsed.data.metadata;
  const uid = meta.uid ?? '';
  if (pod.uid !== undefined && uid !== pod.uid) {
    throw new CniError(
      CniCode.podRecreated,
      `${podText(pod)} has UID ${uid}, but the runtime is starting UID ${pod.uid}: the pod was deleted and created again; ` +
        'this sandbox belongs to the old pod, the kubelet will set up the new one',
    );
  }
  const binding = readPodBinding(meta.annotations);
  if (binding === undefined) {
    throw new CniError(
      CniCode.podNotBound,
      `${podText(pod)} has no ${BINDING_ANNOTATION} annotation: when it was created Underpin gave it no address ` +
        '(it asked for no Underpin pool, subnet or network then — e.g. its NetworkAttachmentDefinition or default pool came later — ' +
        'or it bypassed the webhook: pod or namespace labelled underpin.dev/ignore=true, namespace underpin-system, webhook not registered); ' +
        "check the pod's annotations and namespace, then delete the pod so that it is created again through the webhook",
    );
  }
  if (!binding.ok) {
    throw new CniError(
      CniCode.podNotBound,
      `${podText(pod)}: annotation ${BINDING_ANNOTATION} is not a valid Underpin binding (${binding.error}); delete the pod so that the webhook binds it again`,
    );
  }
  return { pod, uid, bindingID: meta.labels?.[BINDING_ID_LABEL], binding: binding.value };
}

/** The binding's entry for `ifname`, or an error naming the interfaces the pod has. */
export function interfaceEntry(bound: BoundPod, ifname: string): InterfaceBinding {
  const entry = bound.binding.interfaces.find((i) => i.interface === ifname);
  if (entry) return entry;
  const names = bound.binding.interfaces.map((i) => i.interface).join(', ');
  throw new CniError(
    CniCode.noInterfaceBinding,
    `${podText(bound.pod)} is bound to addresses for ${names}, not for ${ifname} (CNI_IFNAME): ` +
      'its networks changed after admission or the NetworkAttachmentDefinition names another interface; delete the pod so that it is admitted with this network',
  );
}

/**
 * Checks every address of `entry` against its IPClaim: the claim must exist and lock
 * the address for this pod (binding id, namespace, pool, interface). A binding whose
 * claims do not say so was not written by Underpin, and its addresses may be another
 * pod's: refused.
 */
export async function verifyClaims(reader: ApiReader, bound: BoundPod, entry: InterfaceBinding): Promise<void> {
  const forged = (why: string) =>
    new CniError(
      CniCode.forgedBinding,
      `${podText(bound.pod)}, ${entry.interface}: ${why}; refusing an address that is not locked for this pod ` +
        '(a binding written by hand, or a claim released since admission): delete the pod so that the webhook binds it again',
    );
  if (!bound.bindingID) throw forged(`the pod has no ${BINDING_ID_LABEL} label`);
  if (bound.bindingID !== bound.binding.id) {
    throw forged(`label ${BINDING_ID_LABEL}=${bound.bindingID} differs from the binding's id ${bound.binding.id}`);
  }
  const addresses = [entry.ipv4, entry.ipv6].filter((a) => a !== undefined);
  if (addresses.length === 0) throw forged('the binding has no address for this interface');
  for (const bound4or6 of addresses) {
    const [text = ''] = bound4or6.address.split('/');
    const address = entryAddress(bound4or6);
    if (!address.ok) throw forged(`${JSON.stringify(bound4or6.address)} is not an address (${address.error})`);
    const name = addressToClaimName(address.value);
    const reply = await reader.get(`${collectionPath(IP_CLAIM)}/${encodeURIComponent(name)}`);
    if (reply.status === 404) throw forged(`no IPClaim ${name} locks ${bound4or6.address}`);
    if (reply.status !== 200) throw refused(reply, `reading IPClaim ${name}`);
    const parsed = IPClaim.safeParse(safeJSON(reply.body));
    if (!parsed.success) throw forged(`IPClaim ${name} is not a valid claim`);
    const spec = parsed.data.spec;
    const mismatches: string[] = [];
    if (spec.bindingID !== bound.bindingID) mismatches.push(`bindingID ${spec.bindingID}, not ${bound.bindingID}`);
    if (spec.namespace !== bound.pod.namespace) mismatches.push(`namespace ${spec.namespace}, not ${bound.pod.namespace}`);
    if (spec.pool !== bound4or6.pool) mismatches.push(`pool ${spec.pool}, not ${bound4or6.pool}`);
    if (spec.interface !== entry.interface) mismatches.push(`interface ${spec.interface}, not ${entry.interface}`);
    const specAddress = parseAddress(spec.address);
    if (!specAddress.ok || specAddress.value.value !== address.value.value || specAddress.value.family !== address.value.family) {
      mismatches.push(`address ${spec.address}, not ${text}`);
    }
    if (mismatches.length > 0) throw forged(`IPClaim ${name} holds ${text} for another binding (${mismatches.join(', ')})`);
  }
}

function refused(reply: ApiReply, doing: string): CniError {
  let reason = '';
  const status = safeJSON(reply.body) as { message?: unknown } | undefined;
  if (status && typeof status.message === 'string') reason = `: ${status.message}`;
  const hint =
    reply.status === 401
      ? '; the kubeconfig credentials were not accepted (expired token or certificate?)'
      : reply.status === 403
        ? '; the identity in the kubeconfig needs get on pods and on ipclaims.underpin.dev (ClusterRole underpin-cni)'
        : '';
  return new CniError(CniCode.apiRefused, `the Kubernetes API refused ${doing} (HTTP ${reply.status}${reason})${hint}`);
}

function safeJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
