// Pool-name globs: syntax, matching, and the stable order of the pools they name.
import t from 'tap';
import { compilePattern, expandPoolNames, isPattern } from '../../../ipam/pool-name-pattern.js';

t.test('isPattern: only *, ? and [ make a glob', async (t) => {
  const cases: Array<[name: string, expected: boolean]> = [
    ['pool-a', false],
    ['', false],
    ['pool.v4', false],
    ['pool-!', false],
    ['pool]', false],
    ['pool-*', true],
    ['*', true],
    ['pool-?', true],
    ['pool-[ab]', true],
    ['pool-[', true],
  ];
  for (const [name, expected] of cases) t.equal(isPattern(name), expected, JSON.stringify(name));
});

t.test('compilePattern: what each glob matches', async (t) => {
  const cases: Array<[pattern: string, matches: string[], misses: string[]]> = [
    ['pool-a', ['pool-a'], ['pool-b', 'pool-a1', 'pool-', 'xpool-a', '']],
    ['*', ['', 'a', 'pool-a', 'a.b.c'], []],
    ['pool-*', ['pool-', 'pool-a', 'pool-a-b-c'], ['pool', 'xpool-a', 'Pool-a']],
    ['*-v4', ['a-v4', '-v4', 'rack1-pool-v4'], ['a-v6', 'a-v4x']],
    ['rack*-v4', ['rack-v4', 'rack1-v4', 'rack12-blue-v4'], ['rack1-v6', 'rac-v4']],
    ['a*b*c', ['abc', 'aXbYc', 'abbbc', 'acbc'], ['ab', 'acb', 'abcX']],
    ['**', ['', 'anything'], []],
    ['a**b', ['ab', 'axxb'], ['a', 'ba']],
    ['pool-?', ['pool-a', 'pool-1'], ['pool-', 'pool-ab']],
    ['??', ['ab', '12'], ['a', 'abc']],
    ['pool-?-*', ['pool-a-', 'pool-a-v4'], ['pool--v4', 'pool-ab-v4']],
    ['pool-[abc]', ['pool-a', 'pool-b', 'pool-c'], ['pool-d', 'pool-', 'pool-ab']],
    ['pool-[a-c]', ['pool-a', 'pool-b', 'pool-c'], ['pool-d', 'pool-A', 'pool--']],
    ['pool-[0-9][0-9]', ['pool-00', 'pool-42'], ['pool-4', 'pool-4a', 'pool-420']],
    ['pool-[a-cx-z]', ['pool-b', 'pool-y'], ['pool-m']],
    ['pool-[!a-c]', ['pool-d', 'pool-1', 'pool--'], ['pool-a', 'pool-c', 'pool-', 'pool-dd']],
    ['pool-[^a-c]', ['pool-d'], ['pool-b']],
    ['pool-[!ab]*', ['pool-c', 'pool-cab', 'pool-1-v4'], ['pool-a', 'pool-b1', 'pool-']],
    ['pool-[]a]', ['pool-]', 'pool-a'], ['pool-b']],
    ['pool-[!]a]', ['pool-b'], ['pool-]', 'pool-a']],
    ['pool-[-a]', ['pool--', 'pool-a'], ['pool-b']],
    ['pool-[a-]', ['pool--', 'pool-a'], ['pool-b']],
    ['pool-[a-a]', ['pool-a'], ['pool-b']],
    ['[a-z]*[0-9]', ['a1', 'rack-09'], ['1a', 'a']],
    ['pool.v4', ['pool.v4'], ['poolXv4']],
    ['pool-(a)+', ['pool-(a)+'], ['pool-a', 'pool-aa']],
    ['é-*', ['é-1'], ['e-1']],
    ['?', ['é', '😀'], ['', 'ab']],
  ];
  for (const [pattern, matches, misses] of cases) {
    const compiled = compilePattern(pattern);
    if (!compiled.ok) {
      t.fail(`${pattern}: ${compiled.error}`);
      continue;
    }
    for (const name of matches) t.ok(compiled.value(name), `${JSON.stringify(pattern)} matches ${JSON.stringify(name)}`);
    for (const name of misses) t.notOk(compiled.value(name), `${JSON.stringify(pattern)} does not match ${JSON.stringify(name)}`);
  }
});

t.test('compilePattern: malformed classes are errors that say how to fix them', async (t) => {
  const cases: Array<[pattern: string, error: string]> = [
    ['pool-[ab', 'pool name pattern "pool-[ab": the "[" at position 6 is never closed with "]"; close the class (e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*") or remove the "["'],
    ['[', 'pool name pattern "[": the "[" at position 1 is never closed with "]"; close the class (e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*") or remove the "["'],
    ['pool-[]', 'pool name pattern "pool-[]": the "[" at position 6 is never closed with "]"; close the class (e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*") or remove the "["'],
    ['pool-[!]', 'pool name pattern "pool-[!]": the "[" at position 6 is never closed with "]"; close the class (e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*") or remove the "["'],
    ['a[b]-[c', 'pool name pattern "a[b]-[c": the "[" at position 6 is never closed with "]"; close the class (e.g. "rack1-*", "pool-v4-?", "pool-[a-c]", "pool-[!x]*") or remove the "["'],
    ['pool-[z-a]', 'pool name pattern "pool-[z-a]": the range "z-a" is reversed; write "a-z"'],
  ];
  for (const [pattern, error] of cases) {
    const compiled = compilePattern(pattern);
    t.same(compiled.ok ? 'compiled' : compiled.error, error, pattern);
  }
});

