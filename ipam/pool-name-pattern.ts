// Pool names in pod and namespace annotations and in CNI config may be globs
// (API.md): `*` any run of characters (also none), `?` exactly one character,
// `[...]` one character of a class — single characters and ranges `a-z`, negated
// with `[!...]` (or `[^...]`). A `]` right after `[` or `[!` is a literal member,
// as is a `-` first or last in the class. There is no escape character: pool
// names are DNS names and never contain `*?[]\`. Subnet names are never globs.
//
// Fallback order must be stable (Spiderpool's is not): patterns keep the order the
// user wrote; the pools one glob matches come in sorted name order.
import { err, ok, type Result } from './result.js';

type Token =
  | { kind: 'literal'; char: string }
  | { kind: 'one' }
  | { kind: 'many' }
  | { kind: 'class'; negated: boolean; ranges: Array<{ from: number; to: number }> };

/** Does `name` use glob syntax (`*`, `?` or `[`)? Anything else is a plain pool name. */
export function isPattern(name: string): boolean {
  return /[*?[]/.test(name);
}

const EXAMPLE = 'e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*"';

function tokenize(pattern: string): Result<Token[], string> {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      // `**` means the same as `*`; one token keeps matching linear.
      if (tokens.at(-1)?.kind !== 'many') tokens.push({ kind: 'many' });
    } else if (c === '?') {
      tokens.push({ kind: 'one' });
    } else if (c === '[') {
      const start = i;
      let j = i + 1;
      const negated = chars[j] === '!' || chars[j] === '^';
      if (negated) j++;
      const members: string[] = [];
      // A `]` first in the class is a member, not the end.
      if (chars[j] === ']') members.push(chars[j++]!);
      while (j < chars.length && chars[j] !== ']') members.push(chars[j++]!);
      if (j >= chars.length) {
        return err(`pool name pattern "${pattern}": the "[" at position ${start + 1} is never closed with "]"; close the class (${EXAMPLE}) or remove the "["`);
      }
      const ranges: Array<{ from: number; to: number }> = [];
      for (let k = 0; k < members.length; k++) {
        const from = members[k]!;
        // `a-z` is a range unless the `-` is the last member (then it is literal).
        if (members[k + 1] === '-' && k + 2 < members.length) {
          const to = members[k + 2]!;
          if (to.codePointAt(0)! < from.codePointAt(0)!) {
            return err(`pool name pattern "${pattern}": the range "${from}-${to}" is reversed; write "${to}-${from}"`);
          }
          ranges.push({ from: from.codePointAt(0)!, to: to.codePointAt(0)! });
          k += 2;
        } else {
          ranges.push({ from: from.codePointAt(0)!, to: from.codePointAt(0)! });
        }
      }
      tokens.push({ kind: 'class', negated, ranges });
      i = j;
    } else {
      tokens.push({ kind: 'literal', char: c });
    }
  }
  return ok(tokens);
}

function matchesOne(token: Exclude<Token, { kind: 'many' }>, char: string): boolean {
  switch (token.kind) {
    case 'literal':
      return token.char === char;
    case 'one':
      return true;
    case 'class': {
      const code = char.codePointAt(0)!;
      const inClass = token.ranges.some((r) => r.from <= code && code <= r.to);
      return inClass !== token.negated;
    }
  }
}

/** Whole-name match, by dynamic programming over (token, character): no backtracking blow-up. */
function matchTokens(tokens: readonly Token[], name: string): boolean {
  const chars = Array.from(name);
  // reachable[j]: the tokens seen so far can consume exactly chars[0..j).
  let reachable = new Array<boolean>(chars.length + 1).fill(false);
  reachable[0] = true;
  for (const token of tokens) {
    const next = new Array<boolean>(chars.length + 1).fill(false);
    if (token.kind === 'many') {
      let any = false;
      for (let j = 0; j <= chars.length; j++) {
        any ||= reachable[j]!;
        next[j] = any;
      }
    } else {
      for (let j = 0; j < chars.length; j++) if (reachable[j] && matchesOne(token, chars[j]!)) next[j + 1] = true;
    }
    reachable = next;
  }
  return reachable[chars.length]!;
}

/**
 * A matcher for one pool name or glob. A plain name matches only itself. The only
 * error is a malformed class: an unclosed `[` or a reversed range.
 */
export function compilePattern(pattern: string): Result<(name: string) => boolean, string> {
  if (!isPattern(pattern)) return ok((name: string) => name === pattern);
  const tokens = tokenize(pattern);
  if (!tokens.ok) return tokens;
  return ok((name: string) => matchTokens(tokens.value, name));
}

/**
 * The pools `patterns` name, in the order to try them: the patterns' written order;
 * within one glob, its matches in sorted order; a pool matched by two patterns once,
 * where it first matched. Only names in `poolNames` are returned. A pattern that does
 * not compile matches nothing here: report it with compilePattern when reading the
 * annotation.
 */
export function expandPoolNames(patterns: readonly string[], poolNames: Iterable<string>): { name: string; pattern: string }[] {
  const sorted = [...new Set(poolNames)].sort();
  const known = new Set(sorted);
  const seen = new Set<string>();
  const out: { name: string; pattern: string }[] = [];
  for (const pattern of patterns) {
    if (!isPattern(pattern)) {
      if (known.has(pattern) && !seen.has(pattern)) {
        seen.add(pattern);
        out.push({ name: pattern, pattern });
      }
      continue;
    }
    const matcher = compilePattern(pattern);
    if (!matcher.ok) continue;
    for (const name of sorted) {
      if (!seen.has(name) && matcher.value(name)) {
        seen.add(name);
        out.push({ name, pattern });
      }
    }
  }
  return out;
}
