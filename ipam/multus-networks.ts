// The NICs a pod asks Multus for, read the way Multus reads them
// (k8snetworkplumbingwg/multus-cni, pkg/k8sclient/k8sclient.go:
// parsePodNetworkAnnotation, parsePodNetworkObjectName, tryLoadK8sPodDefaultNetwork;
// pkg/multus/multus.go: getIfname), so the interface names Underpin binds
// addresses to are the ones the pod will really have.
//
// Interface names (Multus's rule, followed exactly). Multus builds one ordered
// delegate list per pod: [0] the cluster default network, which is the "master
// plugin" (replaced by the pod's `v1.multus-cni.io/default-network` when set), then
// the `defaultNetworks` of Multus's own config (none in a usual install, and never
// for pods of its system namespaces), then the pod's `k8s.v1.cni.cncf.io/networks`
// in written order. CmdAdd walks that list with its 0-based index `idx` and names
// each NIC with getIfname: the attachment's requested interface if it has one, else
// the CNI_IFNAME kubelet passed (eth0) for the master plugin, else `net<idx>`. So
// the Nth entry of the networks annotation (1-based) without an interface name is
// `net<N>` — its position counts every attachment before it, named or not:
// "a@eth5, b" gives eth5 and net2. Underpin assumes Multus's config adds no
// `defaultNetworks` (each would shift the numbers by one).
//
// Namespaces: an attachment without one is in the pod's namespace. The default
// network is different: Multus looks it up in its own namespace (`multusNamespace`
// in its config, "kube-system" by default), not in the pod's.
import { ANNOTATION, MultusNetworksJSON, readJsonAnnotation } from './pod-annotations.js';
import { err, ok, type Result } from './result.js';

export interface PodNetworkAttachment {
  interface: string;
  /** The NetworkAttachmentDefinition. */
  network: { namespace: string; name: string };
}

export interface MultusReadOptions {
  /** Where Multus looks up a default network given without a namespace (its `multusNamespace`; default "kube-system"). */
  multusNamespace?: string;
}

/** The interface kubelet asks the CNI for; Multus gives it to the (pod's) default network. */
export const DEFAULT_INTERFACE = 'eth0';
const DEFAULT_MULTUS_NAMESPACE = 'kube-system';

// Linux: IFNAMSIZ is 16 bytes including the terminating NUL (include/uapi/linux/if.h);
// dev_valid_name (net/core/dev.c) also rejects "", ".", "..", '/', ':' and whitespace.
const IFNAMSIZ = 16;

/**
 * Why `name` cannot be a Linux interface name, as a phrase to follow the quoted name
 * (`interface "x y" contains whitespace`), or undefined when it can. Also rejects
 * '%', which the kernel treats as a template ("net%d") and replaces with a number,
 * so the NIC would not have the name asked for.
 */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  const bytes = new TextEncoder().encode(name).length;
  if (bytes >= IFNAMSIZ) return `is ${bytes} bytes long; Linux allows at most ${IFNAMSIZ - 1}`;
  if (name === '.' || name === '..') return 'is not a name ("." and ".." are reserved)';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes(':')) return 'contains ":"';
  if (/\s/.test(name)) return 'contains whitespace';
  if (name.includes('%')) return 'contains "%", which the kernel replaces with a number';
  return undefined;
}

// DNS-1123: a namespace is a label; a NetworkAttachmentDefinition name a subdomain.
// Multus's short form accepts only label-shaped names (lower-case alphanumerics and
// '-', no '.'), even though a NetworkAttachmentDefinition may have dots; its JSON
// form accepts any name, so there a subdomain is allowed.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const EXAMPLES = {
  [ANNOTATION.multusNetworks]: '"macvlan-a, kube-system/macvlan-b@net5" or [{"name":"macvlan-a","namespace":"kube-system","interface":"net1"}]',
  [ANNOTATION.multusDefaultNetwork]: '"kube-system/macvlan-main" or [{"name":"macvlan-main","namespace":"kube-system"}]',
} as const;
type MultusKey = keyof typeof EXAMPLES;

/** One entry as written, before defaults. `text` names it in messages: the item quoted, or `entry [i] (name "x")`. */
interface Selection {
  text: string;
  namespace?: string;
  name: string;
  interface?: string;
  form: 'short' | 'json';
}

function problem(key: MultusKey, message: string): string {
  return `annotation ${key}: ${message}; e.g. ${EXAMPLES[key]}`;
}

/** `namespace/name@ifname`, each part trimmed (parsePodNetworkObjectName). */
function parseShortItem(key: MultusKey, item: string): Result<Selection, string> {
  const quoted = JSON.stringify(item);
  const slash = item.split('/');
  if (slash.length > 2) return err(problem(key, `${quoted} has more than one "/"; write namespace/name@interface`));
  const namespace = slash.length === 2 ? slash[0]!.trim() : undefined;
  const at = slash.at(-1)!.split('@');
  if (at.length > 2) return err(problem(key, `${quoted} has more than one "@"; write namespace/name@interface`));
  const name = at[0]!.trim();
  const iface = at.length === 2 ? at[1]!.trim() : undefined;
  if (namespace === '') return err(problem(key, `${quoted} has an empty namespace before "/"; write the namespace or drop the "/"`));
  if (name === '') return err(problem(key, `${quoted} has an empty network name`));
  if (iface === '') return err(problem(key, `${quoted} has an empty interface name after "@"; write one (e.g. "${name}@net1") or drop the "@"`));
  return ok({ text: quoted, name, form: 'short', ...(namespace !== undefined ? { namespace } : {}), ...(iface !== undefined ? { interface: iface } : {}) });
}

