// `underpin check`'s judgement, pure: from one snapshot of the cluster (pods with a
// binding, IPClaims, pools, subnets, reserved IPs, StatefulSets) every breach of
// DESIGN's invariants and every drift, each naming the objects to look at and what to
// do. A breach is an address two pods may use at once, or one that should never have
// been handed out; a drift is what the reconciler converges on its own (a claim left
// behind, a status behind its claims) and points at it when it does not.
import { heldBySpiderpool, readPoolAllocations } from '../../ipam/adoption/spiderpool-records.js';
import { formatAddress, type Address } from '../../ipam/address.js';
import { BINDING_ID_LABEL, bindingAddresses, readPodBinding } from '../../ipam/binding.js';
import { claimInUse, type IPClaim } from '../../ipam/ip-claim.js';
import { readUnderlayBlock } from '../../ipam/underlay-block.js';
import type { PoolRecord, ReservedIPRecord, SubnetRecord } from '../../kube/underlay-records.js';
import { podState, type PodState } from '../claim-binding.js';
import { judgeClaimRelease, statefulSetState } from '../claim-release.js';
import { poolStatusFor, reservedSets, subnetStatusFor } from '../pool-status.js';
import type { PodRecord, StatefulSetRecord } from '../resources.js';

export interface ClusterSnapshot {
  /** Pods carrying a binding (label underpin.dev/binding-id). */
  pods: readonly PodRecord[];
  claims: readonly IPClaim[];
  pools: readonly PoolRecord[];
  subnets: readonly SubnetRecord[];
  reserved: readonly ReservedIPRecord[];
  statefulSets: readonly StatefulSetRecord[];
  /** When it was read. */
  nowMs: number;
}

export type CheckName =
  | 'address-bound-twice'
  | 'address-claimed-by-another-pod'
  | 'claim-outside-pool'
  | 'reserved-address-claimed'
  | 'pod-address-unclaimed'
  | 'claim-left-behind'
  | 'claim-unreadable'
  | 'claim-bound-to-another-pod'
  | 'pool-status-drift'
  | 'subnet-status-drift'
  | 'held-by-spiderpool';

export interface Finding {
  severity: 'breach' | 'drift';
  check: CheckName;
  message: string;
  /** `kind namespace/name` of each object to look at. */
  objects: string[];
  fix: string;
}

export interface CheckOptions {
  /** The reconciler's orphanClaimTtlSeconds: a claim younger than this may be waiting for its pod. */
  orphanTtlMs: number;
}

const key = (address: Address) => `${address.family}/${address.value}`;
const podRef = (pod: PodState) => `pod ${pod.namespace}/${pod.name}`;
const claimRef = (claim: IPClaim) => `ipclaim ${claim.metadata.name}`;
const RECONCILER = 'the reconciler converges this by itself within seconds; if it stays, check that it runs (kubectl -n underpin-system get pods; its log)';

interface BoundPod {
  pod: PodState;
  bindingID: string | undefined;
  addresses: Address[];
}

/** Every finding, breaches first. */
export function checkConsistency(snapshot: ClusterSnapshot, options: CheckOptions): Finding[] {
  const findings: Finding[] = [];
  const bound: BoundPod[] = snapshot.pods.flatMap((record) => {
    const binding = readPodBinding(record.metadata.annotations);
    const addresses = binding?.ok ? bindingAddresses(binding.value) : undefined;
    return addresses ? [{ pod: podState(record), bindingID: record.metadata.labels?.[BINDING_ID_LABEL], addresses }] : [];
  });
  const live = bound.filter((b) => !b.pod.finished && !b.pod.terminating);
  const claimsByAddress = new Map<string, IPClaim>();
  for (const claim of snapshot.claims) {
    const use = claimInUse(claim);
    if (!use) {
      findings.push({
        severity: 'drift',
        check: 'claim-unreadable',
        message: `IPClaim ${claim.metadata.name} locks no address: its name does not encode spec.address ${claim.spec.address}`,
        objects: [claimRef(claim)],
        fix: 'no webhook writes such a claim; delete it (kubectl delete ipclaim NAME) once no pod uses its address',
      });
      continue;
    }
    claimsByAddress.set(key(use.address), claim);
  }

  findings.push(...addressesBoundTwice(live), ...podAddressesUnlocked(live, claimsByAddress), ...claimsOutsidePools(snapshot));
  findings.push(...claimsLeftBehind(snapshot, options), ...claimsOfOtherPods(snapshot), ...statusDrift(snapshot));
  return findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'breach' ? -1 : 1));
}

/** Invariant 1: no address is bound to two live pods. */
function addressesBoundTwice(live: readonly BoundPod[]): Finding[] {
  const holders = new Map<string, { address: Address; pods: PodState[] }>();
  for (const { pod, addresses } of live) {
    for (const address of addresses) {
      const entry = holders.get(key(address)) ?? { address, pods: [] };
      entry.pods.push(pod);
      holders.set(key(address), entry);
    }
  }
  return [...holders.values()]
    .filter((h) => h.pods.length > 1)
    .map(({ address, pods }) => ({
      severity: 'breach' as const,
      check: 'address-bound-twice' as const,
      message: `${formatAddress(address)} is bound to ${pods.length} live pods: ${pods.map((p) => `${p.namespace}/${p.name}`).join(', ')}`,
      objects: pods.map(podRef),
      fix: `delete all but one of these pods (their replacements get new addresses), then report it: no admission may hand out one address twice`,
    }));
}

