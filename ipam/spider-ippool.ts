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

// Kubernetes object names: a namespace is a DNS-1123 label (at most 63 characters),
// a node or a NetworkAttachmentDefinition a DNS-1123 subdomain (at most 253).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL_MAX = 63;
const DNS_SUBDOMAIN_MAX = 253;

/** Why `text` is not a `what` (of `shape`, at most `max` characters), or undefined when it is one. */
function nameProblem(text: string, what: string, shape: RegExp, max: number): string | undefined {
  const quoted = JSON.stringify(text);
  if (!shape.test(text)) return `${quoted} is not a ${what}`;
  if (text.length > max) return `${quoted} is not a ${what}: it is ${text.length} characters, more than ${max}`;
  return undefined;
}

/** The pool-only fields (affinities, names); the shared ones are read by readUnderlayBlock. */
export function validatePoolSelectionFields(spec: SpiderIPPoolSpec): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ['podAffinity', 'namespaceAffinity', 'nodeAffinity'] as const) {
    const selector = spec[field];
    if (selector) problems.push(...validateLabelSelector(selector, `spec.${field}`));
  }
  (spec.multusName ?? []).forEach((ref, index) => {
    const at = `spec.multusName[${index}]`;
    const parts = ref.split('/');
    const [namespace, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
    const shapeOk = parts.length <= 2 && DNS_SUBDOMAIN.test(name) && (namespace === undefined || DNS_LABEL.test(namespace));
    if (!shapeOk) {
      problems.push(problem(at, `${JSON.stringify(ref)} is not a NetworkAttachmentDefinition reference; write "namespace/name" or "name"`));
    } else if (namespace !== undefined && namespace.length > DNS_LABEL_MAX) {
      problems.push(problem(at, `${JSON.stringify(ref)} is not a NetworkAttachmentDefinition reference: the namespace is ${namespace.length} characters, more than ${DNS_LABEL_MAX}`));
    } else if (name.length > DNS_SUBDOMAIN_MAX) {
      problems.push(problem(at, `${JSON.stringify(ref)} is not a NetworkAttachmentDefinition reference: the name is ${name.length} characters, more than ${DNS_SUBDOMAIN_MAX}`));
    }
  });
  (spec.namespaceName ?? []).forEach((ns, index) => {
    const bad = nameProblem(ns, 'namespace name', DNS_LABEL, DNS_LABEL_MAX);
    if (bad) problems.push(problem(`spec.namespaceName[${index}]`, bad));
  });
  (spec.nodeName ?? []).forEach((node, index) => {
    const bad = nameProblem(node, 'node name', DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX);
    if (bad) problems.push(problem(`spec.nodeName[${index}]`, bad));
  });
  return problems;
}
