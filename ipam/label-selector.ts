// metav1.LabelSelector, as used by pool affinities, with the checks the API server
// would make had the CRD a schema for them.
import { z } from 'zod';
import { problem, type FieldProblem } from './field-problem.js';

export const LabelSelectorRequirement = z.object({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).nullish(),
});

export const LabelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).nullish(),
  matchExpressions: z.array(LabelSelectorRequirement).nullish(),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

// Label keys and values as the API server checks them (apimachinery validation.IsQualifiedName,
// IsValidLabelValue): a name part of at most 63 characters, alphanumeric at both ends.
const LABEL_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;
const DNS_SUBDOMAIN_MAX = 253;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const NAME_RULE = `at most ${LABEL_NAME_MAX} letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
const KEY_RULE = `a label key is a name of ${NAME_RULE}, optionally after a DNS subdomain prefix and "/" (e.g. "app" or "example.com/tier")`;
const VALUE_RULE = `a label value is empty or ${NAME_RULE}`;

/** Why `key` is not a label key, or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const quoted = JSON.stringify(key);
  const parts = key.split('/');
  if (parts.length > 2) return `${quoted} is not a label key: it has more than one "/"; ${KEY_RULE}`;
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined) {
    if (prefix === '') return `${quoted} is not a label key: the prefix before "/" is empty; ${KEY_RULE}`;
    if (prefix.length > DNS_SUBDOMAIN_MAX) return `${quoted} is not a label key: the prefix is ${prefix.length} characters, more than ${DNS_SUBDOMAIN_MAX}; ${KEY_RULE}`;
    if (!DNS_SUBDOMAIN.test(prefix)) {
      return `${quoted} is not a label key: the prefix ${JSON.stringify(prefix)} is not a DNS subdomain (lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit); ${KEY_RULE}`;
    }
  }
  if (name === '') return `${quoted} is not a label key: the name is empty; ${KEY_RULE}`;
  if (name.length > LABEL_NAME_MAX) return `${quoted} is not a label key: the name is ${name.length} characters, more than ${LABEL_NAME_MAX}; ${KEY_RULE}`;
  if (!LABEL_NAME.test(name)) return `${quoted} is not a label key; ${KEY_RULE}`;
  return undefined;
}

/** Why `value` is not a label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  const quoted = JSON.stringify(value);
  if (value === '') return undefined;
  if (value.length > LABEL_VALUE_MAX) return `${quoted} is not a label value: it is ${value.length} characters, more than ${LABEL_VALUE_MAX}; ${VALUE_RULE}`;
  if (!LABEL_NAME.test(value)) return `${quoted} is not a label value; ${VALUE_RULE}`;
  return undefined;
}

/**
 * The checks metav1 LabelSelector validation makes: keys and values are label keys
 * and values, operators are the four of a label selector, and In/NotIn take values
 * while Exists/DoesNotExist take none.
 */
export function validateLabelSelector(selector: LabelSelector, field: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const badKey = labelKeyProblem(key);
    if (badKey) problems.push(problem(`${field}.matchLabels`, badKey));
    const badValue = labelValueProblem(value);
    if (badValue) problems.push(problem(`${field}.matchLabels[${JSON.stringify(key)}]`, badValue));
  }
  (selector.matchExpressions ?? []).forEach((expression, index) => {
    const at = `${field}.matchExpressions[${index}]`;
    const badKey = labelKeyProblem(expression.key);
    if (badKey) problems.push(problem(`${at}.key`, badKey));
    if (!OPERATORS.includes(expression.operator)) {
      problems.push(problem(`${at}.operator`, `${JSON.stringify(expression.operator)} is not an operator; use one of ${OPERATORS.join(', ')}`));
      return;
    }
    const values = expression.values ?? [];
    const needsValues = expression.operator === 'In' || expression.operator === 'NotIn';
    if (needsValues && values.length === 0) problems.push(problem(`${at}.values`, `must not be empty for operator ${expression.operator}`));
    if (!needsValues && values.length > 0) problems.push(problem(`${at}.values`, `must be empty for operator ${expression.operator}`));
    if (!needsValues) return;
    values.forEach((value, valueIndex) => {
      const badValue = labelValueProblem(value);
      if (badValue) problems.push(problem(`${at}.values[${valueIndex}]`, badValue));
    });
  });
  return problems;
}

/** Does `labels` satisfy `selector`? An empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    const ok =
      e.operator === 'In' ? has && values.includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !values.includes(labels[e.key]!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}