/** A live pod's address must be locked by a claim of its own binding. */
function podAddressesUnlocked(live: readonly BoundPod[], claims: ReadonlyMap<string, IPClaim>): Finding[] {
  const findings: Finding[] = [];
  for (const { pod, bindingID, addresses } of live) {
    for (const address of addresses) {
      const claim = claims.get(key(address));
      const text = formatAddress(address);
      if (!claim) {
        findings.push({
          severity: 'drift',
          check: 'pod-address-unclaimed',
          message: `${text} of ${podRef(pod)} has no IPClaim: the address is not locked, and admission may hand it to another pod`,
          objects: [podRef(pod)],
          fix: `recreate the pod (kubectl delete pod ${pod.name} -n ${pod.namespace}) so it is admitted with a claim; if its claim was deleted by hand, do not do that again`,
        });
      } else if (claim.spec.bindingID !== bindingID || claim.spec.namespace !== pod.namespace) {
        findings.push({
          severity: 'breach',
          check: 'address-claimed-by-another-pod',
          message: `${text} of ${podRef(pod)} is claimed by another binding (IPClaim ${claim.metadata.name}: namespace ${claim.spec.namespace}, binding ${claim.spec.bindingID}${claim.status?.podName ? `, pod ${claim.spec.namespace}/${claim.status.podName}` : ''})`,
          objects: [podRef(pod), claimRef(claim)],
          fix: `two owners of one address: delete ${podRef(pod)} so it is admitted again with an address of its own`,
        });
      }
    }
  }
  return findings;
}

/** Invariant 1: no claim outside its pool, none on a reserved address. */
function claimsOutsidePools(snapshot: ClusterSnapshot): Finding[] {
  const pools = new Map(snapshot.pools.map((p) => [p.metadata.name, readUnderlayBlock(p.spec).block] as const));
  const reserved = reservedSets(snapshot.reserved);
  const findings: Finding[] = [];
  for (const claim of snapshot.claims) {
    const use = claimInUse(claim);
    if (!use) continue;
    const text = formatAddress(use.address);
    const block = pools.get(claim.spec.pool);
    if (!pools.has(claim.spec.pool) || (block && !block.usable.containsAddress(use.address))) {
      findings.push({
        severity: 'breach',
        check: 'claim-outside-pool',
        message: pools.has(claim.spec.pool) ? `IPClaim ${text} is outside its pool ${claim.spec.pool} (not in spec.ips − excludeIPs)` : `IPClaim ${text} names pool ${claim.spec.pool}, which does not exist`,
        objects: [claimRef(claim), `spiderippool ${claim.spec.pool}`],
        fix: `the pool changed under a claim (edited or deleted bypassing the webhook?): put ${text} back in the pool's spec.ips, or delete the pod holding it so it is admitted again`,
      });
    }
    if (reserved[use.address.family].containsAddress(use.address)) {
      findings.push({
        severity: 'breach',
        check: 'reserved-address-claimed',
        message: `IPClaim ${text} (pool ${claim.spec.pool}) is on an address a SpiderReservedIP reserves`,
        objects: [claimRef(claim), ...snapshot.reserved.filter((r) => reservedSets([r])[use.address.family].containsAddress(use.address)).map((r) => `spiderreservedip ${r.metadata.name}`)],
        fix: `if the address must stay reserved, delete the pod holding it (it is admitted again elsewhere); else remove it from the SpiderReservedIP`,
      });
    }
  }
  return findings;
}

/** Invariant 2: claims converge to the live and retained pods. The reconciler's own release rules say which claim is left behind. */
function claimsLeftBehind(snapshot: ClusterSnapshot, options: CheckOptions): Finding[] {
  const podsByBinding = new Map<string, PodState[]>();
  for (const record of snapshot.pods) {
    const id = record.metadata.labels?.[BINDING_ID_LABEL];
    if (!id) continue;
    const k = `${record.metadata.namespace}/${id}`;
    podsByBinding.set(k, [...(podsByBinding.get(k) ?? []), podState(record)]);
  }
  const sets = new Map(snapshot.statefulSets.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, statefulSetState(s)] as const));
  const findings: Finding[] = [];
  for (const claim of snapshot.claims) {
    const pods = podsByBinding.get(`${claim.spec.namespace}/${claim.spec.bindingID}`) ?? [];
    const owner = claim.spec.owner;
    const set = owner?.kind === 'StatefulSet' ? sets.get(`${claim.spec.namespace}/${owner.name}`) : undefined;
    const verdict = judgeClaimRelease({ claim, pods, statefulSet: set, nowMs: snapshot.nowMs, orphanTtlMs: options.orphanTtlMs });
    if (verdict.action !== 'release') continue;
    findings.push({
      severity: 'drift',
      check: 'claim-left-behind',
      message: `IPClaim ${claim.metadata.name} (pool ${claim.spec.pool}) should have been released (${verdict.reason}): ${verdict.message.replace(/^released /, '')}`,
      objects: [claimRef(claim), ...(verdict.pod ? [`pod ${verdict.pod.namespace}/${verdict.pod.name}`] : [])],
      fix: RECONCILER,
    });
  }
  return findings;
}

