// Sizing an application's auto pools: for each NIC and family its pod template names
// a subnet for, the pool that holds replicas + N of that subnet's addresses, created
// or resized. The webhook runs it when the application is admitted (so its first pods
// find their pools), the reconciler when the application changed in ways the webhook
// could not finish (a shrink waiting for pods to go). Where pools are read and written
// is the state's business: the cluster's caches and API in production, nothing at
// all for a dry run.
import { familyName, type IPFamily } from './address.js';
import type { BlockHolder } from './address-conflicts.js';
import { AUTO_POOL_LABEL, autoPoolLabels, autoPoolName, desiredPoolSize, findAutoPool, planAutoPool, type AppRef } from './auto-pool.js';
import type { PoolView } from './pool-candidates.js';
import { RangeSet } from './range-set.js';
import { err, ok, type Result } from './result.js';
import { readUnderlayBlock } from './underlay-block.js';
import { partOfParentApplication, readAutoPoolRequest, templateAnnotations, workloadReplicas, type AutoPoolNic, type Workload } from './workload.js';

export interface AutoPoolWrite {
  name: string;
  labels: Record<string, string>;
  subnet: string;
  ips: string[];
  /** Present to update an existing pool (optimistic concurrency). */
  existing?: { resourceVersion?: string };
}

/** What sizing reads and writes. */
export interface AutoPoolState {
  readonly hasSynced: boolean;
  /** The subnet's address block; `holder` is absent when the stored subnet is invalid. */
  subnet(name: string): { holder?: BlockHolder } | undefined;
  poolViews(): ReadonlyMap<string, PoolView>;
  reservedSet(family: IPFamily): RangeSet;
  /** The addresses pods hold from a pool (undefined: none). */
  inUse(pool: string): RangeSet | undefined;
  /** Nodes a DaemonSet with this nodeSelector runs on. */
  countNodes(nodeSelector: Record<string, string>): Promise<number>;
  /** Create or update the pool (Underpin's own Spider* admission judges it); throws with the API's message. */
  writePool(pool: AutoPoolWrite): Promise<void>;
}

/**
 * The same state, with writes kept in memory instead of sent: a dry run judges
 * everything and changes nothing, and what it would write is the pools the
 * workload's pods will find (`pools()`, as pod admission sees pools).
 */
export function recordingWrites(state: AutoPoolState): { state: AutoPoolState; pools(): PoolView[] } {
  const written = new Map<string, AutoPoolWrite>();
  const recording: AutoPoolState = {
    get hasSynced() {
      return state.hasSynced;
    },
    subnet: (name) => state.subnet(name),
    poolViews: () => state.poolViews(),
    reservedSet: (family) => state.reservedSet(family),
    inUse: (pool) => state.inUse(pool),
    countNodes: (nodeSelector) => state.countNodes(nodeSelector),
    writePool: async (pool) => {
      written.set(pool.name, pool);
    },
  };
  const pools = () =>
    [...written.values()].flatMap((write) => {
      const existing = state.poolViews().get(write.name);
      const spec = { ...(existing?.spec ?? {}), subnet: write.subnet, ips: write.ips };
      const block = readUnderlayBlock(spec).block;
      return block ? [{ name: write.name, spec, block, deleting: false, labels: { ...(existing?.labels ?? {}), ...write.labels } }] : [];
    });
  return { state: recording, pools };
}

export interface SizingRefusal {
  /** Said of the application (callers name it). */
  message: string;
  /** The HTTP status admission answers with: 403 (the application's fault, the default), 500 or 503 (ours). */
  code?: 500 | 503;
}

export interface AutoPoolSizerOptions {
  /** N of the default `+N` when `ippool-ip-number` is absent. */
  defaultExtraAddresses: number;
  /** Pause before writing again after a conflict (attempt 1, 2, …). */
  backoff?: (attempt: number) => Promise<void>;
}

const FAMILIES = [
  [4, 'ipv4'],
  [6, 'ipv6'],
] as const;
const WRITE_ATTEMPTS = 4;

const sleepBackoff = (attempt: number) => new Promise<void>((r) => setTimeout(r, 150 * attempt));

/** One pool to size: which application, NIC, family and subnet, and how many addresses. */
interface PoolTarget {
  app: AppRef;
  nic: AutoPoolNic;
  family: IPFamily;
  subnetName: string;
  size: number;
  reclaim: boolean;
}

export class AutoPoolSizer {
  constructor(
    private readonly state: AutoPoolState,
    private readonly options: AutoPoolSizerOptions,
  ) {}