/** Short form, or JSON when the value contains '[', '{' or '"' — Multus's own test. */
function parseSelections(key: MultusKey, value: string): Result<Selection[], string> {
  if (/[[{"]/.test(value)) {
    const parsed = readJsonAnnotation(key, value, MultusNetworksJSON);
    if (!parsed.ok) return err(parsed.error.includes('; e.g. ') ? parsed.error : `${parsed.error}; e.g. ${EXAMPLES[key]}`);
    return ok(
      parsed.value.map((entry, index) => {
        // `interfaceRequest` is Multus's pre-3.2 spelling, still honoured when `interface` is absent.
        const legacy = typeof entry['interfaceRequest'] === 'string' && entry['interfaceRequest'] !== '' ? entry['interfaceRequest'] : undefined;
        const iface = entry.interface ?? legacy;
        return {
          text: `entry [${index}] (name "${entry.name}")`,
          name: entry.name,
          form: 'json' as const,
          ...(entry.namespace !== undefined ? { namespace: entry.namespace } : {}),
          ...(iface !== undefined ? { interface: iface } : {}),
        };
      }),
    );
  }
  const selections: Selection[] = [];
  for (const item of value.split(',')) {
    const parsed = parseShortItem(key, item.trim());
    if (!parsed.ok) return parsed;
    selections.push(parsed.value);
  }
  return ok(selections);
}

function checkNames(key: MultusKey, s: Selection): string | undefined {
  const shape = s.form === 'short' ? DNS_LABEL : DNS_SUBDOMAIN;
  const nameRule =
    s.form === 'short'
      ? 'lower-case letters, digits and "-", starting and ending with a letter or digit (the short form allows no "."; use the JSON form for dotted names)'
      : 'a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit';
  if (s.name.length > 253 || !shape.test(s.name)) {
    return problem(key, `${s.text}: network name "${s.name}" is not a NetworkAttachmentDefinition name; use ${nameRule}`);
  }
  if (s.namespace !== undefined && (s.namespace.length > 63 || !DNS_LABEL.test(s.namespace))) {
    return problem(key, `${s.text}: "${s.namespace}" is not a namespace name; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`);
  }
  if (s.interface !== undefined) {
    const bad = interfaceNameProblem(s.interface);
    if (bad) return problem(key, `${s.text}: interface "${s.interface}" ${bad}; use a name such as "net1"`);
  }
  return undefined;
}

/**
 * The pod's Multus attachments in NIC order: the default network (eth0) when
 * `v1.multus-cni.io/default-network` names one, then `k8s.v1.cni.cncf.io/networks`.
 * The pod always has eth0; it is listed only when the annotation names its network.
 */
export function readMultusNetworks(
  annotations: Readonly<Record<string, string>>,
  podNamespace: string,
  options: MultusReadOptions = {},
): Result<PodNetworkAttachment[], string> {
  const attachments: PodNetworkAttachment[] = [];
  // Who holds each interface name, for a message that names both sides.
  const holders = new Map<string, string>([[DEFAULT_INTERFACE, `the default network (${DEFAULT_INTERFACE})`]]);

  const defaultValue = annotations[ANNOTATION.multusDefaultNetwork];
  if (defaultValue !== undefined) {
    const key = ANNOTATION.multusDefaultNetwork;
    // Multus acts on the key's presence and fails on an empty value.
    if (defaultValue.trim() === '') return err(problem(key, 'is empty; name the network or remove the annotation'));
    const parsed = parseSelections(key, defaultValue);
    if (!parsed.ok) return parsed;
    if (parsed.value.length !== 1) {
      return err(problem(key, `names ${parsed.value.length} networks; the default network is exactly one`));
    }
    const s = parsed.value[0]!;
    const bad = checkNames(key, s);
    if (bad) return err(bad);
    // Multus would hand eth0's place to another name; kubelet and Underpin both expect eth0.
    if (s.interface !== undefined && s.interface !== DEFAULT_INTERFACE) {
      return err(problem(key, `${s.text}: the default network is always ${DEFAULT_INTERFACE}; remove the interface name "${s.interface}"`));
    }
    const network = { namespace: s.namespace ?? options.multusNamespace ?? DEFAULT_MULTUS_NAMESPACE, name: s.name };
    attachments.push({ interface: DEFAULT_INTERFACE, network });
    holders.set(DEFAULT_INTERFACE, `the default network ${network.namespace}/${network.name} (${DEFAULT_INTERFACE})`);
  }

  const networksValue = annotations[ANNOTATION.multusNetworks];
  // Multus treats an empty annotation as no networks.
  if (networksValue === undefined || networksValue === '') return ok(attachments);
  const key = ANNOTATION.multusNetworks;
  const parsed = parseSelections(key, networksValue);
  if (!parsed.ok) return parsed;
  for (const [index, s] of parsed.value.entries()) {
    const bad = checkNames(key, s);
    if (bad) return err(bad);
    const position = index + 1;
    const iface = s.interface ?? `net${position}`;
    const holder = holders.get(iface);
    if (holder !== undefined) {
      if (s.interface !== undefined) return err(problem(key, `${s.text} asks for interface "${iface}", which ${holder} already has; give it another interface name`));
      const explicit = new Set(parsed.value.map((other) => other.interface));
      let free = parsed.value.length + 1;
      while (holders.has(`net${free}`) || explicit.has(`net${free}`)) free++;
      const example = s.form === 'short' ? `"${s.name}@net${free}"` : `"interface":"net${free}"`;
      return err(problem(key, `${s.text} has no interface name, so Multus names it "${iface}" by its position (attachment ${position}), which ${holder} already has; name its interface explicitly, e.g. ${example}`));
    }
    const network = { namespace: s.namespace ?? podNamespace, name: s.name };
    holders.set(iface, s.text);
    attachments.push({ interface: iface, network });
  }
  return ok(attachments);
}
