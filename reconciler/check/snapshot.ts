// One snapshot of what `underpin check` judges, read through the API page by page
// (500 at a time, as the caches list): pods with a binding, IPClaims, pools, subnets,
// reserved IPs and StatefulSets. Objects that do not read are counted, not judged.
import type { KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import { BINDING_ID_LABEL } from '../../ipam/binding.js';
import { IPClaim } from '../../ipam/ip-claim.js';
import { customObjectSource, podSource, statefulSetSource, type ListWatchSource } from '../../kube/list-watch.js';
import { IP_CLAIM, SPIDER_IPPOOL, SPIDER_RESERVED_IP, SPIDER_SUBNET } from '../../kube/resources.js';
import { PoolRecord, ReservedIPRecord, SubnetRecord } from '../../kube/underlay-records.js';
import { PodRecord, StatefulSetRecord } from '../resources.js';
import type { ClusterSnapshot } from './consistency.js';

const PAGE = 500;

export interface Snapshot extends ClusterSnapshot {
  /** Objects that do not read, by resource: not judged. */
  unreadable: Record<string, number>;
}

async function listAll<T>(source: ListWatchSource, schema: z.ZodType<T>, unreadable: Record<string, number>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await source.list({ limit: PAGE, ...(token ? { continue: token } : {}) });
    for (const item of page.items) {
      const parsed = schema.safeParse(item);
      if (parsed.success) items.push(parsed.data);
      else unreadable[source.resource] = (unreadable[source.resource] ?? 0) + 1;
    }
    token = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue ?? undefined;
  } while (token);
  return items;
}

export async function readSnapshot(kubeConfig: KubeConfig, now = Date.now): Promise<Snapshot> {
  const unreadable: Record<string, number> = {};
  // Not one instant: a pod deleted and its address handed on between two lists can
  // look like a breach. The command confirms breaches on a second snapshot.
  const [claims, pods, pools, subnets, reserved, statefulSets] = await Promise.all([
    listAll(customObjectSource(kubeConfig, IP_CLAIM), IPClaim, unreadable),
    listAll(podSource(kubeConfig, { labelSelector: BINDING_ID_LABEL }), PodRecord, unreadable),
    listAll(customObjectSource(kubeConfig, SPIDER_IPPOOL), PoolRecord, unreadable),
    listAll(customObjectSource(kubeConfig, SPIDER_SUBNET), SubnetRecord, unreadable),
    listAll(customObjectSource(kubeConfig, SPIDER_RESERVED_IP), ReservedIPRecord, unreadable),
    listAll(statefulSetSource(kubeConfig), StatefulSetRecord, unreadable),
  ]);
  return { pods, claims, pools, subnets, reserved, statefulSets, nowMs: now(), unreadable };
}
