// Judging a workload at its own admission, before it makes a single pod: its pod
// template is bound exactly as pod admission binds a pod (bindPod, the same code
// path, claims kept in memory), so what would refuse every pod refuses the workload
// with the pod's own message. What may pass by itself — pools too full for its
// replicas or its rolling updates, StatefulSet addresses kept outside their pools —
// is said as a warning.
import { familyName, formatAddress, type IPFamily } from './address.js';
import { FAMILIES } from './allocator.js';
import { bindRequested, podRequests, requestPools, takesUnderpinAddresses, type PodBindingPolicy, type PodBindingSource, type PodDenialReason, type PodRequests } from './bind-pod.js';
import { MemoryClaimStore } from './claim-store.js';
import type { OwnerReference } from './object-meta.js';
import { poolCandidates, type PoolView } from './pool-candidates.js';
import { poolSourceName, type InterfaceRequest } from './pod-network-request.js';
import type { OrdinalClaim } from './statefulset-retention.js';
import { templatePod } from './template-pod.js';
import { rollingUpdateRoom, type Workload } from './workload.js';

/** A claim as the judgement counts it: who holds the address. */
export interface HeldClaim {
  spec: { namespace: string; owner?: Pick<OwnerReference, 'kind' | 'name'> | null | undefined };
}

export interface WorkloadJudgeSource extends PodBindingSource {
  /** The claims on a pool's addresses. */
  claimsOfPool(pool: string): readonly HeldClaim[];
}

export type WorkloadFindingReason = PodDenialReason | 'replicas-exceed-pool' | 'surge-exceeds-spare' | 'retained-address-outside-pool';

export interface WorkloadFinding {
  reason: WorkloadFindingReason;
  /** What the user reads after the workload's name. */
  message: string;
}

export interface WorkloadJudgement {
  /** What no pod of the workload could pass (the pod's own denial). */
  denial?: WorkloadFinding;
  /** What will refuse some of its pods now, but may pass by itself. */
  warnings: WorkloadFinding[];
}

export interface WorkloadJudgeRequest {
  workload: Workload;
  namespace: string;
  /** Pods it wants (a DaemonSet's counted nodes, a scale's new size). */
  replicas: number;
  policy: PodBindingPolicy;
}

export async function judgeWorkload({ workload, namespace, replicas, policy }: WorkloadJudgeRequest, source: WorkloadJudgeSource): Promise<WorkloadJudgement> {
  const pod = templatePod(workload, namespace);
  if (!takesUnderpinAddresses(pod)) return { warnings: [] };
  const request = { pod, namespace, policy };
  // bindPod, in its two halves: the requests are what the warnings count against.
  const asked = await podRequests(request, source);
  if (!asked.ok) return { denial: { reason: asked.error.reason, message: asked.error.message }, warnings: [] };
  const bound = await bindRequested(request, asked.value, { source, store: new MemoryClaimStore() });
  if (!bound.ok && bound.error.reason !== 'pool-exhausted') return { denial: { reason: bound.error.reason, message: bound.error.message }, warnings: [] };
  const nics = nicPools(asked.value, source);
  return { warnings: [...capacityWarnings(workload, replicas, namespace, nics, source), ...retentionWarnings(workload, namespace, replicas, nics, source)] };
}

/** One NIC and family, with the pools it may take addresses from now. */
interface NicPools {
  nic: InterfaceRequest;
  family: IPFamily;
  pools: PoolView[];
}

function nicPools(asked: PodRequests, source: PodBindingSource): NicPools[] {
  const pools = requestPools(source, asked);
  return asked.requests.flatMap((nic) =>
    FAMILIES.flatMap(([family, key]) => {
      if (nic[key].length === 0) return [];
      const context = { ...asked.selection, ...(nic.network ? { network: nic.network } : {}) };
      return [{ nic, family, pools: poolCandidates(nic[key], family, pools, context).pools }];
    }),
  );
}

/** Do the workload's own pods hold this claim? (A Deployment's through its ReplicaSets `<name>-<hash>`, a CronJob's through its Jobs `<name>-<time>`.) */
function heldByWorkload(workload: Workload, namespace: string, claim: HeldClaim): boolean {
  const owner = claim.spec.owner;
  const name = workload.metadata.name ?? '';
  if (!owner || claim.spec.namespace !== namespace) return false;
  if (workload.kind === 'Deployment') return owner.kind === 'ReplicaSet' && owner.name.startsWith(`${name}-`) && /^[a-z0-9]+$/.test(owner.name.slice(name.length + 1));
  if (workload.kind === 'CronJob') return owner.kind === 'Job' && owner.name.startsWith(`${name}-`) && /^\d+$/.test(owner.name.slice(name.length + 1));
  return owner.kind === workload.kind && owner.name === name;
}

const plural = (count: number | bigint, one: string, many = `${one}s`) => `${count} ${count === 1 || count === 1n ? one : many}`;
const poolsPhrase = (pools: readonly PoolView[]) => (pools.length === 1 ? `pool ${pools[0]!.name}` : `pools ${pools.map((p) => p.name).join(', ')}`);

