// Placement follows the address (DESIGN.md): when a pod's pools are reachable only
// from some nodes, the webhook adds the matching required node affinity to the pod,
// so the scheduler puts it where its subnets are; a pod whose own placement
// contradicts a pool is denied with a message naming both sides.
//
// Semantics this relies on (k8s.io/component-helpers/scheduling/corev1/nodeaffinity):
// the pod's spec.nodeSelector AND its required node affinity must both match; the
// required nodeSelectorTerms are ORed; the requirements inside one term are ANDed;
// a term with no requirements matches no node. So ANDing the pools' requirements
// into the pod means adding them to every term (distributing AND over OR).
import { z } from 'zod';
import { selectorMatches, type LabelSelector } from './label-selector.js';
import { err, ok, type Result } from './result.js';

// ---------------------------------------------------------------------------------
// The part of a Pod spec placement reads. Loose: every other field is kept as is.

export const NODE_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const;
export const NodeSelectorOperator = z.enum(NODE_SELECTOR_OPERATORS);
export type NodeSelectorOperator = z.infer<typeof NodeSelectorOperator>;

export const NodeSelectorRequirement = z.looseObject({
  key: z.string(),
  operator: NodeSelectorOperator,
  values: z.array(z.string()).nullish(),
});
export const NodeSelectorTerm = z.looseObject({
  matchExpressions: z.array(NodeSelectorRequirement).nullish(),
  matchFields: z.array(NodeSelectorRequirement).nullish(),
});
export const NodeSelector = z.looseObject({
  nodeSelectorTerms: z.array(NodeSelectorTerm).nullish(),
});
export const PreferredSchedulingTerm = z.looseObject({
  weight: z.number(),
  preference: NodeSelectorTerm,
});
export const NodeAffinity = z.looseObject({
  requiredDuringSchedulingIgnoredDuringExecution: NodeSelector.nullish(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(PreferredSchedulingTerm).nullish(),
});
export const Affinity = z.looseObject({
  nodeAffinity: NodeAffinity.nullish(),
});
export const PodPlacementSpec = z.looseObject({
  nodeName: z.string().nullish(),
  nodeSelector: z.record(z.string(), z.string()).nullish(),
  affinity: Affinity.nullish(),
});

export type NodeSelectorRequirement = z.infer<typeof NodeSelectorRequirement>;
export type NodeSelectorTerm = z.infer<typeof NodeSelectorTerm>;
export type NodeSelector = z.infer<typeof NodeSelector>;
export type NodeAffinity = z.infer<typeof NodeAffinity>;
export type Affinity = z.infer<typeof Affinity>;
export type PodPlacementSpec = z.infer<typeof PodPlacementSpec>;

/** What one pool requires of a node: a NodeSelectorTerm's two lists, to be ANDed into every term. */
export interface NodeRequirements {
  matchExpressions: NodeSelectorRequirement[];
  matchFields: NodeSelectorRequirement[];
}

/** A pool's requirements with its name, for messages. */
export interface PoolNodeConstraint extends NodeRequirements {
  pool: string;
}

/** An RFC 6902 operation, as fast-json-patch and the API server apply it. */
export interface JsonPatchAdd {
  op: 'add';
  path: string;
  value: unknown;
}

export interface Placement {
  /** Operations against the pod object; empty when the pod already says it all. */
  patch: JsonPatchAdd[];
  /** The pod's node affinity after the patch; undefined when it has none and needs none. */
  nodeAffinity: NodeAffinity | undefined;
}

/** The field matchFields can select on, and the only one. */
export const NODE_NAME_FIELD = 'metadata.name';

// ---------------------------------------------------------------------------------
// A pool's node constraint.

const LABEL_SELECTOR_OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/**
 * The node requirements of a pool, from `spec.nodeName` and `spec.nodeAffinity`
 * (both, ANDed, when both are set); empty lists when the pool has no constraint.
 *
 * `spec.nodeName` becomes `matchFields: metadata.name In [names]`, not a
 * `kubernetes.io/hostname` label requirement: the label is only conventionally equal
 * to the node name (it is the kubelet's hostname, which differs from the name under
 * `--hostname-override`, on many clouds, and wherever someone relabels the node),
 * while spec.nodeName lists node *names*, and matchFields on metadata.name is the
 * exact match the DaemonSet controller uses for the same purpose. The API server
 * accepts only one value per matchFields requirement, so constrainPod writes a list
 * of several names as one term per name.
 *
 * `spec.nodeAffinity` (a label selector): matchLabels `k: v` becomes `k In [v]` (keys
 * sorted), matchExpressions map one to one. An expression whose operator is not a
 * label-selector operator cannot come from an admitted pool (validatePoolSelectionFields
 * rejects it) and is left out rather than written into a pod.
 */
export function poolNodeRequirements(spec: { nodeName?: string[] | null; nodeAffinity?: LabelSelector | null }): NodeRequirements {
  const matchExpressions: NodeSelectorRequirement[] = [];
  const affinity = spec.nodeAffinity;
  if (affinity) {
    for (const key of Object.keys(affinity.matchLabels ?? {}).sort()) {
      matchExpressions.push({ key, operator: 'In', values: [affinity.matchLabels![key]!] });
    }
    for (const e of affinity.matchExpressions ?? []) {
      if (!LABEL_SELECTOR_OPERATORS.has(e.operator)) continue;
      const operator = e.operator as NodeSelectorOperator;
      matchExpressions.push(operator === 'In' || operator === 'NotIn' ? { key: e.key, operator, values: [...(e.values ?? [])] } : { key: e.key, operator });
    }
  }
  const names = [...new Set(spec.nodeName ?? [])];
  const matchFields: NodeSelectorRequirement[] = names.length > 0 ? [{ key: NODE_NAME_FIELD, operator: 'In', values: names }] : [];
  return { matchExpressions, matchFields };
}

/**
 * May a pod that sets spec.nodeName (and so bypasses the scheduler) use this pool?
 * Checks spec.nodeName; checks spec.nodeAffinity too when the node's labels are given.
 */
export function nodeNameAllowed(
  nodeName: string,
  poolSpec: { nodeName?: string[] | null; nodeAffinity?: LabelSelector | null },
  nodeLabels?: Readonly<Record<string, string>>,
): boolean {
  if (poolSpec.nodeName?.length && !poolSpec.nodeName.includes(nodeName)) return false;
  if (nodeLabels && poolSpec.nodeAffinity && !selectorMatches(poolSpec.nodeAffinity, nodeLabels)) return false;
  return true;
}

// ---------------------------------------------------------------------------------
// Satisfiability, exact for In/NotIn/Exists/DoesNotExist on one key. Gt and Lt only
// say that the key exists (their numeric bounds are not compared). Requirements on
// different keys never contradict each other.

/** Can one node satisfy all of `reqs`, which are on the same key? */
function satisfiable(reqs: readonly NodeSelectorRequirement[]): boolean {
  let allowed: Set<string> | undefined;
  const excluded = new Set<string>();
  let present = false;
  let absent = false;
  for (const r of reqs) {
    const values = r.values ?? [];
    switch (r.operator) {
      case 'In':
        present = true;
        allowed = new Set(allowed ? values.filter((v) => allowed!.has(v)) : values);
        break;
      case 'NotIn':
        for (const v of values) excluded.add(v);
        break;
      case 'Exists':
      case 'Gt':
      case 'Lt':
        present = true;
        break;
      case 'DoesNotExist':
        absent = true;
        break;
    }
  }
  if (present && absent) return false;
  if (allowed && [...allowed].every((v) => excluded.has(v))) return false;
  return true;
}

/** A requirement with where it came from, for messages. */
interface Sourced {
  req: NodeSelectorRequirement;
  field: boolean;
  /** e.g. `SpiderIPPool "rack1-v4" only serves nodes node-1, node-2`. */
  source: string;
}

const slot = (s: Pick<Sourced, 'req' | 'field'>) => `${s.field ? 'field' : 'label'}\u0000${s.req.key}`;

function groupBySlot(reqs: readonly Sourced[]): Map<string, Sourced[]> {
  const groups = new Map<string, Sourced[]>();
  for (const r of reqs) groups.set(slot(r), [...(groups.get(slot(r)) ?? []), r]);
  return groups;
}

function describe(r: NodeSelectorRequirement, field: boolean): string {
  const values = (r.values ?? []).join(', ');
  if (field && r.key === NODE_NAME_FIELD) {
    if (r.operator === 'In') return `node ${values}`;
    if (r.operator === 'NotIn') return `a node other than ${values}`;
  }
  const subject = field ? `node field ${r.key}` : `node label ${r.key}`;
  switch (r.operator) {
    case 'In':
      return `${subject} in (${values})`;
    case 'NotIn':
      return `${subject} not in (${values})`;
    case 'Exists':
      return `${subject} to be present`;
    case 'DoesNotExist':
      return `${subject} to be absent`;
    case 'Gt':
      return `${subject} > ${values}`;
    case 'Lt':
      return `${subject} < ${values}`;
  }
}

function describePool(pool: string, r: NodeSelectorRequirement, field: boolean): string {
  if (field && r.key === NODE_NAME_FIELD && r.operator === 'In') return `SpiderIPPool "${pool}" only serves nodes ${(r.values ?? []).join(', ')}`;
  return `SpiderIPPool "${pool}" requires ${describe(r, field)}${field ? '' : ' (spec.nodeAffinity)'}`;
}

/**
 * The pool requirements that make `podSide` (all on one key) unsatisfiable: those
 * that contradict it on their own, else all of them (only their combination does).
 */
function blame(podSide: readonly Sourced[], pools: readonly Sourced[]): Sourced[] {
  const alone = pools.filter((p) => !satisfiable([...podSide.map((s) => s.req), p.req]));
  return alone.length > 0 ? alone : [...pools];
}

// ---------------------------------------------------------------------------------
// Building the terms.

const canonical = (r: NodeSelectorRequirement) => JSON.stringify([r.key, r.operator, [...new Set(r.values ?? [])].sort()]);

function plain(r: NodeSelectorRequirement): NodeSelectorRequirement {
  return r.values && r.values.length > 0 ? { key: r.key, operator: r.operator, values: [...r.values] } : { key: r.key, operator: r.operator };
}

/** Append the requirements `term` lacks (by key, operator and value set). */
function appendMissing(existing: readonly NodeSelectorRequirement[], added: readonly NodeSelectorRequirement[]): NodeSelectorRequirement[] {
  const seen = new Set(existing.map(canonical));
  const out = [...existing];
  for (const r of added) {
    if (seen.has(canonical(r))) continue;
    seen.add(canonical(r));
    out.push(plain(r));
  }
  return out;
}

/** The pools' requirements, merged: label expressions, the node names they allow (if any), other field requirements. */
interface Combined {
  expressions: NodeSelectorRequirement[];
  /** Intersection of every `metadata.name In` list, in the first list's order. */
  nodeNames: string[] | undefined;
  /** Other field requirements; a multi-valued NotIn is split, since the API server takes one value per field requirement. */
  fields: NodeSelectorRequirement[];
}

function combine(constraints: readonly PoolNodeConstraint[]): Combined {
  const expressions = appendMissing([], constraints.flatMap((c) => c.matchExpressions));
  let nodeNames: string[] | undefined;
  const fields: NodeSelectorRequirement[] = [];
  for (const r of constraints.flatMap((c) => c.matchFields)) {
    if (r.key === NODE_NAME_FIELD && r.operator === 'In') {
      const values = r.values ?? [];
      nodeNames = nodeNames === undefined ? [...new Set(values)] : nodeNames.filter((n) => values.includes(n));
    } else if (r.operator === 'NotIn' && (r.values?.length ?? 0) > 1) {
      for (const v of r.values!) fields.push({ key: r.key, operator: 'NotIn', values: [v] });
    } else {
      fields.push(r);
    }
  }
  return { expressions, nodeNames, fields: appendMissing([], fields) };
}

/** `term` ANDed with the pools' requirements: one term, or one per allowed node name. */
function extendTerm(term: NodeSelectorTerm, pools: Combined): NodeSelectorTerm[] {
  const expressions = appendMissing(term.matchExpressions ?? [], pools.expressions);
  const fields = appendMissing(term.matchFields ?? [], pools.fields);
  const build = (matchFields: NodeSelectorRequirement[]): NodeSelectorTerm => {
    const out: NodeSelectorTerm = { ...term };
    if (expressions.length > 0 || term.matchExpressions != null) out.matchExpressions = expressions;
    if (matchFields.length > 0 || term.matchFields != null) out.matchFields = matchFields;
    return out;
  };
  if (pools.nodeNames === undefined) return [build(fields)];

  const nameReqs = fields.filter((r) => r.key === NODE_NAME_FIELD);
  const allowed = pools.nodeNames.filter((n) => satisfiable([...nameReqs, { key: NODE_NAME_FIELD, operator: 'In', values: [n] }]));
  // The term already picks its node(s) among the allowed ones: nothing to add.
  const termNames = nameReqs.filter((r) => r.operator === 'In');
  if (termNames.length > 0) {
    const chosen = termNames.map((r) => r.values ?? []).reduce((a, b) => a.filter((v) => b.includes(v)));
    if (chosen.every((n) => allowed.includes(n))) return [build(fields)];
  }
  return allowed.map((n) => build([...fields, { key: NODE_NAME_FIELD, operator: 'In', values: [n] }]));
}

function isEmptyTerm(term: NodeSelectorTerm): boolean {
  return (term.matchExpressions?.length ?? 0) === 0 && (term.matchFields?.length ?? 0) === 0;
}

const TERMS_FIELD = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';

export interface ConstrainOptions {
  /** JSON pointer of the pod spec in the patched object: `/spec` for a Pod (default), `/spec/template/spec` for a workload. */
  specPath?: string;
}

/**
 * AND the pools' node requirements into the pod: its required node affinity gains
 * them in every term (a pod without one gets one term; a list of allowed node names
 * becomes one term per name). Requirements a term already has are not added again,
 * so a second call returns an empty patch. Terms that cannot match anyway (empty, or
 * contradicting themselves or spec.nodeSelector) are left as they are; terms that
 * contradict a pool are dropped, which changes nothing about where the pod can run.
 * Preferred node affinity, pod (anti-)affinity and everything else are untouched.
 *
 * Denied, naming the pool and the pod's setting: pools that share no node; a
 * spec.nodeName a pool does not serve (spec.nodeName bypasses the scheduler, but the
 * kubelet still refuses a pod whose node affinity does not match its node); a
 * spec.nodeSelector label a pool contradicts; a required node affinity of which
 * every term contradicts the pools.
 */
export function constrainPod(podSpec: PodPlacementSpec, constraints: readonly PoolNodeConstraint[], options: ConstrainOptions = {}): Result<Placement, string> {
  const current = podSpec.affinity?.nodeAffinity ?? undefined;
  const poolReqs: Sourced[] = constraints.flatMap((c) => [
    ...c.matchExpressions.map((req) => ({ req, field: false, source: describePool(c.pool, req, false) })),
    ...c.matchFields.map((req) => ({ req, field: true, source: describePool(c.pool, req, true) })),
  ]);
  if (poolReqs.length === 0) return ok({ patch: [], nodeAffinity: current });
  const poolsBySlot = groupBySlot(poolReqs);

  // 1. The pools among themselves: several NICs and both IP families AND their pools.
  for (const group of poolsBySlot.values()) {
    if (!satisfiable(group.map((s) => s.req))) {
      const sources = [...new Set(group.map((s) => s.source))];
      return err(`the pod's pools have no node in common: ${sources.join('; ')}; choose pools (for every interface and IP family) that serve at least one common node`);
    }
  }

  // 2. spec.nodeName.
  const nodeName = podSpec.nodeName ?? undefined;
  if (nodeName) {
    const podSide: Sourced[] = [{ req: { key: NODE_NAME_FIELD, operator: 'In', values: [nodeName] }, field: true, source: `spec.nodeName: ${nodeName}` }];
    const pools = poolsBySlot.get(slot(podSide[0]!)) ?? [];
    if (pools.length > 0 && !satisfiable([...podSide, ...pools].map((s) => s.req))) {
      const culprits = [...new Set(blame(podSide, pools).map((s) => s.source))].join('; ');
      return err(`pod sets spec.nodeName: ${nodeName}, but ${culprits}; remove spec.nodeName or use a pool that serves ${nodeName}`);
    }
  }

  // 3. spec.nodeSelector: each label is `key In [value]`, ANDed with everything.
  const selectorReqs: Sourced[] = Object.entries(podSpec.nodeSelector ?? {}).map(([key, value]) => ({
    req: { key, operator: 'In', values: [value] },
    field: false,
    source: `spec.nodeSelector ${key}: ${value}`,
  }));
  for (const s of selectorReqs) {
    const pools = poolsBySlot.get(slot(s)) ?? [];
    if (pools.length > 0 && !satisfiable([s.req, ...pools.map((p) => p.req)])) {
      const culprits = [...new Set(blame([s], pools).map((p) => p.source))].join('; ');
      const value = s.req.values![0]!;
      return err(`pod sets spec.nodeSelector ${s.req.key}: ${value}, but ${culprits}; change spec.nodeSelector ${s.req.key} or use a pool that serves nodes labelled ${s.req.key}=${value}`);
    }
  }

  // 4. The required terms: which can still match, which contradict the pools.
  const required = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? undefined;
  const terms = required?.nodeSelectorTerms ?? [];
  const pools = combine(constraints);
  let newTerms: NodeSelectorTerm[];
  if (terms.length === 0) {
    newTerms = extendTerm({}, pools);
  } else {
    newTerms = [];
    const contradictions: string[] = [];
    let compatible = 0;
    terms.forEach((term, index) => {
      const own: Sourced[] = [
        ...(term.matchExpressions ?? []).map((req) => ({ req, field: false, source: `${TERMS_FIELD}[${index}] requires ${describe(req, false)}` })),
        ...(term.matchFields ?? []).map((req) => ({ req, field: true, source: `${TERMS_FIELD}[${index}] requires ${describe(req, true)}` })),
        ...selectorReqs,
      ];
      const ownBySlot = groupBySlot(own);
      const dead = isEmptyTerm(term) || [...ownBySlot.values()].some((group) => !satisfiable(group.map((s) => s.req)));
      if (dead) {
        newTerms.push(term);
        return;
      }
      for (const [key, group] of poolsBySlot) {
        const podSide = ownBySlot.get(key) ?? [];
        if (podSide.length > 0 && !satisfiable([...podSide, ...group].map((s) => s.req))) {
          const podText = [...new Set(podSide.map((s) => s.source))].join(' and ');
          const poolText = [...new Set(blame(podSide, group).map((s) => s.source))].join('; ');
          contradictions.push(`${podText}, but ${poolText}`);
          return; // dropped: ANDed with the pools it matches no node
        }
      }
      compatible++;
      newTerms.push(...extendTerm(term, pools));
    });
    if (compatible === 0 && contradictions.length > 0) {
      return err(`every term of the pod's required node affinity contradicts its pools: ${contradictions.join('; ')}; change the pod's node affinity or use pools that serve nodes it allows`);
    }
    if (JSON.stringify(newTerms) === JSON.stringify(terms)) return ok({ patch: [], nodeAffinity: current });
  }

  // 5. The patch. `add` sets an object member whether or not it exists (RFC 6902
  // 4.1), so it also replaces a null; the highest missing object is added whole.
  const base = options.specPath ?? '/spec';
  const newRequired: NodeSelector = { ...(required ?? {}), nodeSelectorTerms: newTerms };
  const nodeAffinity: NodeAffinity = { ...(current ?? {}), requiredDuringSchedulingIgnoredDuringExecution: newRequired };
  let patch: JsonPatchAdd;
  if (podSpec.affinity == null) patch = { op: 'add', path: `${base}/affinity`, value: { nodeAffinity } };
  else if (current == null) patch = { op: 'add', path: `${base}/affinity/nodeAffinity`, value: nodeAffinity };
  else if (required == null) patch = { op: 'add', path: `${base}/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution`, value: newRequired };
  else patch = { op: 'add', path: `${base}/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`, value: newTerms };
  return ok({ patch: [patch], nodeAffinity });
}
