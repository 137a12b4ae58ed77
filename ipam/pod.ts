// The part of a Pod that address admission reads.
import { z } from 'zod';
import { ObjectMeta } from './object-meta.js';

export const Pod = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMeta,
  spec: z.looseObject({
    nodeName: z.string().nullish(),
    nodeSelector: z.record(z.string(), z.string()).nullish(),
    affinity: z.looseObject({}).nullish(),
    hostNetwork: z.boolean().nullish(),
  }),
});
export type Pod = z.infer<typeof Pod>;

/** The controller owner of a pod (ReplicaSet, StatefulSet, Job, DaemonSet…), if any. */
export function podController(pod: Pod) {
  return pod.metadata.ownerReferences?.find((r) => r.controller) ?? undefined;
}

/** A StatefulSet pod's ordinal, from its name `<set>-<ordinal>`. */
export function statefulSetOrdinal(pod: Pod): { statefulSet: string; ordinal: number } | undefined {
  const owner = podController(pod);
  const name = pod.metadata.name;
  if (owner?.kind !== 'StatefulSet' || !name?.startsWith(`${owner.name}-`)) return undefined;
  const suffix = name.slice(owner.name.length + 1);
  return /^(0|[1-9]\d*)$/.test(suffix) ? { statefulSet: owner.name, ordinal: Number(suffix) } : undefined;
}

/**
 * The applications a pod may belong to, its direct owner first: a ReplicaSet's pod
 * may belong to its Deployment (the ReplicaSet is `<deployment>-<pod-template-hash>`),
 * a Job's to a CronJob (`<cronjob>-<scheduled time>`). The owner comes first because
 * the name alone cannot tell a standalone Job `backup-1` from CronJob `backup`'s run:
 * a Deployment's ReplicaSet or a CronJob's Job never has auto pools of its own (the
 * workload webhook leaves them to their parent), so asking the owner first is exact.
 */
export function podApplications(pod: Pod, namespace: string): { kind: string; namespace: string; name: string }[] {
  const owner = podController(pod);
  if (!owner) return [];
  const out: { kind: string; namespace: string; name: string }[] = [{ kind: owner.kind, namespace, name: owner.name }];
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    out.push({ kind: 'Deployment', namespace, name: owner.name.slice(0, -(hash.length + 1)) });
  }
  if (owner.kind === 'Job') {
    const cron = /^(.+)-\d+$/.exec(owner.name);
    if (cron) out.push({ kind: 'CronJob', namespace, name: cron[1]! });
  }
  return out;
}

const APP_GROUP_VERSION: Readonly<Record<string, [string, string]>> = {
  Deployment: ['apps', 'v1'],
  ReplicaSet: ['apps', 'v1'],
  StatefulSet: ['apps', 'v1'],
  DaemonSet: ['apps', 'v1'],
  Job: ['batch', 'v1'],
  CronJob: ['batch', 'v1'],
};

/**
 * The labels Spiderpool matches its auto pools' podAffinity against, though no pod
 * carries them: `ipam.spidernet.io/app-{api-group,api-version,kind,namespace,name}`
 * of the pod's top application. Read as the pod's labels, so auto pools a Spiderpool
 * cluster made serve their application's pods under Underpin unchanged.
 */
export function spiderpoolApplicationLabels(pod: Pod, namespace: string): Record<string, string> {
  const app = podApplications(pod, namespace).at(-1);
  if (!app) return {};
  const owner = podController(pod);
  const [group, version] = APP_GROUP_VERSION[app.kind] ?? (owner?.apiVersion.includes('/') ? (owner.apiVersion.split('/') as [string, string]) : ['', owner?.apiVersion ?? 'v1']);
  return {
    'ipam.spidernet.io/app-api-group': group,
    'ipam.spidernet.io/app-api-version': version,
    'ipam.spidernet.io/app-kind': app.kind,
    'ipam.spidernet.io/app-namespace': namespace,
    'ipam.spidernet.io/app-name': app.name,
  };
}
