// What SpiderCoordinator `default`'s status says: the cluster's Service CIDRs and the
// pod CIDRs of spec.podCIDRType, from what the reconciler read of the cluster. Pure:
// the reads are the caller's (reconciler/coordinator-sources.ts); a source the
// cluster does not have (no Calico, no ServiceCIDR API) arrives as `undefined`.
import { parseCidr } from './cidr.js';
import { COORDINATOR_PHASES, type PodCIDRType } from './spider-coordinator.js';

export interface CoordinatorSources {
  /** spec.cidrs of every networking.k8s.io/v1 ServiceCIDR; undefined when the API does not serve them. */
  serviceCIDRObjects?: string[];
  /** data.ClusterConfiguration of kube-system/kubeadm-config, when it exists. */
  kubeadmClusterConfiguration?: string;
  /** Command and arguments of the kube-controller-manager and kube-apiserver pods in kube-system (static pods), when any. */
  controlPlaneArgs: string[];
  /** spec.podCIDRs (or spec.podCIDR) of every node. */
  nodePodCIDRs: string[];
  /** spec.cidr of every Calico IPPool (crd.projectcalico.org/v1) not disabled; undefined when Calico's CRD is absent. */
  calicoPools?: string[];
  /** data of kube-system/cilium-config; undefined when absent. */
  ciliumConfig?: Record<string, string>;
  /** spec.ipv4.cidrs and spec.ipv6.cidrs of every CiliumPodIPPool (cilium.io/v2alpha1); undefined when the CRD is absent. */
  ciliumPodIPPools?: string[];
}

export interface CoordinatorStatusFields {
  phase: 'Synced' | 'NotReady';
  reason?: string;
  overlayPodCIDR: string[];
  serviceCIDR: string[];
}

/** Canonical CIDRs, without repeats, in first-seen order; what is not a CIDR is dropped. */
function cidrs(texts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    const parsed = parseCidr(text.trim());
    if (parsed.ok) out.add(parsed.value.text);
  }
  return [...out];
}

/** `key: a,b` in kubeadm's ClusterConfiguration (YAML, `networking.podSubnet` / `serviceSubnet`). */
function kubeadmField(text: string | undefined, key: 'podSubnet' | 'serviceSubnet'): string[] {
  if (text === undefined) return [];
  const match = new RegExp(`^\\s*${key}:\\s*["']?([^"'\\s#]+)`, 'm').exec(text);
  return match ? cidrs(match[1]!.split(',')) : [];
}

/** `--flag=a,b` or `--flag a,b` among the control plane's arguments. */
function flagValue(args: readonly string[], flag: string): string[] {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`${flag}=`)) return cidrs(arg.slice(flag.length + 1).split(','));
    if (arg === flag && i + 1 < args.length) return cidrs(args[i + 1]!.split(','));
  }
  return [];
}

/** The pod CIDRs Kubernetes itself knows: kubeadm's podSubnet, else --cluster-cidr, else the nodes' podCIDRs. */
function kubernetesPodCIDRs(sources: CoordinatorSources): { cidrs: string[]; from: string } {
  const kubeadm = kubeadmField(sources.kubeadmClusterConfiguration, 'podSubnet');
  if (kubeadm.length > 0) return { cidrs: kubeadm, from: 'kubeadm-config' };
  const flag = flagValue(sources.controlPlaneArgs, '--cluster-cidr');
  if (flag.length > 0) return { cidrs: flag, from: 'kube-controller-manager --cluster-cidr' };
  return { cidrs: cidrs(sources.nodePodCIDRs), from: 'nodes' };
}

export function serviceCIDRsOf(sources: CoordinatorSources): string[] {
  const objects = cidrs(sources.serviceCIDRObjects ?? []);
  if (objects.length > 0) return objects;
  const kubeadm = kubeadmField(sources.kubeadmClusterConfiguration, 'serviceSubnet');
  if (kubeadm.length > 0) return kubeadm;
  return flagValue(sources.controlPlaneArgs, '--service-cluster-ip-range');
}

/**
 * `auto` as Underpin resolves it, from the cluster rather than from one node's CNI
 * configuration directory (upstream's way; Underpin's controller reads no node
 * files): Calico when it has IPPools, else Cilium when cilium-config exists, else
 * `cluster` when Kubernetes knows pod CIDRs, else `none`.
 */
export function resolvePodCIDRType(type: PodCIDRType, sources: CoordinatorSources): Exclude<PodCIDRType, 'auto'> {
  if (type !== 'auto') return type;
  if ((sources.calicoPools ?? []).length > 0) return 'calico';
  if (sources.ciliumConfig !== undefined) return 'cilium';
  return kubernetesPodCIDRs(sources).cidrs.length > 0 ? 'cluster' : 'none';
}

type PodCIDRs = { ok: true; cidrs: string[] } | { ok: false; reason: string };

