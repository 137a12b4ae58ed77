// The pod a workload's controller makes from its template, as pod admission will
// see it: the template's metadata and spec, the labels and owner the controller adds
// that admission reads (a Deployment's pods belong to a ReplicaSet `<name>-<hash>`
// labelled with that hash, a CronJob's to a Job `<name>-<time>`, a StatefulSet's
// first pod is `<name>-<first ordinal>`). Judging this pod judges every pod the
// workload will make, before any exists.
import type { OwnerReference } from './object-meta.js';
import type { Pod } from './pod.js';
import { podTemplate, type Workload } from './workload.js';

/** Stands for the ReplicaSet's pod-template-hash, unknown until the Deployment controller makes it. */
export const TEMPLATE_HASH = 'template';

const controllerOf = (apiVersion: string, kind: string, name: string, uid = ''): OwnerReference => ({ apiVersion, kind, name, uid, controller: true });

export function templatePod(workload: Workload, namespace: string): Pod {
  const template = podTemplate(workload);
  const name = workload.metadata.name ?? '';
  const uid = workload.metadata.uid ?? '';
  const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}) };
  let owner: OwnerReference;
  let naming: { name: string } | { generateName: string };
  switch (workload.kind) {
    case 'Deployment': {
      const replicaSet = `${name}-${TEMPLATE_HASH}`;
      labels['pod-template-hash'] = TEMPLATE_HASH;
      owner = controllerOf('apps/v1', 'ReplicaSet', replicaSet);
      naming = { generateName: `${replicaSet}-` };
      break;
    }
    case 'CronJob': {
      const job = `${name}-0`;
      labels['job-name'] = job;
      owner = controllerOf('batch/v1', 'Job', job);
      naming = { generateName: `${job}-` };
      break;
    }
    case 'StatefulSet': {
      const podName = `${name}-${workload.spec.ordinals?.start ?? 0}`;
      labels['statefulset.kubernetes.io/pod-name'] = podName;
      owner = controllerOf(workload.apiVersion, workload.kind, name, uid);
      naming = { name: podName };
      break;
    }
    case 'Job':
      labels['job-name'] = name;
      owner = controllerOf(workload.apiVersion, workload.kind, name, uid);
      naming = { generateName: `${name}-` };
      break;
    default:
      owner = controllerOf(workload.apiVersion, workload.kind, name, uid);
      naming = { generateName: `${name}-` };
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...naming, namespace, labels, ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}), ownerReferences: [owner] },
    spec: template.spec ?? {},
  };
}
