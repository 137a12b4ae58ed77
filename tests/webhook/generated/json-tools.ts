// JSON helpers that survive what the generators produce: values nested thousands of
// levels deep (JSON.stringify and structuredClone overflow the stack on those) and
// objects with own `__proto__` keys (made by JSON.parse, as a real request body would).

/** JSON text of a JSON value, without recursion. Key order and escaping match JSON.stringify. */
export function stringifyDeep(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to write, or a literal piece of text.
  const stack: ({ value: unknown } | { text: string })[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(v === undefined ? 'null' : JSON.stringify(v));
      continue;
    }
    const pieces: ({ value: unknown } | { text: string })[] = [];
    if (Array.isArray(v)) {
      pieces.push({ text: '[' });
      v.forEach((element, index) => {
        if (index > 0) pieces.push({ text: ',' });
        pieces.push({ value: element });
      });
      pieces.push({ text: ']' });
    } else {
      pieces.push({ text: '{' });
      let first = true;
      for (const key of Object.keys(v)) {
        const element = (v as Record<string, unknown>)[key];
        if (element === undefined) continue;
        if (!first) pieces.push({ text: ',' });
        first = false;
        pieces.push({ text: `${JSON.stringify(key)}:` }, { value: element });
      }
      pieces.push({ text: '}' });
    }
    for (let i = pieces.length - 1; i >= 0; i--) stack.push(pieces[i]!);
  }
  return out.join('');
}

/** How deeply objects and arrays nest inside `value` (a scalar is 0), without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Every string in a value, keys included, without recursion. */
export function* stringsIn(value: unknown): Generator<string> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') yield v;
    else if (v !== null && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        if (!Array.isArray(v)) yield key;
        stack.push(child);
      }
    }
  }
}

/** A deep copy that keeps own `__proto__` keys as data, as JSON.parse made them. */
export function copyJson<T>(value: T): T {
  return JSON.parse(stringifyDeep(value)) as T;
}

/** A short, single-line rendering of an input for a failure report. */
export function summarize(value: unknown, limit = 600): string {
  const text = stringifyDeep(value);
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}
