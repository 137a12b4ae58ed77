// Precedence of the coordinator's settings: the network's own configuration, then
// SpiderCoordinator `default` (its spec, and the CIDRs its status found), then the
// plugin's built-in defaults (coordinator-config.ts). Pure: the network configuration
// in, the same with the cluster's values filled in where it says nothing, out.
import type { ClusterCoordinator } from './cluster-defaults.js';

/** What was taken from the cluster, for the log. */
export interface DefaultsApplied {
  json: Record<string, unknown>;
  /** Fields filled in from SpiderCoordinator default. */
  fromCluster: string[];
  /** Why nothing (or not everything) came from it. */
  note?: string;
}

const absent = (value: unknown) => value === undefined || value === null;
const emptyList = (value: unknown) => absent(value) || (Array.isArray(value) && value.length === 0);

/**
 * A field the network leaves out (or, for lists, leaves empty, as upstream reads
 * them) takes the cluster's value. SpiderCoordinator spells "disabled" where the
 * plugin's configuration spells "disable". `podCIDRType` (the network's, else the
 * cluster's) decides whether the pod CIDRs the status found are routed at all:
 * `none` routes none.
 */
export function withClusterDefaults(json: Record<string, unknown>, cluster: ClusterCoordinator): DefaultsApplied {
  if (!cluster.found) return { json, fromCluster: [], note: `${cluster.why}: built-in defaults` };
  const out: Record<string, unknown> = { ...json };
  const fromCluster: string[] = [];
  const fill = (field: string, value: unknown, isAbsent: (v: unknown) => boolean = absent) => {
    if (!isAbsent(out[field]) || value === undefined) return;
    out[field] = value;
    fromCluster.push(field);
  };
  const d = cluster.defaults;
  fill('mode', d.mode === 'disabled' ? 'disable' : d.mode);
  fill('tunePodRoutes', d.tunePodRoutes);
  if (absent(out.podDefaultRouteNic) && absent(out.podDefaultRouteNIC) && d.podDefaultRouteNIC !== '') fill('podDefaultRouteNic', d.podDefaultRouteNIC);
  fill('hostRuleTable', d.hostRuleTable);
  // Any negative number leaves rp_filter as it is; the plugin's configuration spells that -1.
  fill('podRPFilter', d.podRPFilter < 0 ? -1 : d.podRPFilter);
  fill('txQueueLen', d.txQueueLen);
  if (d.vethLinkAddress !== '') fill('vethLinkAddress', d.vethLinkAddress, (v) => absent(v) || v === '');
  if (d.podMACPrefix !== '') fill('podMACPrefix', d.podMACPrefix, (v) => absent(v) || v === '');
  fill('detectIPConflict', d.detectIPConflict);
  fill('detectGateway', d.detectGateway);
  if (emptyList(out.hijackCustomSubnet) && d.hijackCIDR.length > 0) fill('hijackCIDR', d.hijackCIDR, emptyList);
  fill('podCIDRType', d.podCIDRType);

  const status = cluster.status;
  let note: string | undefined;
  if (!status) note = 'SpiderCoordinator default has no status yet: serviceCIDR and overlayPodCIDR only from the network configuration';
  else {
    if (status.phase !== 'Synced') note = `SpiderCoordinator default is ${status.phase}${status.reason ? ` (${status.reason})` : ''}: using the CIDRs it found`;
    if (status.serviceCIDR.length > 0) fill('serviceCIDR', status.serviceCIDR, emptyList);
    if (out.podCIDRType !== 'none' && status.overlayPodCIDR.length > 0) fill('overlayPodCIDR', status.overlayPodCIDR, emptyList);
  }
  return { json: out, fromCluster, ...(note ? { note } : {}) };
}
