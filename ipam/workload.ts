// Applications that own auto pools (Deployment, ReplicaSet, StatefulSet, DaemonSet,
// Job, CronJob): their pod template's annotations and their desired pod count.
import { z } from 'zod';
import { ObjectMeta } from './object-meta.js';
import { Pod } from './pod.js';
import {
  ANNOTATION,
  SubnetAnnotation,
  SubnetsAnnotation,
  readIPNumber,
  readJsonAnnotation,
  readReclaim,
  type IPNumber,
} from './pod-annotations.js';
import { isPattern } from './pool-name-pattern.js';
import { err, ok, type Result } from './result.js';

export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** The pod template: what its pods' metadata and spec start from. */
const PodTemplate = z.looseObject({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).nullish(), annotations: z.record(z.string(), z.string()).nullish() }).nullish(),
  spec: Pod.shape.spec.nullish(),
});
export type PodTemplate = z.infer<typeof PodTemplate>;

/** An int-or-string (`2`, `"25%"`), as rolling updates size their surge. */
const IntOrPercent = z.union([z.number().int(), z.string()]);
const RollingUpdate = z.looseObject({ maxSurge: IntOrPercent.nullish(), maxUnavailable: IntOrPercent.nullish() });
const UpdateStrategy = z.looseObject({ type: z.string().nullish(), rollingUpdate: RollingUpdate.nullish() });

export const Workload = z.looseObject({
  apiVersion: z.string(),
  kind: z.enum(WORKLOAD_KINDS),
  metadata: ObjectMeta,
  spec: z.looseObject({
    replicas: z.number().int().nullish(),
    parallelism: z.number().int().nullish(),
    template: PodTemplate.nullish(),
    jobTemplate: z.looseObject({ spec: z.looseObject({ parallelism: z.number().int().nullish(), template: PodTemplate.nullish() }).nullish() }).nullish(),
    /** Deployment's. */
    strategy: UpdateStrategy.nullish(),
    /** DaemonSet's and StatefulSet's. */
    updateStrategy: UpdateStrategy.nullish(),
    /** StatefulSet's first ordinal. */
    ordinals: z.looseObject({ start: z.number().int().nullish() }).nullish(),
  }),
});
export type Workload = z.infer<typeof Workload>;

export function podTemplate(workload: Workload): PodTemplate {
  return (workload.kind === 'CronJob' ? workload.spec.jobTemplate?.spec?.template : workload.spec.template) ?? {};
}

export function templateAnnotations(workload: Workload): Record<string, string> {
  return podTemplate(workload).metadata?.annotations ?? {};
}

/**
 * Is the workload a part of another application (a Deployment's ReplicaSet, a
 * CronJob's Job)? Its pods use their parent's pools, and the parent was judged.
 */
export function partOfParentApplication(workload: Workload): boolean {
  return workload.metadata.ownerReferences?.some((o) => o.controller && (o.kind === 'Deployment' || o.kind === 'CronJob')) ?? false;
}

/**
 * Everything of the pod template that decides its pods' addresses: metadata (Underpin
 * and Multus annotations, labels pools select on) and where the pods may run. An
 * update that leaves it alone (an image bump) changes nothing Underpin judges.
 */
export function templateNetworking(workload: Workload): string {
  const template = podTemplate(workload);
  const spec = template.spec;
  return JSON.stringify({
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    nodeName: spec?.nodeName ?? null,
    nodeSelector: spec?.nodeSelector ?? null,
    affinity: spec?.affinity ?? null,
    hostNetwork: spec?.hostNetwork ?? false,
  });
}

/**
 * How many pods a rolling update may add above the desired count (maxSurge: an
 * integer, or a percentage of replicas rounded up) and whether it may take old pods
 * down first (maxUnavailable, a percentage rounded down). Deployments default to 25 %
 * and 25 %; DaemonSets to 0 surge; other kinds do not surge.
 */
export function rollingUpdateRoom(workload: Workload, replicas: number): { surge: number; surgeText: string; mayRemoveFirst: boolean } {
  const none = { surge: 0, surgeText: '0', mayRemoveFirst: true };
  if (workload.kind !== 'Deployment' && workload.kind !== 'DaemonSet') return none;
  const deployment = workload.kind === 'Deployment';
  const strategy = deployment ? workload.spec.strategy : workload.spec.updateStrategy;
  // Recreate and OnDelete take old pods down before new ones come.
  if (strategy?.type && strategy.type !== 'RollingUpdate') return none;
  const surge = strategy?.rollingUpdate?.maxSurge ?? (deployment ? '25%' : 0);
  const unavailable = strategy?.rollingUpdate?.maxUnavailable ?? (deployment ? '25%' : 1);
  return { surge: scaled(surge, replicas, Math.ceil), surgeText: String(surge), mayRemoveFirst: scaled(unavailable, replicas, Math.floor) > 0 };
}

