// The pools a NIC may take an address from, in the order to try them, and why
// each other named pool was passed over (for a denial that explains itself).
import { familyName, type IPFamily } from './address.js';
import { selectorMatches } from './label-selector.js';
import { expandPoolNames, isPattern } from './pool-name-pattern.js';
import type { SpiderIPPoolSpec } from './spider-ippool.js';
import type { UnderlayBlock } from './underlay-block.js';

/** A pool as pod admission sees it. */
export interface PoolView {
  name: string;
  spec: SpiderIPPoolSpec;
  block: UnderlayBlock;
  deleting: boolean;
  labels: Readonly<Record<string, string>>;
  /** For updates with optimistic concurrency (auto pool resizing). */
  resourceVersion?: string;
}

export interface CandidateContext {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  podLabels: Readonly<Record<string, string>>;
  /** `namespace/name` of the NIC's NetworkAttachmentDefinition, if Multus attaches it. */
  network?: string;
  /** The pod's spec.nodeName, when it bypasses the scheduler. */
  nodeName?: string;
}

export interface Candidates {
  pools: PoolView[];
  skipped: { pool: string; reason: string }[];
  /** Names (not globs) that match no pool. */
  unknown: string[];
}

/** Why `pool` cannot serve this NIC, or undefined when it can. */
export function whyNotCandidate(pool: PoolView, family: IPFamily, ctx: CandidateContext): string | undefined {
  const spec = pool.spec;
  if (pool.deleting) return 'is being deleted';
  if (spec.disable) return 'is disabled (spec.disable: true)';
  if (pool.block.family !== family) return `is ${familyName(pool.block.family)}, not ${familyName(family)}`;
  if (spec.namespaceName?.length && !spec.namespaceName.includes(ctx.namespace)) {
    return `serves namespaces ${spec.namespaceName.join(', ')} only (spec.namespaceName), not ${ctx.namespace}`;
  }
  if (spec.namespaceAffinity && !selectorMatches(spec.namespaceAffinity, ctx.namespaceLabels)) {
    return `spec.namespaceAffinity does not match namespace ${ctx.namespace}`;
  }
  if (spec.podAffinity && !selectorMatches(spec.podAffinity, ctx.podLabels)) return "spec.podAffinity does not match the pod's labels";
  if (spec.multusName?.length) {
    const network = ctx.network;
    const matches = network !== undefined && spec.multusName.some((m) => (m.includes('/') ? m : `${ctx.namespace}/${m}`) === network);
    if (!matches) return `serves networks ${spec.multusName.join(', ')} only (spec.multusName), not ${network ?? 'the default network'}`;
  }
  if (ctx.nodeName && spec.nodeName?.length && !spec.nodeName.includes(ctx.nodeName)) {
    return `serves nodes ${spec.nodeName.join(', ')} only (spec.nodeName), but the pod sets spec.nodeName: ${ctx.nodeName}`;
  }
  return undefined;
}

export function poolCandidates(patterns: readonly string[], family: IPFamily, pools: ReadonlyMap<string, PoolView>, ctx: CandidateContext): Candidates {
  const result: Candidates = { pools: [], skipped: [], unknown: [] };
  // A plain name is unknown when no pool has it; a glob that matches nothing is just empty.
  for (const pattern of patterns) {
    if (!isPattern(pattern) && !pools.has(pattern)) result.unknown.push(pattern);
  }
  for (const { name } of expandPoolNames([...patterns], pools.keys())) {
    const pool = pools.get(name)!;
    const reason = whyNotCandidate(pool, family, ctx);
    if (reason) result.skipped.push({ pool: name, reason });
    else result.pools.push(pool);
  }
  return result;
}
