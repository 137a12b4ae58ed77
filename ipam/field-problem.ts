// A problem with one field of a user's object. Validators return lists of these so
// a denial can name every problem at once, one line each.

export interface FieldProblem {
  /** JSON-ish path of the field, e.g. `spec.ips[1]`. */
  field: string;
  /** What is wrong and, where it is not obvious, what would be valid. */
  message: string;
}

export function problem(field: string, message: string): FieldProblem {
  return { field, message };
}

export function formatProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('\n');
}
