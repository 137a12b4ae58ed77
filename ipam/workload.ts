// Applications that own auto pools (Deployment, ReplicaSet, StatefulSet, DaemonSet,
// Job, CronJob): their pod template's annotations and their desired pod count.
import { z } from 'zod';
import { ObjectMeta } from './object-meta.js';
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

const PodTemplate = z.looseObject({ metadata: z.looseObject({ annotations: z.record(z.string(), z.string()).nullish() }).nullish() });

export const Workload = z.looseObject({
  apiVersion: z.string(),
  kind: z.enum(WORKLOAD_KINDS),
  metadata: ObjectMeta,
  spec: z.looseObject({
    replicas: z.number().int().nullish(),
    parallelism: z.number().int().nullish(),
    template: PodTemplate.nullish(),
    jobTemplate: z.looseObject({ spec: z.looseObject({ parallelism: z.number().int().nullish(), template: PodTemplate.nullish() }).nullish() }).nullish(),
  }),
});
export type Workload = z.infer<typeof Workload>;

export function templateAnnotations(workload: Workload): Record<string, string> {
  const template = workload.kind === 'CronJob' ? workload.spec.jobTemplate?.spec?.template : workload.spec.template;
  return template?.metadata?.annotations ?? {};
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
