// The annotations through which users ask for addresses (Spiderpool's keys, on a
// pod or a workload's pod template) and name their pod's networks (Multus's keys).
// Each is read with its own schema; a bad one yields a message quoting the key,
// the problem and an example of a valid value.
import { z } from 'zod';
import { schemaProblems } from './field-problem.js';
import { err, ok, type Result } from './result.js';
import { RouteSpec } from './underlay-block.js';

export const ANNOTATION = {
  ippool: 'ipam.spidernet.io/ippool',
  ippools: 'ipam.spidernet.io/ippools',
  subnet: 'ipam.spidernet.io/subnet',
  subnets: 'ipam.spidernet.io/subnets',
  ippoolIPNumber: 'ipam.spidernet.io/ippool-ip-number',
  ippoolReclaim: 'ipam.spidernet.io/ippool-reclaim',
  routes: 'ipam.spidernet.io/routes',
  defaultRouteNic: 'ipam.spidernet.io/default-route-nic',
  namespaceDefaultIPv4: 'ipam.spidernet.io/default-ipv4-ippool',
  namespaceDefaultIPv6: 'ipam.spidernet.io/default-ipv6-ippool',
  multusDefaultNetwork: 'v1.multus-cni.io/default-network',
  multusNetworks: 'k8s.v1.cni.cncf.io/networks',
} as const;

const names = z.array(z.string().min(1, 'must not be empty'));

/** `ipam.spidernet.io/ippool`: one NIC's pools; later names are fallbacks. */
export const IPPoolAnnotation = z.object({
  interface: z.string().min(1).optional(),
  ipv4: names.optional(),
  ipv6: names.optional(),
  cleangateway: z.boolean().optional(),
});
/** `ipam.spidernet.io/ippools`: several NICs. */
export const IPPoolsAnnotation = z.array(IPPoolAnnotation).min(1, 'must list at least one interface');
/** `ipam.spidernet.io/subnet`: an auto pool for one NIC. */
export const SubnetAnnotation = z.object({
  interface: z.string().min(1).optional(),
  ipv4: names.optional(),
  ipv6: names.optional(),
});
export const SubnetsAnnotation = z.array(SubnetAnnotation).min(1, 'must list at least one interface');
export const RoutesAnnotation = z.array(RouteSpec);
export const NamespaceDefaultPools = names;

/** Multus's JSON form of `k8s.v1.cni.cncf.io/networks`. */
export const MultusNetworkSelection = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  interface: z.string().min(1).optional(),
});
export const MultusNetworksJSON = z.array(MultusNetworkSelection);

export type IPPoolAnnotation = z.infer<typeof IPPoolAnnotation>;
export type SubnetAnnotation = z.infer<typeof SubnetAnnotation>;
export type MultusNetworkSelection = z.infer<typeof MultusNetworkSelection>;

const EXAMPLES: Record<string, string> = {
  [ANNOTATION.ippool]: '{"ipv4":["pool-a"],"ipv6":["pool-a6"]}',
  [ANNOTATION.ippools]: '[{"interface":"eth0","ipv4":["pool-a"]},{"interface":"net1","ipv4":["pool-b"]}]',
  [ANNOTATION.subnet]: '{"interface":"eth0","ipv4":["subnet-a"]}',
  [ANNOTATION.subnets]: '[{"interface":"eth0","ipv4":["subnet-a"]},{"interface":"net1","ipv4":["subnet-b"]}]',
  [ANNOTATION.routes]: '[{"dst":"10.0.0.0/16","gw":"192.168.1.1"}]',
  [ANNOTATION.namespaceDefaultIPv4]: '["pool-a","pool-b"]',
  [ANNOTATION.namespaceDefaultIPv6]: '["pool-a6"]',
  [ANNOTATION.multusNetworks]: '[{"name":"macvlan-net1","namespace":"kube-system","interface":"net1"}]',
};

/** Read a JSON-valued annotation with its schema. */
export function readJsonAnnotation<T>(key: string, value: string, schema: z.ZodType<T>): Result<T, string> {
  const example = EXAMPLES[key] ? `; e.g. ${EXAMPLES[key]}` : '';
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    return err(`annotation ${key}: not valid JSON (${(error as Error).message})${example}`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return ok(parsed.data);
  const detail = schemaProblems(parsed.error.issues)
    .map((p) => (p.field === '(object)' ? p.message : `${p.field}: ${p.message}`))
    .join('; ');
  return err(`annotation ${key}: ${detail}${example}`);
}

/** `ipam.spidernet.io/ippool-ip-number`: "N" is a fixed size, "+N" is replicas + N. */
export type IPNumber = { kind: 'fixed'; count: number } | { kind: 'extra'; count: number };

const MAX_IP_NUMBER = 65_536;

export function readIPNumber(value: string): Result<IPNumber, string> {
  const match = /^(\+?)(\d{1,6})$/.exec(value.trim());
  const count = match ? Number(match[2]) : NaN;
  if (!match || count > MAX_IP_NUMBER) {
    return err(`annotation ${ANNOTATION.ippoolIPNumber}: "${value}" is not a number of addresses; write "N" for exactly N addresses or "+N" for replicas + N (0 ≤ N ≤ ${MAX_IP_NUMBER})`);
  }
  return ok({ kind: match[1] ? 'extra' : 'fixed', count });
}

export function readReclaim(value: string): Result<boolean, string> {
  if (value === 'true') return ok(true);
  if (value === 'false') return ok(false);
  return err(`annotation ${ANNOTATION.ippoolReclaim}: "${value}" must be "true" (delete the auto pools with the application) or "false" (keep them)`);
}
