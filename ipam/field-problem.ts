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

/** Problems from a zod schema, with paths written the way Underpin names fields (`spec.ips[1]`). */
export function schemaProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldProblem[] {
  return issues.map((issue) => {
    let field = '';
    for (const part of issue.path) field += typeof part === 'number' ? `[${part}]` : field ? `.${String(part)}` : String(part);
    return problem(field || '(object)', issue.message);
  });
}
