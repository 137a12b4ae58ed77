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

export function validateLabelSelector(selector: LabelSelector, field: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  (selector.matchExpressions ?? []).forEach((expression, index) => {
    const at = `${field}.matchExpressions[${index}]`;
    if (!OPERATORS.includes(expression.operator)) {
      problems.push(problem(`${at}.operator`, `"${expression.operator}" is not an operator; use one of ${OPERATORS.join(', ')}`));
      return;
    }
    const values = expression.values ?? [];
    const needsValues = expression.operator === 'In' || expression.operator === 'NotIn';
    if (needsValues && values.length === 0) problems.push(problem(`${at}.values`, `must not be empty for operator ${expression.operator}`));
    if (!needsValues && values.length > 0) problems.push(problem(`${at}.values`, `must be empty for operator ${expression.operator}`));
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