function ciliumPodCIDRs(sources: CoordinatorSources): PodCIDRs {
  const config = sources.ciliumConfig;
  if (config === undefined) return { ok: false, reason: 'podCIDRType is cilium, but ConfigMap kube-system/cilium-config does not exist; install Cilium, or set spec.podCIDRType to cluster or none' };
  const ipam = config.ipam ?? 'cluster-pool';
  switch (ipam) {
    case 'cluster-pool':
    case 'cluster-pool-v2beta': {
      const found = cidrs([config['cluster-pool-ipv4-cidr'], config['cluster-pool-ipv6-cidr']].flatMap((v) => (v ? v.split(/[\s,]+/).filter(Boolean) : [])));
      return found.length > 0 ? { ok: true, cidrs: found } : { ok: false, reason: `cilium-config has ipam ${ipam} but no cluster-pool-ipv4-cidr or cluster-pool-ipv6-cidr` };
    }
    case 'multi-pool':
      if (sources.ciliumPodIPPools === undefined) return { ok: false, reason: 'cilium-config has ipam multi-pool, but the cluster serves no CiliumPodIPPools (cilium.io/v2alpha1)' };
      return { ok: true, cidrs: cidrs(sources.ciliumPodIPPools) };
    case 'kubernetes':
      return { ok: true, cidrs: kubernetesPodCIDRs(sources).cidrs };
    default:
      return { ok: false, reason: `cilium-config has ipam ${JSON.stringify(ipam)}, which Underpin cannot read pod CIDRs from (cluster-pool, multi-pool and kubernetes are read); set spec.podCIDRType to none and list the pod CIDRs in spec.hijackCIDR` };
  }
}

function podCIDRsOf(type: Exclude<PodCIDRType, 'auto'>, sources: CoordinatorSources): PodCIDRs {
  switch (type) {
    case 'none':
      return { ok: true, cidrs: [] };
    case 'cluster': {
      const found = kubernetesPodCIDRs(sources).cidrs;
      return found.length > 0
        ? { ok: true, cidrs: found }
        : { ok: false, reason: 'podCIDRType is cluster, but no pod CIDR was found (no kubeadm-config podSubnet, no kube-controller-manager --cluster-cidr, no node with spec.podCIDRs); set spec.podCIDRType to none, or start kube-controller-manager with --allocate-node-cidrs' };
    }
    case 'calico':
      if (sources.calicoPools === undefined) return { ok: false, reason: 'podCIDRType is calico, but the cluster serves no Calico IPPools (crd.projectcalico.org/v1 ippools); install Calico, or set spec.podCIDRType to cluster or none' };
      return { ok: true, cidrs: cidrs(sources.calicoPools) };
    case 'cilium':
      return ciliumPodCIDRs(sources);
  }
}

/**
 * NotReady (with the reason) when the pod CIDRs of the type cannot be read or no
 * Service CIDR is found; the lists then hold what was found, so the plugin can
 * still route what is known.
 */
export function coordinatorStatusFor(podCIDRType: PodCIDRType, sources: CoordinatorSources): CoordinatorStatusFields {
  const type = resolvePodCIDRType(podCIDRType, sources);
  const pods = podCIDRsOf(type, sources);
  const serviceCIDR = serviceCIDRsOf(sources);
  const reasons: string[] = [];
  if (!pods.ok) reasons.push(pods.reason);
  if (serviceCIDR.length === 0) {
    reasons.push('no Service CIDR found (no networking.k8s.io/v1 ServiceCIDR, no kubeadm-config serviceSubnet, no kube-apiserver or kube-controller-manager --service-cluster-ip-range); write serviceCIDR in the coordinator configuration of each network');
  }
  const overlayPodCIDR = pods.ok ? pods.cidrs : [];
  if (reasons.length > 0) return { phase: COORDINATOR_PHASES.notReady, reason: reasons.join('; '), overlayPodCIDR, serviceCIDR };
  return { phase: COORDINATOR_PHASES.synced, overlayPodCIDR, serviceCIDR };
}

/** Whether the status written differs from the one wanted (missing lists count as empty). */
export function coordinatorStatusDiffers(current: { phase?: string | null; reason?: string | null; overlayPodCIDR?: readonly string[] | null; serviceCIDR?: readonly string[] | null } | null | undefined, wanted: CoordinatorStatusFields): boolean {
  const same = (a: readonly string[] | null | undefined, b: readonly string[]) => (a ?? []).length === b.length && (a ?? []).every((x, i) => x === b[i]);
  return (current?.phase ?? '') !== wanted.phase || (current?.reason ?? '') !== (wanted.reason ?? '') || !same(current?.overlayPodCIDR, wanted.overlayPodCIDR) || !same(current?.serviceCIDR, wanted.serviceCIDR);
}
