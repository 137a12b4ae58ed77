// SpiderIPPool (spiderpool.spidernet.io/v2beta1): the schema of what users write,
// and the checks that need nothing but the object itself.
import { z } from 'zod';
import { parseCidr } from './cidr.js';
import { problem, type FieldProblem } from './field-problem.js';

const Route = z.object({ dst: z.string(), gw: z.string() });

export const SpiderIPPoolSpec = z.looseObject({
  ipVersion: z.union([z.literal(4), z.literal(6)]).optional(),
  subnet: z.string({ error: 'is required: the pool\'s CIDR, e.g. "10.6.0.0/16"' }),
  ips: z.array(z.string()).optional(),
  excludeIPs: z.array(z.string()).optional(),
  gateway: z.string().optional(),
  routes: z.array(Route).optional(),
  vlan: z.number().int().optional(),
  default: z.boolean().optional(),
  disable: z.boolean().optional(),
});
export type SpiderIPPoolSpec = z.infer<typeof SpiderIPPoolSpec>;

export const SpiderIPPool = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('SpiderIPPool'),
  metadata: z.looseObject({ name: z.string().optional(), generateName: z.string().optional() }),
  spec: SpiderIPPoolSpec,
});
export type SpiderIPPool = z.infer<typeof SpiderIPPool>;

/** Checks of a pool that need no other object. */
export function validateIPPoolSpec(spec: SpiderIPPoolSpec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const subnet = parseCidr(spec.subnet);
  if (!subnet.ok) problems.push(problem('spec.subnet', subnet.error));
  return problems;
}
