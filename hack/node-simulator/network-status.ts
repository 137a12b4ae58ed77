// The `k8s.v1.cni.cncf.io/network-status` annotation Multus writes on a pod once its
// networks are up: one entry per attachment, from the CNI results, so tools that read
// it (and people running `kubectl get pod -o yaml`) see what a real node shows.
import type { CniResult } from './cni.js';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

export interface NetworkStatusEntry {
  name: string;
  interface: string;
  ips: string[];
  mac?: string;
  default?: boolean;
  dns: Record<string, never>;
  gateway?: string[];
}

/** Multus's entry for one attachment: addresses without prefix, the pod-side MAC, gateways. */
export function networkStatusEntry(attachment: { network: string; ifname: string; result?: CniResult }, isDefault: boolean): NetworkStatusEntry {
  const result = attachment.result;
  const ips = (result?.ips ?? []).map((ip) => ip.address.split('/')[0]!);
  const gateways = (result?.ips ?? []).flatMap((ip) => (ip.gateway ? [ip.gateway] : []));
  const podSide = (result?.interfaces ?? []).find((i) => i.name === attachment.ifname && i.sandbox);
  return {
    name: attachment.network,
    interface: attachment.ifname,
    ips,
    ...(podSide?.mac ? { mac: podSide.mac } : {}),
    ...(isDefault ? { default: true } : {}),
    dns: {},
    ...(gateways.length > 0 ? { gateway: gateways } : {}),
  };
}

export function networkStatus(attachments: readonly { network: string; ifname: string; result?: CniResult }[]): string {
  return JSON.stringify(attachments.map((a) => networkStatusEntry(a, a.ifname === 'eth0')), null, 2);
}
