// SpiderIPPool (spiderpool.spidernet.io/v2beta1): the addresses pods get, with the
// affinities that say which pods may use them.
import { z } from 'zod';
import { problem, type FieldProblem } from './field-problem.js';
import { LabelSelector, validateLabelSelector } from './label-selector.js';
import { ObjectMeta } from './object-meta.js';
import { UnderlayFields } from './underlay-block.js';

export const SpiderIPPoolSpec = z.looseObject({
  ...UnderlayFields,
  podAffinity: LabelSelector.nullish(),
  namespaceAffinity: LabelSelector.nullish(),
  namespaceName: z.array(z.string()).nullish(),
  nodeAffinity: LabelSelector.nullish(),
  nodeName: z.array(z.string()).nullish(),
  multusName: z.array(z.string()).nullish(),
  default: z.boolean().nullish(),
  disable: z.boolean().nullish(),
});
export type SpiderIPPoolSpec = z.infer<typeof SpiderIPPoolSpec>;

export const SpiderIPPool = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('SpiderIPPool'),
  metadata: ObjectMeta,
  spec: SpiderIPPoolSpec,
});
export type SpiderIPPool = z.infer<typeof SpiderIPPool>;

// NetworkAttachmentDefinition references: "name" or "namespace/name", DNS-1123 parts.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The pool-only fields (affinities, names); the shared ones are read by readUnderlayBlock. */
export function validatePoolSelectionFields(spec: SpiderIPPoolSpec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ['podAffinity', 'namespaceAffinity', 'nodeAffinity'] as const) {
    const selector = spec[field];
    if (selector) problems.push(...validateLabelSelector(selector, `spec.${field}`));
  }
  (spec.multusName ?? []).forEach((ref, index) => {
    const parts = ref.split('/');
    const valid =
      (parts.length === 1 && DNS_SUBDOMAIN.test(parts[0]!)) ||
      (parts.length === 2 && DNS_LABEL.test(parts[0]!) && DNS_SUBDOMAIN.test(parts[1]!));
    if (!valid) problems.push(problem(`spec.multusName[${index}]`, `"${ref}" is not a NetworkAttachmentDefinition reference; write "namespace/name" or "name"`));
  });
  (spec.namespaceName ?? []).forEach((ns, index) => {
    if (!DNS_LABEL.test(ns)) problems.push(problem(`spec.namespaceName[${index}]`, `"${ns}" is not a namespace name`));
  });
  (spec.nodeName ?? []).forEach((node, index) => {
    if (!DNS_SUBDOMAIN.test(node)) problems.push(problem(`spec.nodeName[${index}]`, `"${node}" is not a node name`));
  });
  return problems;
}