function scaled(value: number | string, replicas: number, round: (n: number) => number): number {
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  return percent ? round((Number(percent[1]) * replicas) / 100) : Number(value) || 0;
}

/** Pods the application wants; a DaemonSet wants one per node it runs on (counted by `countNodes`). */
export async function workloadReplicas(workload: Workload, countNodes: (nodeSelector: Record<string, string>) => Promise<number>, override?: number): Promise<number> {
  if (override !== undefined) return override;
  if (workload.kind !== 'DaemonSet') return desiredReplicas(workload, 0);
  return countNodes(podTemplate(workload).spec?.nodeSelector ?? {});
}

/** Pods the application wants; a DaemonSet wants one per node it runs on. */
export function desiredReplicas(workload: Workload, nodesForDaemonSet: number): number {
  switch (workload.kind) {
    case 'DaemonSet':
      return nodesForDaemonSet;
    case 'Job':
      return workload.spec.parallelism ?? 1;
    case 'CronJob':
      return workload.spec.jobTemplate?.spec?.parallelism ?? 1;
    default:
      return workload.spec.replicas ?? 1;
  }
}

/** One NIC's auto pools: the subnet to carve each family's pool from. */
export interface AutoPoolNic {
  interface: string;
  ipv4?: string;
  ipv6?: string;
}

export interface AutoPoolRequest {
  nics: AutoPoolNic[];
  ipNumber: IPNumber;
  reclaim: boolean;
}

/**
 * The auto pools an application's pod template asks for (`subnets` wins over
 * `subnet`), or undefined when it asks for none. Only the first subnet of each
 * family counts; subnet names are names, never globs.
 */
export function readAutoPoolRequest(annotations: Readonly<Record<string, string>>, defaultExtra = 1): Result<AutoPoolRequest | undefined, string> {
  let entries: { interface?: string | undefined; ipv4?: string[] | undefined; ipv6?: string[] | undefined }[];
  let key: string;
  if (annotations[ANNOTATION.subnets] !== undefined) {
    key = ANNOTATION.subnets;
    const parsed = readJsonAnnotation(key, annotations[key]!, SubnetsAnnotation);
    if (!parsed.ok) return parsed;
    entries = parsed.value;
  } else if (annotations[ANNOTATION.subnet] !== undefined) {
    key = ANNOTATION.subnet;
    const parsed = readJsonAnnotation(key, annotations[key]!, SubnetAnnotation);
    if (!parsed.ok) return parsed;
    entries = [parsed.value];
  } else {
    return ok(undefined);
  }

  const nics: AutoPoolNic[] = [];
  const seenSubnets = new Map<string, string>();
  for (const [index, entry] of entries.entries()) {
    const nic = entry.interface ?? (entries.length === 1 ? 'eth0' : undefined);
    if (!nic) return err(`annotation ${key}: entry [${index}] has no "interface"; with several entries name each NIC, e.g. {"interface":"net1","ipv4":["subnet-b"]}`);
    if (nics.some((n) => n.interface === nic)) return err(`annotation ${key}: interface "${nic}" is listed twice; one entry per NIC`);
    const ipv4 = entry.ipv4?.[0];
    const ipv6 = entry.ipv6?.[0];
    if (!ipv4 && !ipv6) return err(`annotation ${key}: entry for "${nic}" names no ipv4 or ipv6 subnet`);
    for (const subnet of [ipv4, ipv6]) {
      if (!subnet) continue;
      if (isPattern(subnet)) return err(`annotation ${key}: "${subnet}" is a pattern; subnet names must be exact`);
      const other = seenSubnets.get(subnet);
      if (other) return err(`annotation ${key}: subnet "${subnet}" is named for both ${other} and ${nic}; each NIC takes its own subnet`);
      seenSubnets.set(subnet, nic);
    }
    nics.push({ interface: nic, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) });
  }

  const numberText = annotations[ANNOTATION.ippoolIPNumber];
  const ipNumber = numberText === undefined ? ok<IPNumber>({ kind: 'extra', count: defaultExtra }) : readIPNumber(numberText);
  if (!ipNumber.ok) return ipNumber;
  const reclaimText = annotations[ANNOTATION.ippoolReclaim];
  const reclaim = reclaimText === undefined ? ok(true) : readReclaim(reclaimText);
  if (!reclaim.ok) return reclaim;
  return ok({ nics, ipNumber: ipNumber.value, reclaim: reclaim.value });
}
