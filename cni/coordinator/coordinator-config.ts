// The configuration of `underpin-coordinator` (installed also as `coordinator`),
// a chained plugin placed after the main plugin (macvlan, ipvlan, sriov …). Fields
// follow Spiderpool's coordinator (API.md "Coordinator"); cni/README.md lists what
// is used and what is accepted but ignored.
import { z } from 'zod';
import { formatAddress, parseAddress } from '../../ipam/address.js';
import { parseCidr } from '../../ipam/cidr.js';
import { CniCode, CniError } from '../skel/cni-error.js';
import { DEFAULT_KUBECONFIG } from '../kube/kubeconfig.js';
import { DetectOptions, MacPrefix, probeSettingsOf, type ProbeSettings } from './probe-settings.js';

export const COORDINATOR_TYPES = ['underpin-coordinator', 'coordinator'] as const;

/** CIDRs in canonical text (`10.96.0.1/12` reads as `10.96.0.0/12`, as Spiderpool accepts it). */
const CidrList = z.array(z.string(), { error: 'must be a list of CIDRs' }).transform((texts, ctx) =>
  texts.flatMap((text, index) => {
    const parsed = parseCidr(text);
    if (parsed.ok) return [parsed.value.text];
    ctx.addIssue({ code: 'custom', message: parsed.error, path: [index] });
    return [];
  }),
);

const Address = z.string({ error: 'must be an IP address' }).transform((text, ctx) => {
  const parsed = parseAddress(text);
  if (parsed.ok) return formatAddress(parsed.value);
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

export const CoordinatorNetworkConfig = z.looseObject({
  cniVersion: z.string(),
  name: z.string().optional(),
  type: z.string().optional(),
  /**
   * auto and overlay: policy routing; underlay: policy routing and, for the pod's
   * first NIC, a veth to the node; disable: nothing. Unlike Spiderpool, `auto` never
   * creates the veth: it changes the node, so it is asked for by name.
   */
  mode: z.enum(['auto', 'underlay', 'overlay', 'disable'], { error: 'must be "auto", "underlay", "overlay" or "disable"' }).default('auto'),
  tunePodRoutes: z.boolean({ error: 'must be true or false' }).default(true),
  podDefaultRouteNic: z.string().optional(),
  /** SpiderCoordinator's spelling of podDefaultRouteNic. */
  podDefaultRouteNIC: z.string().optional(),
  podDefaultCniNic: z.string().default('eth0'),
  /** Whether overlayPodCIDR comes from SpiderCoordinator default's status: `none` routes no pod CIDR (coordinator-defaults.ts). */
  podCIDRType: z.enum(['auto', 'cluster', 'calico', 'cilium', 'none'], { error: 'must be "auto", "cluster", "calico", "cilium" or "none"' }).optional(),
  /** Underlay mode: routed through the node (kube-proxy), like hijackCIDR. */
  serviceCIDR: CidrList.optional(),
  /** Underlay mode: the cluster's pod CIDRs of an overlay CNI, routed through the node as Spiderpool does. */
  overlayPodCIDR: CidrList.optional(),
  /** Underlay mode: more CIDRs through the node, e.g. nodelocaldns 169.254.20.10/32. */
  hijackCIDR: CidrList.optional(),
  /** SpiderMultusConfig's name of hijackCIDR; both lists are used. */
  hijackCustomSubnet: CidrList.optional(),
  /** Underlay mode: the node's addresses the pod routes through the veth; read from the node's interfaces when left out. */
  nodeIPs: z.array(Address, { error: 'must be a list of IP addresses' }).optional(),
  /** Underlay mode: a link-local address for veth0 in the pod (Istio's redirect needs one there). */
  vethLinkAddress: Address.optional(),
  /** Underlay mode: the node's routing table for routes to pods. */
  hostRuleTable: z.number({ error: 'must be a routing table number' }).int().min(1).max(0xfffffffe).refine((t) => t !== 253 && t !== 254 && t !== 255, {
    message: 'must not be one of the kernel tables (253 default, 254 main, 255 local)',
  }).default(500),
  podRPFilter: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(-1)], { error: 'must be 0, 1, 2 (or -1: leave as is)' }).optional(),
  /** Two bytes; the NIC's MAC becomes them + the last four bytes of its address (probe-settings.ts). */
  podMACPrefix: MacPrefix.optional(),
  /** Before ADD succeeds: no other host on the link answers for the NIC's addresses (address-probe.ts). */
  detectIPConflict: z.boolean({ error: 'must be true or false' }).optional(),
  /** Before ADD succeeds: the NIC's gateways answer ARP / neighbour solicitation. */
  detectGateway: z.boolean({ error: 'must be true or false' }).optional(),
  /** Spiderpool 1.0's names of the two switches (its IPAM settings); the coordinator's names win. */
  enableIPConflictDetection: z.boolean({ error: 'must be true or false' }).optional(),
  enableGatewayDetection: z.boolean({ error: 'must be true or false' }).optional(),
  detectOptions: DetectOptions.optional(),
  kubeconfig: z.string().min(1).optional(),
  log_level: z.string().optional(),
  log_file_path: z.string().optional(),
  logOptions: z.looseObject({ logLevel: z.string().optional(), logFile: z.string().optional() }).optional(),
});
type ParsedConfig = z.infer<typeof CoordinatorNetworkConfig>;
export type CoordinatorNetworkConfig = ParsedConfig & {
  kubeconfigPath: string;
  /** serviceCIDR, overlayPodCIDR, hijackCIDR and hijackCustomSubnet together, without repeats. */
  routedCidrs: string[];
  /** podMACPrefix, conflict and gateway detection, resolved from whichever names the configuration used. */
  probes: ProbeSettings;
};

export function readCoordinatorConfig(json: Record<string, unknown>): CoordinatorNetworkConfig {
  const parsed = CoordinatorNetworkConfig.safeParse(json);
  if (!parsed.success) {
    const name = typeof json.name === 'string' ? ` ${JSON.stringify(json.name)}` : '';
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new CniError(CniCode.invalidNetworkConfig, `network configuration${name} is invalid for underpin-coordinator: ${lines.join('; ')}`);
  }
  const config = parsed.data;
  const routedCidrs = [
    ...new Set([...(config.serviceCIDR ?? []), ...(config.overlayPodCIDR ?? []), ...(config.hijackCIDR ?? []), ...(config.hijackCustomSubnet ?? [])]),
  ];
  return {
    ...config,
    podDefaultRouteNic: config.podDefaultRouteNic ?? config.podDefaultRouteNIC,
    kubeconfigPath: config.kubeconfig ?? DEFAULT_KUBECONFIG,
    routedCidrs,
    probes: probeSettingsOf(config),
  };
}
