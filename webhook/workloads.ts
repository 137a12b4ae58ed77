// Admission of applications (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob) and their scale subresource: an application whose pod template names
// subnets gets its auto pools created or resized BEFORE it is admitted, so its
// first pods find them. Runs in the validating webhook, which sees the UID.
import { familyName, type IPFamily } from '../ipam/address.js';
import { AUTO_POOL_LABEL, autoPoolLabels, autoPoolName, desiredPoolSize, findAutoPool, planAutoPool, type AppRef } from '../ipam/auto-pool.js';
import type { PoolView } from '../ipam/pool-candidates.js';
import { RangeSet } from '../ipam/range-set.js';
import { Workload, desiredReplicas, readAutoPoolRequest, templateAnnotations, type AutoPoolNic } from '../ipam/workload.js';
import { allow, deny, type AdmissionDecision, type AdmissionRequest } from './admission-review.js';
import type { HolderView } from '../kube/underlay-cache.js';

/** What workload admission reads and writes (the cache and the API in production). */
export interface WorkloadAdmissionState {
  readonly hasSynced: boolean;
  subnet(name: string): HolderView | undefined;
  poolViews(): ReadonlyMap<string, PoolView>;
  reservedSet(family: IPFamily): RangeSet;
  inUse(pool: string): RangeSet | undefined;
  /** The object a scale subresource request scales. */
  readWorkload(resource: string, namespace: string, name: string): Promise<unknown>;
  /** Nodes a DaemonSet with this nodeSelector runs on. */
  countNodes(nodeSelector: Record<string, string>): Promise<number>;
  /** Create or update the pool (our own Spider* admission judges it); throws with the API's message. */
  writePool(pool: AutoPoolWrite): Promise<void>;
}

export interface AutoPoolWrite {
  name: string;
  labels: Record<string, string>;
  subnet: string;
  ips: string[];
  /** Present to update an existing pool (optimistic concurrency). */
  existing?: { resourceVersion?: string };
}

const FAMILIES = [
  [4, 'ipv4'],
  [6, 'ipv6'],
] as const;
const WRITE_ATTEMPTS = 4;

export interface WorkloadAdmissionOptions {
  /** N of the default `+N` when `ippool-ip-number` is absent. */
  defaultExtraAddresses: number;
}

export class WorkloadAdmission {
  constructor(
    private readonly state: WorkloadAdmissionState,
    private readonly options: WorkloadAdmissionOptions,
  ) {}

  async validate(request: AdmissionRequest): Promise<AdmissionDecision> {
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow();
    const namespace = request.namespace ?? '';
    let object: unknown = request.object;
    let replicasOverride: number | undefined;
    if (request.subResource === 'scale') {
      // kubectl scale / HPA: the new size is in the Scale object, the template in the parent.
      replicasOverride = (request.object as { spec?: { replicas?: number } } | null)?.spec?.replicas ?? undefined;
      object = await this.state.readWorkload(request.resource.resource, namespace, request.name ?? '');
    }
    const parsed = Workload.safeParse(object);
    if (!parsed.success) return allow(); // not an application we size; the API server validates it
    const outcome = await this.sizeApplication(parsed.data, namespace, { replicas: replicasOverride, dryRun: request.dryRun === true });
    return outcome.ok ? allow(undefined, outcome.warnings) : deny(outcome.error, outcome.code ?? 403, outcome.code === 503 ? 'ServiceUnavailable' : 'Forbidden');
  }

  /**
   * Create or resize the auto pools of an application to its desired size. Used on
   * admission (before the application exists) and by the reconciler (to follow
   * changes the webhook could not finish, such as a shrink waiting for pods to go).
   */
  async sizeApplication(
    workload: Workload,
    namespace: string,
    options: { replicas?: number | undefined; dryRun?: boolean } = {},
  ): Promise<{ ok: true; warnings: string[] } | { ok: false; error: string; code?: number }> {
    // Pods of a Deployment's ReplicaSets and a CronJob's Jobs use their parent's pools.
    if (workload.metadata.ownerReferences?.some((o) => o.controller && (o.kind === 'Deployment' || o.kind === 'CronJob'))) return { ok: true, warnings: [] };
    const display = `${workload.kind} ${namespace}/${workload.metadata.name}`;
    const wanted = readAutoPoolRequest(templateAnnotations(workload), this.options.defaultExtraAddresses);
    if (!wanted.ok) return { ok: false, error: `${display}: ${wanted.error}` };
    if (!wanted.value) return { ok: true, warnings: [] };
    if (!this.state.hasSynced) return { ok: false, error: 'the Underpin webhook is still loading the cluster state; retry in a few seconds', code: 503 };

    const uid = workload.metadata.uid;
    if (!uid) return { ok: false, error: `${display}: has no metadata.uid; Underpin sizes auto pools in the validating webhook, which always sees one`, code: 500 };
    const app: AppRef = { apiVersion: workload.apiVersion, kind: workload.kind, namespace, name: workload.metadata.name ?? '', uid };
    let replicas = options.replicas ?? desiredReplicas(workload, 0);
    if (workload.kind === 'DaemonSet') {
      const nodeSelector = (workload.spec.template as { spec?: { nodeSelector?: Record<string, string> } } | null | undefined)?.spec?.nodeSelector ?? {};
      replicas = await this.state.countNodes(nodeSelector);
    }
    const size = desiredPoolSize(wanted.value.ipNumber, replicas);

    const warnings: string[] = [];
    for (const nic of wanted.value.nics) {
      for (const [family, key] of FAMILIES) {
        const subnetName = nic[key];
        if (!subnetName) continue;
        const outcome = await this.ensurePool(app, nic, family, subnetName, size, wanted.value.reclaim, options.dryRun === true);
        if (!outcome.ok) return { ok: false, error: `${display}: ${outcome.error}` };
        if (outcome.warning) warnings.push(outcome.warning);
      }
    }
    return { ok: true, warnings };
  }

