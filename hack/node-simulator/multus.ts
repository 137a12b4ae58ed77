// The simulator's Multus: which networks a pod gets, on which interface, with which
// CNI configuration. The annotations are read by the same parser the webhook uses
// (ipam/multus-networks.ts), so the NICs the simulator makes are the NICs Underpin
// bound addresses to; each named NetworkAttachmentDefinition's spec.config is a CNI
// network configuration or configuration list, as Multus reads it.
import { z } from 'zod';
import { DEFAULT_INTERFACE, readMultusNetworks } from '../../ipam/multus-networks.js';

/** A network configuration list in libcni's shape: a single configuration becomes a list of one. */
export interface NetworkList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** One network of a pod: a NIC and the plugins that make it (Multus's "delegate"). */
export interface Delegate {
  ifname: string;
  /** `namespace/name` of the NetworkAttachmentDefinition. */
  network: string;
  list: NetworkList;
}

export interface NetworkRef {
  namespace: string;
  name: string;
}

/** The pod's networks cannot be set up as written: the message says what to change. */
export class PodNetworkError extends Error {}

export const NetworkAttachmentDefinition = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string() }),
  spec: z.looseObject({ config: z.string().optional() }).optional(),
});

const PluginConfig = z.looseObject({ type: z.string({ error: 'every plugin needs a "type"' }).min(1) });
const ConfigList = z.looseObject({
  cniVersion: z.string({ error: '"cniVersion" is missing' }).min(1),
  name: z.string().optional(),
  plugins: z.array(PluginConfig).min(1, { error: '"plugins" is empty' }),
});
const SingleConfig = PluginConfig.extend({ cniVersion: z.string({ error: '"cniVersion" is missing' }).min(1), name: z.string().optional() });

/**
 * The network list of a NetworkAttachmentDefinition. Like Multus, a configuration
 * without "name" takes the definition's name.
 */
export function readNetworkList(nad: unknown): NetworkList {
  const parsed = NetworkAttachmentDefinition.safeParse(nad);
  if (!parsed.success) throw new PodNetworkError(`not a NetworkAttachmentDefinition: ${parsed.error.issues[0]?.message}`);
  const { name, namespace } = parsed.data.metadata;
  const where = `NetworkAttachmentDefinition ${namespace}/${name}`;
  const text = parsed.data.spec?.config;
  if (!text) {
    throw new PodNetworkError(`${where} has no spec.config; the node simulator reads the configuration from there only (it has no /etc/cni/multus/net.d), so write the CNI configuration into spec.config`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PodNetworkError(`${where}: spec.config is not JSON (${(error as Error).message})`);
  }
  const isList = typeof json === 'object' && json !== null && 'plugins' in json;
  const read = (isList ? ConfigList : SingleConfig).safeParse(json);
  if (!read.success) {
    const issue = read.error.issues[0]!;
    throw new PodNetworkError(`${where}: spec.config ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  if (isList) {
    const list = read.data as z.infer<typeof ConfigList>;
    return { cniVersion: list.cniVersion, name: list.name ?? name, plugins: list.plugins };
  }
  const { cniVersion, name: confName, ...plugin } = read.data as z.infer<typeof SingleConfig>;
  return { cniVersion, name: confName ?? name, plugins: [plugin] };
}

export interface PodForNetworks {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
}

/**
 * The pod's networks in Multus's order (eth0 first, then the networks annotation),
 * with their configurations. `getNetwork` returns the NetworkAttachmentDefinition
 * or undefined when there is none. `clusterNetwork` is Multus's default network,
 * used for eth0 when the pod does not name one; without it such a pod has no eth0.
 */
export async function podDelegates(
  pod: PodForNetworks,
  getNetwork: (ref: NetworkRef) => Promise<unknown>,
  clusterNetwork?: NetworkRef,
): Promise<Delegate[]> {
  const podName = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const attachments = readMultusNetworks(pod.metadata?.annotations ?? {}, pod.metadata?.namespace ?? 'default');
  if (!attachments.ok) throw new PodNetworkError(`pod ${podName}: ${attachments.error}`);
  const wanted = attachments.value;
  if (clusterNetwork && !wanted.some((a) => a.interface === DEFAULT_INTERFACE)) wanted.unshift({ interface: DEFAULT_INTERFACE, network: clusterNetwork });
  const delegates: Delegate[] = [];
  for (const attachment of wanted) {
    const key = `${attachment.network.namespace}/${attachment.network.name}`;
    const nad = await getNetwork(attachment.network);
    if (nad === undefined) {
      throw new PodNetworkError(`pod ${podName}: NetworkAttachmentDefinition ${key} (for ${attachment.interface}) does not exist; create it, or correct the pod's network annotations`);
    }
    delegates.push({ ifname: attachment.interface, network: key, list: readNetworkList(nad) });
  }
  return delegates;
}