/** A bound claim's status names the pod holding it. */
function claimsOfOtherPods(snapshot: ClusterSnapshot): Finding[] {
  const byBinding = new Map<string, PodRecord[]>();
  for (const pod of snapshot.pods) {
    const id = pod.metadata.labels?.[BINDING_ID_LABEL];
    if (id) byBinding.set(`${pod.metadata.namespace}/${id}`, [...(byBinding.get(`${pod.metadata.namespace}/${id}`) ?? []), pod]);
  }
  const findings: Finding[] = [];
  for (const claim of snapshot.claims) {
    const uid = claim.status?.podUID;
    const pods = byBinding.get(`${claim.spec.namespace}/${claim.spec.bindingID}`) ?? [];
    if (!uid || pods.length === 0 || pods.some((p) => p.metadata.uid === uid)) continue;
    findings.push({
      severity: 'drift',
      check: 'claim-bound-to-another-pod',
      message: `IPClaim ${claim.metadata.name} says it is bound to pod ${claim.spec.namespace}/${claim.status?.podName ?? '?'} (uid ${uid}), but its binding is carried by ${pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`,
      objects: [claimRef(claim), ...pods.map((p) => `pod ${p.metadata.namespace}/${p.metadata.name}`)],
      fix: RECONCILER,
    });
  }
  return findings;
}

/** Pool and subnet status equal to what the claims say. */
function statusDrift(snapshot: ClusterSnapshot): Finding[] {
  const reserved = reservedSets(snapshot.reserved);
  const findings: Finding[] = [];
  for (const pool of snapshot.pools) {
    if (heldBySpiderpool(pool.metadata)) {
      // Its status is Spiderpool's records until adoption releases it: not drift, progress.
      const recorded = readPoolAllocations(pool.metadata.name, pool.status?.allocatedIPs).records.length;
      findings.push({
        severity: 'drift',
        check: 'held-by-spiderpool',
        message: `SpiderIPPool ${pool.metadata.name} is still held by Spiderpool: ${recorded} addresses it recorded stay in use until every live pod among them is adopted`,
        objects: [`spiderippool ${pool.metadata.name}`],
        fix: `see why: kubectl get events -A --field-selector reason=SpiderpoolAdoptionBlocked (and involvedObject.name=${pool.metadata.name}); docs/migrating-from-spiderpool.md`,
      });
      continue;
    }
    const desired = poolStatusFor(pool, snapshot.claims, reserved);
    if (!desired) continue;
    const status = pool.status ?? undefined;
    const written = Object.keys(parseObject(status?.allocatedIPs)).sort().join(',');
    const wanted = Object.keys(parseObject(desired.allocatedIPs)).sort().join(',');
    const wrong = [
      status?.allocatedIPCount !== desired.allocatedIPCount ? `allocatedIPCount ${status?.allocatedIPCount ?? 'unset'}, claims ${desired.allocatedIPCount}` : undefined,
      status?.totalIPCount !== desired.totalIPCount ? `totalIPCount ${status?.totalIPCount ?? 'unset'}, should be ${desired.totalIPCount}` : undefined,
      desired.allocatedIPs === null && status?.allocatedIPs
        ? 'allocatedIPs is still written, but its claims are too many for it: the reconciler leaves it out'
        : written !== wanted
          ? 'allocatedIPs lists other addresses than its claims'
          : undefined,
    ].filter(Boolean);
    if (wrong.length > 0) {
      findings.push({ severity: 'drift', check: 'pool-status-drift', message: `SpiderIPPool ${pool.metadata.name} status: ${wrong.join('; ')}`, objects: [`spiderippool ${pool.metadata.name}`], fix: RECONCILER });
    }
  }
  for (const subnet of snapshot.subnets) {
    if (heldBySpiderpool(subnet.metadata)) continue; // released with its network's pools
    const desired = subnetStatusFor(subnet, snapshot.pools, reserved);
    if (!desired) continue;
    const status = subnet.status ?? undefined;
    const wrong = [
      status?.allocatedIPCount !== desired.allocatedIPCount ? `allocatedIPCount ${status?.allocatedIPCount ?? 'unset'}, should be ${desired.allocatedIPCount}` : undefined,
      status?.totalIPCount !== desired.totalIPCount ? `totalIPCount ${status?.totalIPCount ?? 'unset'}, should be ${desired.totalIPCount}` : undefined,
    ].filter(Boolean);
    if (wrong.length > 0) {
      findings.push({ severity: 'drift', check: 'subnet-status-drift', message: `SpiderSubnet ${subnet.metadata.name} status: ${wrong.join('; ')}`, objects: [`spidersubnet ${subnet.metadata.name}`], fix: RECONCILER });
    }
  }
  return findings;
}

function parseObject(text: string | null | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
