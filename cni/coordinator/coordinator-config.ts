// The configuration of `underpin-coordinator` (installed also as `coordinator`),
// a chained plugin placed after the main plugin (macvlan, ipvlan, sriov …). Fields
// follow Spiderpool's coordinator (API.md "Coordinator").
import { z } from 'zod';
import { CniCode, CniError } from '../skel/cni-error.js';
import { DEFAULT_KUBECONFIG } from '../kube/kubeconfig.js';

export const COORDINATOR_TYPES = ['underpin-coordinator', 'coordinator'] as const;

const CidrList = z.array(z.string().min(1), { error: 'must be a list of CIDRs' });

export const CoordinatorNetworkConfig = z.looseObject({
  cniVersion: z.string(),
  name: z.string().optional(),
  type: z.string().optional(),
  /** auto and overlay: policy routing only; underlay: also a veth to the host (not yet done); disable: nothing. */
  mode: z.enum(['auto', 'underlay', 'overlay', 'disable'], { error: 'must be "auto", "underlay", "overlay" or "disable"' }).default('auto'),
  tunePodRoutes: z.boolean({ error: 'must be true or false' }).default(true),
  podDefaultRouteNic: z.string().optional(),
  podDefaultCniNic: z.string().default('eth0'),
  serviceCIDR: CidrList.optional(),
  hijackCIDR: CidrList.optional(),
  hostRuleTable: z.number().int().min(1).max(0xfffffffe).default(500),
  podRPFilter: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(-1)], { error: 'must be 0, 1, 2 (or -1: leave as is)' }).optional(),
  kubeconfig: z.string().min(1).optional(),
  log_level: z.string().optional(),
  log_file_path: z.string().optional(),
  logOptions: z.looseObject({ logLevel: z.string().optional(), logFile: z.string().optional() }).optional(),
});
export type CoordinatorNetworkConfig = z.infer<typeof CoordinatorNetworkConfig> & { kubeconfigPath: string };

export function readCoordinatorConfig(json: Record<string, unknown>): CoordinatorNetworkConfig {
  const parsed = CoordinatorNetworkConfig.safeParse(json);
  if (!parsed.success) {
    const name = typeof json.name === 'string' ? ` ${JSON.stringify(json.name)}` : '';
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new CniError(CniCode.invalidNetworkConfig, `network configuration${name} is invalid for underpin-coordinator: ${lines.join('; ')}`);
  }
  if (parsed.data.mode === 'underlay') {
    throw new CniError(
      CniCode.unsupportedField,
      'underpin-coordinator: mode "underlay" (a veth to the host for Service traffic) is not implemented yet; use mode "auto" (policy routing for every NIC)',
    );
  }
  return { ...parsed.data, kubeconfigPath: parsed.data.kubeconfig ?? DEFAULT_KUBECONFIG };
}
