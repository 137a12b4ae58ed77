// SpiderReservedIP (spiderpool.spidernet.io/v2beta1): addresses no pool may hand
// out, whatever pool or subnet contains them.
import { z } from 'zod';
import { familyName, type IPFamily } from './address.js';
import { problem, type FieldProblem } from './field-problem.js';
import { ObjectMeta } from './object-meta.js';
import { parseRangeList, type RangeSet } from './range-set.js';
import { IPVersion } from './underlay-block.js';

export const SpiderReservedIPSpec = z.looseObject({
  ipVersion: IPVersion.nullish(),
  ips: z.array(z.string()).nullish(),
});
export type SpiderReservedIPSpec = z.infer<typeof SpiderReservedIPSpec>;

export const SpiderReservedIP = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('SpiderReservedIP'),
  metadata: ObjectMeta,
  spec: SpiderReservedIPSpec,
});
export type SpiderReservedIP = z.infer<typeof SpiderReservedIP>;

export type ReadReservedResult = { set: RangeSet; family: IPFamily; problems: FieldProblem[] } | { set: undefined; problems: FieldProblem[] };

export function readReservedIPs(spec: SpiderReservedIPSpec): ReadReservedResult {
  const texts = spec.ips ?? [];
  if (texts.length === 0) {
    return { set: undefined, problems: [problem('spec.ips', 'is empty; list the addresses or ranges to reserve, e.g. ["10.6.0.1-10.6.0.9"]')] };
  }
  const parsed = parseRangeList(texts, spec.ipVersion ?? undefined);
  if (!parsed.ok) return { set: undefined, problems: parsed.error.map((p) => problem(`spec.ips${p.path}`, p.message)) };
  const problems: FieldProblem[] = [];
  if (spec.ipVersion != null && spec.ipVersion !== parsed.value.family) {
    problems.push(problem('spec.ipVersion', `is ${spec.ipVersion}, but spec.ips are ${familyName(parsed.value.family)}`));
  }
  return { set: parsed.value.set, family: parsed.value.family, problems };
}