/** Replicas, and a rolling update's surge, against the addresses the NIC's pools have for this workload. */
function capacityWarnings(workload: Workload, replicas: number, namespace: string, nics: readonly NicPools[], source: WorkloadJudgeSource): WorkloadFinding[] {
  const warnings: WorkloadFinding[] = [];
  const room = rollingUpdateRoom(workload, replicas);
  for (const { nic, family, pools } of nics) {
    if (pools.length === 0) continue; // a denial said why
    const reserved = source.reservedSet(family);
    let usable = 0n;
    const others = new Map<string, number>();
    for (const pool of pools) {
      usable += pool.block.usable.difference(reserved).count();
      for (const claim of source.claimsOfPool(pool.name)) {
        if (heldByWorkload(workload, namespace, claim)) continue;
        const holder = claim.spec.owner ? `${claim.spec.owner.kind} ${claim.spec.namespace}/${claim.spec.owner.name}` : `pods of namespace ${claim.spec.namespace} without an owner`;
        others.set(holder, (others.get(holder) ?? 0) + 1);
      }
    }
    const heldByOthers = [...others.values()].reduce((a, b) => a + b, 0);
    const forIt = usable > BigInt(heldByOthers) ? usable - BigInt(heldByOthers) : 0n;
    const where = `${familyName(family)} address${replicas === 1 ? '' : 'es'} for interface ${nic.interface}`;
    if (forIt < BigInt(replicas)) {
      const holders = [...others].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      const shown = holders.slice(0, 3).map(([holder, count]) => `${holder} (${count})`);
      if (holders.length > 3) shown.push(`${holders.length - 3} more`);
      const held = heldByOthers === 0 ? 'none held by other pods' : `${heldByOthers} held by ${shown.join(', ')}`;
      const refused = BigInt(replicas) - forIt;
      warnings.push({
        reason: 'replicas-exceed-pool',
        message: `${plural(replicas, 'replica')} need ${replicas} ${where}, but ${poolsPhrase(pools)} ${pools.length === 1 ? 'has' : 'have'} ${forIt} for it (${usable} usable, ${held}): ${plural(refused, 'pod')} will be refused until addresses are freed or added (spec.ips of ${poolsPhrase(pools)}, or another pool in ${poolSourceName(nic)})`,
      });
      continue;
    }
    const spare = forIt - BigInt(replicas);
    if (BigInt(room.surge) > spare) {
      const stuck = spare === 0n && !room.mayRemoveFirst;
      warnings.push({
        reason: 'surge-exceeds-spare',
        message:
          `maxSurge ${room.surgeText} lets a rolling update add ${plural(room.surge, 'pod')} before old ones go, but ${poolsPhrase(pools)} ${spare === 0n ? 'has no address' : `${spare === 1n ? 'has' : 'have'} only ${plural(spare, 'address', 'addresses')}`} to spare for interface ${nic.interface} (${familyName(family)}): ` +
          (stuck
            ? `with maxUnavailable 0 no old pod goes first, so a rollout cannot progress; set maxSurge to 0 and maxUnavailable to 1, or add addresses to the pool`
            : `new pods will wait for old pods' addresses; lower maxSurge to ${spare}, or add addresses to the pool`),
      });
    }
  }
  return warnings;
}

/** A StatefulSet's ordinals keep their addresses only while the NIC's pools still hold them. */
function retentionWarnings(workload: Workload, namespace: string, replicas: number, nics: readonly NicPools[], source: WorkloadJudgeSource): WorkloadFinding[] {
  if (workload.kind !== 'StatefulSet') return [];
  const name = workload.metadata.name ?? '';
  const start = workload.spec.ordinals?.start ?? 0;
  const warnings: WorkloadFinding[] = [];
  for (let ordinal = start; ordinal < start + replicas; ordinal++) {
    for (const claim of source.claimsOfOrdinal(namespace, name, ordinal) as readonly OrdinalClaim[]) {
      const { address } = claim.inUse;
      const nic = nics.find((n) => n.nic.interface === claim.spec.interface && n.family === address.family);
      if (!nic) continue; // the template no longer addresses that NIC: the claim goes with the ordinal's pod
      const pool = nic.pools.find((p) => p.name === claim.spec.pool);
      const kept = `pod ${name}-${ordinal} keeps ${formatAddress(address)} for interface ${claim.spec.interface} from pool ${claim.spec.pool}`;
      if (!pool) {
        warnings.push({
          reason: 'retained-address-outside-pool',
          message: `${kept}, but that pool is not one interface ${claim.spec.interface} may use now (${poolSourceName(nic.nic)}): the pod gets a new address when it is next created; name ${claim.spec.pool} again, or make it serve this pod, to keep the address`,
        });
      } else if (!pool.block.usable.containsAddress(address)) {
        warnings.push({
          reason: 'retained-address-outside-pool',
          message: `${kept}, but ${claim.spec.pool} no longer holds that address: the pod gets a new address when it is next created; put ${formatAddress(address)} back in ${claim.spec.pool}'s spec.ips to keep it`,
        });
      }
    }
  }
  return warnings;
}

/**
 * The source as it will be once the workload's auto pools are written: judging a new
 * Deployment must find the pools its admission is about to create.
 */
export function withPlannedPools<S extends WorkloadJudgeSource>(source: S, planned: readonly PoolView[]): S {
  if (planned.length === 0) return source;
  const merge = (pools: Iterable<PoolView>) => new Map([...[...pools].map((p) => [p.name, p] as const), ...planned.map((p) => [p.name, p] as const)]);
  const views = merge(source.poolViews().values());
  return Object.assign(Object.create(source) as S, {
    poolViews: () => views,
    poolsFromAPI: async () => [...merge(await source.poolsFromAPI()).values()],
    autoPoolsFromAPI: async (namespace: string) => [...merge(await source.autoPoolsFromAPI(namespace)).values()],
  });
}
