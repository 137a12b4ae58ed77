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

/** More than this many problems are summarised: the object is far from valid, and the answer must stay small. */
export const MAX_LISTED_PROBLEMS = 20;

// JSON.stringify leaves U+2028/U+2029 as they are, so spell every escape out.
const LINE_BREAK_ESCAPES: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** One line per problem: user text that carries a line break cannot forge another line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]/g, (c) => LINE_BREAK_ESCAPES[c]!);
}

export function formatProblems(problems: readonly FieldProblem[]): string {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => oneLine(`${p.field}: ${p.message}`));
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more problems`);
  return lines.join('\n');
}

/** Problems from a zod schema, with paths written the way Underpin names fields (`spec.ips[1]`). */
export function schemaProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldProblem[] {
  return issues.map((issue) => {
    let field = '';
    for (const part of issue.path) field += typeof part === 'number' ? `[${part}]` : field ? `.${String(part)}` : String(part);
    return problem(field || '(object)', issue.message);
  });
}