  private async ensurePool(app: AppRef, nic: AutoPoolNic, family: IPFamily, subnetName: string, size: number, reclaim: boolean, dryRun: boolean) {
    for (let attempt = 1; ; attempt++) {
      const subnet = this.state.subnet(subnetName);
      if (!subnet) return { ok: false as const, error: `SpiderSubnet "${subnetName}" (interface ${nic.interface}, ${familyName(family)}) does not exist; create it or fix ipam.spidernet.io/subnets` };
      if (!subnet.holder) return { ok: false as const, error: `SpiderSubnet "${subnetName}" is invalid; fix it first` };
      if (subnet.holder.cidr.family !== family) {
        return { ok: false as const, error: `SpiderSubnet "${subnetName}" is ${familyName(subnet.holder.cidr.family)}, but it is named as the ${familyName(family)} subnet of ${nic.interface}` };
      }
      const pools = this.state.poolViews();
      const existing = findAutoPool(pools.values(), app, nic.interface, family);
      if (existing && existing.labels[AUTO_POOL_LABEL.ownerSubnet] !== subnetName) {
        return {
          ok: false as const,
          error: `its ${familyName(family)} auto pool ${existing.name} for ${nic.interface} takes its addresses from SpiderSubnet ${existing.labels[AUTO_POOL_LABEL.ownerSubnet]}; an auto pool cannot move to ${subnetName} while it exists — keep the subnet, or delete the application first`,
        };
      }
      // A same-named application's pool kept with ippool-reclaim: "false" is adopted.
      const adoptable = existing && existing.labels[AUTO_POOL_LABEL.appUID] !== app.uid && existing.labels[AUTO_POOL_LABEL.reclaim] === 'false';
      const mine = existing && (existing.labels[AUTO_POOL_LABEL.appUID] === app.uid || adoptable) ? existing : undefined;
      const name = mine?.name ?? autoPoolName(family, app, nic.interface);
      const otherPools = [...pools.values()]
        .filter((p) => p.name !== name && p.block.cidr.text === subnet.holder!.cidr.text)
        .reduce((acc, p) => acc.union(p.block.ips), RangeSet.empty(family));
      const current = mine ? mine.block.ips : RangeSet.empty(family);
      const plan = planAutoPool({
        family,
        subnetName,
        subnetUsable: subnet.holder.usable,
        reserved: this.state.reservedSet(family),
        otherPools,
        current,
        inUse: this.state.inUse(name) ?? RangeSet.empty(family),
        size,
      });
      if (!plan.ok) return { ok: false as const, error: `${familyName(family)} auto pool for ${nic.interface}: ${plan.error}` };
      const labels = autoPoolLabels(family, app, nic.interface, subnetName, subnet.holder.cidr, reclaim);
      const unchanged = mine && plan.added === 0n && plan.removed === 0n && Object.entries(labels).every(([k, v]) => mine.labels[k] === v);
      const warning = plan.shortOfShrink
        ? `auto pool ${name} keeps ${plan.shortOfShrink} more address${plan.shortOfShrink === 1 ? '' : 'es'} than ${size}: they are in use; it shrinks when their pods are gone`
        : undefined;
      if (unchanged || dryRun) return { ok: true as const, warning };
      try {
        await this.state.writePool({
          name,
          labels,
          subnet: subnet.holder.cidr.text,
          ips: plan.ips.toStrings(),
          ...(mine ? { existing: { ...(mine.resourceVersion ? { resourceVersion: mine.resourceVersion } : {}) } } : {}),
        });
        return { ok: true as const, warning };
      } catch (error) {
        // Another admission took addresses this cache had not seen yet, or the pool
        // changed under us: judge again on fresher state.
        if (attempt >= WRITE_ATTEMPTS) return { ok: false as const, error: `writing auto pool ${name}: ${(error as Error).message}` };
        await new Promise((r) => setTimeout(r, 150 * attempt));
      }
    }
  }
}