  /** Create or resize the auto pools of an application to its desired size (replicas: a DaemonSet's counted nodes, a scale's new size); the warnings say what could not shrink yet. */
  async size(workload: Workload, namespace: string, replicasOverride?: number): Promise<Result<string[], SizingRefusal>> {
    // Pods of a Deployment's ReplicaSets and a CronJob's Jobs use their parent's pools.
    if (partOfParentApplication(workload)) return ok([]);
    const wanted = readAutoPoolRequest(templateAnnotations(workload), this.options.defaultExtraAddresses);
    if (!wanted.ok) return err({ message: wanted.error });
    if (!wanted.value) return ok([]);
    if (!this.state.hasSynced) return err({ message: 'the Underpin webhook is still loading the cluster state; retry in a few seconds', code: 503 });

    const uid = workload.metadata.uid;
    if (!uid) return err({ message: `has no metadata.uid; Underpin sizes auto pools in the validating webhook, which always sees one`, code: 500 });
    const app: AppRef = { apiVersion: workload.apiVersion, kind: workload.kind, namespace, name: workload.metadata.name ?? '', uid };
    const replicas = await workloadReplicas(workload, (selector) => this.state.countNodes(selector), replicasOverride);
    const size = desiredPoolSize(wanted.value.ipNumber, replicas);

    const warnings: string[] = [];
    for (const nic of wanted.value.nics) {
      for (const [family, key] of FAMILIES) {
        const subnetName = nic[key];
        if (!subnetName) continue;
        const outcome = await this.ensurePool({ app, nic, family, subnetName, size, reclaim: wanted.value.reclaim });
        if (!outcome.ok) return err({ message: outcome.error });
        if (outcome.value) warnings.push(outcome.value);
      }
    }
    return ok(warnings);
  }

  /** One pool at its size; the value is a warning, if any. */
  private async ensurePool(target: PoolTarget): Promise<Result<string | undefined, string>> {
    const backoff = this.options.backoff ?? sleepBackoff;
    for (let attempt = 1; ; attempt++) {
      const planned = this.plan(target);
      if (!planned.ok || !planned.value.write) return planned.ok ? ok(planned.value.warning) : planned;
      const { write, warning } = planned.value;
      try {
        await this.state.writePool(write);
        return ok(warning);
      } catch (error) {
        // Another admission took addresses this cache had not seen yet, or the pool
        // changed under us: judge again on fresher state.
        if (attempt >= WRITE_ATTEMPTS) return err(`writing auto pool ${write.name}: ${(error as Error).message}`);
        await backoff(attempt);
      }
    }
  }

  /** The pool this target needs, judged on the state as it is now: what to write (nothing when it is right already). */
  private plan({ app, nic, family, subnetName, size, reclaim }: PoolTarget): Result<{ write?: AutoPoolWrite; warning?: string }, string> {
    const found = this.state.subnet(subnetName);
    if (!found) return err(`SpiderSubnet "${subnetName}" (interface ${nic.interface}, ${familyName(family)}) does not exist; create it or fix ipam.spidernet.io/subnets`);
    const subnet = found.holder;
    if (!subnet) return err(`SpiderSubnet "${subnetName}" is invalid; fix it first`);
    if (subnet.cidr.family !== family) {
      return err(`SpiderSubnet "${subnetName}" is ${familyName(subnet.cidr.family)}, but it is named as the ${familyName(family)} subnet of ${nic.interface}`);
    }
    const pools = this.state.poolViews();
    const existing = findAutoPool(pools.values(), app, nic.interface, family);
    if (existing && existing.labels[AUTO_POOL_LABEL.ownerSubnet] !== subnetName) {
      return err(
        `its ${familyName(family)} auto pool ${existing.name} for ${nic.interface} takes its addresses from SpiderSubnet ${existing.labels[AUTO_POOL_LABEL.ownerSubnet]}; an auto pool cannot move to ${subnetName} while it exists — keep the subnet, or delete the application first`,
      );
    }
    // A same-named application's pool kept with ippool-reclaim: "false" is adopted.
    const adoptable = existing && existing.labels[AUTO_POOL_LABEL.appUID] !== app.uid && existing.labels[AUTO_POOL_LABEL.reclaim] === 'false';
    const mine = existing && (existing.labels[AUTO_POOL_LABEL.appUID] === app.uid || adoptable) ? existing : undefined;
    const name = mine?.name ?? autoPoolName(family, app, nic.interface);
    const otherPools = [...pools.values()]
      .filter((p) => p.name !== name && p.block.cidr.text === subnet.cidr.text)
      .reduce((acc, p) => acc.union(p.block.ips), RangeSet.empty(family));
    const plan = planAutoPool({
      family,
      subnetName,
      subnetUsable: subnet.usable,
      reserved: this.state.reservedSet(family),
      otherPools,
      current: mine ? mine.block.ips : RangeSet.empty(family),
      inUse: this.state.inUse(name) ?? RangeSet.empty(family),
      size,
    });
    if (!plan.ok) return err(`${familyName(family)} auto pool for ${nic.interface}: ${plan.error}`);
    const labels = autoPoolLabels(family, app, nic.interface, subnetName, subnet.cidr, reclaim);
    const unchanged = mine && plan.added === 0n && plan.removed === 0n && Object.entries(labels).every(([k, v]) => mine.labels[k] === v);
    const warning = plan.shortOfShrink
      ? `auto pool ${name} keeps ${plan.shortOfShrink} more address${plan.shortOfShrink === 1 ? '' : 'es'} than ${size}: they are in use; it shrinks when their pods are gone`
      : undefined;
    const result: { write?: AutoPoolWrite; warning?: string } = warning ? { warning } : {};
    if (unchanged) return ok(result);
    result.write = {
      name,
      labels,
      subnet: subnet.cidr.text,
      ips: plan.ips.toStrings(),
      ...(mine ? { existing: { ...(mine.resourceVersion ? { resourceVersion: mine.resourceVersion } : {}) } } : {}),
    };
    return ok(result);
  }
}