t.test('compilePattern: long names and many stars stay fast', async (t) => {
  // A backtracking matcher would try about C(253, 10) ≈ 10^17 splits here and never
  // finish; the test's own timeout catches that, so no clock is asserted.
  const compiled = compilePattern('*a*a*a*a*a*a*a*a*a*a*b');
  t.ok(compiled.ok);
  if (!compiled.ok) return;
  const start = performance.now();
  t.notOk(compiled.value('a'.repeat(253)), 'no b: no match');
  t.ok(compiled.value(`${'a'.repeat(252)}b`), 'a final b: a match');
  t.comment(`both in ${(performance.now() - start).toFixed(1)} ms`);
});

t.test('expandPoolNames: written order of patterns, sorted within a glob, each pool once', async (t) => {
  const pools = ['rack2-v4', 'rack1-v4', 'rack10-v4', 'rack1-v6', 'default-v4', 'spare', 'rack3-v4'];
  type Row = Array<{ name: string; pattern: string }>;
  const row = (...pairs: Array<[string, string]>): Row => pairs.map(([name, pattern]) => ({ name, pattern }));
  const cases: Array<[title: string, patterns: string[], expected: Row]> = [
    ['no patterns', [], []],
    ['plain names keep their written order', ['spare', 'rack1-v4', 'default-v4'], row(['spare', 'spare'], ['rack1-v4', 'rack1-v4'], ['default-v4', 'default-v4'])],
    ['unknown plain names are left out', ['nope', 'spare'], row(['spare', 'spare'])],
    ['a glob lists its matches sorted', ['rack*-v4'], row(['rack1-v4', 'rack*-v4'], ['rack10-v4', 'rack*-v4'], ['rack2-v4', 'rack*-v4'], ['rack3-v4', 'rack*-v4'])],
    [
      'a plain name before a glob keeps its place; the glob does not repeat it',
      ['rack2-v4', 'rack*-v4'],
      row(['rack2-v4', 'rack2-v4'], ['rack1-v4', 'rack*-v4'], ['rack10-v4', 'rack*-v4'], ['rack3-v4', 'rack*-v4']),
    ],
    [
      'a plain name after a glob that matched it is not repeated',
      ['rack[12]-v4', 'rack1-v4', 'spare'],
      row(['rack1-v4', 'rack[12]-v4'], ['rack2-v4', 'rack[12]-v4'], ['spare', 'spare']),
    ],
    [
      'overlapping globs: each pool at its first match',
      ['rack[!1]*-v4', 'rack*', '*-v4'],
      row(['rack2-v4', 'rack[!1]*-v4'], ['rack3-v4', 'rack[!1]*-v4'], ['rack1-v4', 'rack*'], ['rack1-v6', 'rack*'], ['rack10-v4', 'rack*'], ['default-v4', '*-v4']),
    ],
    ['a glob that matches nothing adds nothing', ['zone-*', 'spare'], row(['spare', 'spare'])],
    ['a malformed glob matches nothing', ['rack[1-v4', 'spare'], row(['spare', 'spare'])],
    ['the same pattern twice', ['spare', 'spare', 'rack?-v6', 'rack?-v6'], row(['spare', 'spare'], ['rack1-v6', 'rack?-v6'])],
    ['* names every pool, sorted', ['*'], [...pools].sort().map((name) => ({ name, pattern: '*' }))],
  ];
  for (const [title, patterns, expected] of cases) t.same(expandPoolNames(patterns, pools), expected, title);
});

t.test('expandPoolNames: the order does not depend on the order pools are listed in', async (t) => {
  const pools = ['b-1', 'a-2', 'c-1', 'a-1', 'b-2'];
  const patterns = ['b-*', '*-1', 'a-?'];
  const expected = expandPoolNames(patterns, pools);
  t.same(expected.map((m) => m.name), ['b-1', 'b-2', 'a-1', 'c-1', 'a-2']);
  for (const shuffled of [[...pools].reverse(), ['c-1', 'a-1', 'b-2', 'a-2', 'b-1'], new Set(pools), new Map(pools.map((p) => [p, p])).keys()]) {
    t.same(expandPoolNames(patterns, shuffled), expected);
  }
  t.same(expandPoolNames(['*'], ['x', 'x', 'y']), [{ name: 'x', pattern: '*' }, { name: 'y', pattern: '*' }], 'duplicate pool names count once');
});
