// SpiderCoordinator `default`, as the coordinator plugin reads it: one GET with the
// node's kubeconfig. It never fails the plugin: an object that is missing, malformed
// or unreadable (API down, RBAC) leaves the plugin on its built-in defaults, and the
// reason is logged by the caller.
import { z } from 'zod';
import { SPIDER_COORDINATOR_NAME, SpiderCoordinator, coordinatorDefaultsOf, type CoordinatorDefaults } from '../../ipam/spider-coordinator.js';
import { SPIDER_COORDINATOR, collectionPath } from '../../kube/resources.js';
import type { ApiReader } from '../kube/api-reader.js';

export interface ClusterStatus {
  phase: string;
  reason?: string;
  serviceCIDR: string[];
  overlayPodCIDR: string[];
}

export type ClusterCoordinator =
  | { found: true; defaults: CoordinatorDefaults; status: ClusterStatus | undefined }
  | { found: false; why: string };

export const CLUSTER_COORDINATOR_PATH = `${collectionPath(SPIDER_COORDINATOR)}/${SPIDER_COORDINATOR_NAME}`;

const where = `SpiderCoordinator ${SPIDER_COORDINATOR_NAME}`;

/** One GET; every failure becomes `found: false` with the reason. */
export async function readClusterCoordinator(reader: ApiReader): Promise<ClusterCoordinator> {
  let reply;
  try {
    reply = await reader.get(CLUSTER_COORDINATOR_PATH);
  } catch (error) {
    return { found: false, why: `${where} could not be read (${(error as Error).message})` };
  }
  if (reply.status === 404) return { found: false, why: `${where} does not exist` };
  if (reply.status === 403) return { found: false, why: `reading ${where} was refused (HTTP 403): the CNI identity needs get on spidercoordinators (ClusterRole underpin-cni)` };
  if (reply.status !== 200) return { found: false, why: `reading ${where} was answered with HTTP ${reply.status}` };
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    return { found: false, why: `the API answered for ${where} with something that is not JSON` };
  }
  const parsed = (SpiderCoordinator as z.ZodType<SpiderCoordinator>).safeParse(body);
  if (!parsed.success) return { found: false, why: `the API answered for ${where} with something that is not a SpiderCoordinator` };
  const defaults = coordinatorDefaultsOf(parsed.data);
  if (!defaults.ok) return { found: false, why: `${where} is invalid (${defaults.reason})` };
  const status = parsed.data.status;
  return {
    found: true,
    defaults: defaults.value,
    status: status?.phase
      ? { phase: status.phase, ...(status.reason ? { reason: status.reason } : {}), serviceCIDR: status.serviceCIDR ?? [], overlayPodCIDR: status.overlayPodCIDR ?? [] }
      : undefined,
  };
}
