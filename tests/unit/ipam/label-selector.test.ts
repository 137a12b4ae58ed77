// metav1.LabelSelector as pool affinities use it: validation and matching.
import t from 'tap';
import type { FieldProblem } from '../../../ipam/field-problem.js';
import { LabelSelector, selectorMatches, validateLabelSelector } from '../../../ipam/label-selector.js';

const p = (field: string, message: string): FieldProblem => ({ field, message });
const F = 'spec.podAffinity';
const notAnOperator = (index: number, operator: string) =>
  p(`${F}.matchExpressions[${index}].operator`, `"${operator}" is not an operator; use one of In, NotIn, Exists, DoesNotExist`);

t.test('validateLabelSelector: operators and the values each one takes', async (t) => {
  const cases: Array<[name: string, selector: LabelSelector, expected: FieldProblem[]]> = [
    ['empty selector', {}, []],
    ['null lists', { matchLabels: null, matchExpressions: null }, []],
    ['matchLabels only', { matchLabels: { app: 'web' } }, []],
    ['In with values', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, []],
    ['NotIn with values', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, []],
    ['Exists without values', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, []],
    ['Exists with null values', { matchExpressions: [{ key: 'app', operator: 'Exists', values: null }] }, []],
    ['DoesNotExist with empty values', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist', values: [] }] }, []],
    ['In without values', { matchExpressions: [{ key: 'app', operator: 'In' }] }, [p(`${F}.matchExpressions[0].values`, 'must not be empty for operator In')]],
    ['In with empty values', { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }, [p(`${F}.matchExpressions[0].values`, 'must not be empty for operator In')]],
    ['NotIn with null values', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: null }] }, [p(`${F}.matchExpressions[0].values`, 'must not be empty for operator NotIn')]],
    ['Exists with values', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] }, [p(`${F}.matchExpressions[0].values`, 'must be empty for operator Exists')]],
    ['DoesNotExist with values', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist', values: ['web'] }] }, [p(`${F}.matchExpressions[0].values`, 'must be empty for operator DoesNotExist')]],
    ['operators are case-sensitive', { matchExpressions: [{ key: 'app', operator: 'in', values: ['web'] }] }, [notAnOperator(0, 'in')]],
    ['Gt is a node-selector operator, not a label-selector one', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, [notAnOperator(0, 'Gt')]],
    ['empty operator, values not judged', { matchExpressions: [{ key: 'app', operator: '' }] }, [notAnOperator(0, '')]],
    [
      'every expression, at its index',
      {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x'] },
          { key: 'b', operator: 'Exists', values: ['x'] },
          { key: 'c', operator: 'Bogus' },
          { key: 'd', operator: 'NotIn', values: [] },
        ],
      },
      [p(`${F}.matchExpressions[1].values`, 'must be empty for operator Exists'), notAnOperator(2, 'Bogus'), p(`${F}.matchExpressions[3].values`, 'must not be empty for operator NotIn')],
    ],
  ];
  for (const [name, selector, expected] of cases) t.same(validateLabelSelector(selector, F), expected, name);
  t.same(
    validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] }, 'spec.nodeAffinity'),
    [p('spec.nodeAffinity.matchExpressions[0].values', 'must not be empty for operator In')],
    'problems are under the field given',
  );
});

t.test('validateLabelSelector: keys and values must be label names and values, as the API server requires', async (t) => {
  const cases: Array<[name: string, selector: LabelSelector, field: string]> = [
    ['empty key in an expression', { matchExpressions: [{ key: '', operator: 'Exists' }] }, `${F}.matchExpressions[0].key`],
    ['key with a space', { matchExpressions: [{ key: 'my app', operator: 'In', values: ['web'] }] }, `${F}.matchExpressions[0].key`],
    ['value with a space', { matchExpressions: [{ key: 'app', operator: 'In', values: ['my web'] }] }, `${F}.matchExpressions[0].values[0]`],
    ['empty matchLabels key', { matchLabels: { '': 'web' } }, `${F}.matchLabels`],
    ['matchLabels value too long', { matchLabels: { app: 'x'.repeat(64) } }, `${F}.matchLabels`],
  ];
  for (const [name, selector, field] of cases) {
    const problems = validateLabelSelector(selector, F);
    t.ok(problems.some((problem) => problem.field.startsWith(field)), `${name}: a problem at ${field}`, { problems });
  }
});

const KEY_RULE =
  'a label key is a name of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit, optionally after a DNS subdomain prefix and "/" (e.g. "app" or "example.com/tier")';
const VALUE_RULE = 'a label value is empty or at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit';

t.test('label keys: an optional DNS subdomain prefix and "/", then a name of at most 63 characters', async (t) => {
  const valid = [
    'app',
    'a',
    'A',
    '9',
    'App.Tier_1-x',
    'x'.repeat(63),
    'example.com/tier',
    'kubernetes.io/hostname',
    'node-role.kubernetes.io/control-plane',
    'a/b',
    `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/${'n'.repeat(63)}`,
  ];
  for (const key of valid) {
    t.same(validateLabelSelector({ matchLabels: { [key]: 'v' }, matchExpressions: [{ key, operator: 'Exists' }] }, F), [], `${JSON.stringify(key).slice(0, 40)} is a label key`);
  }
  const invalid: Array<[key: string, message: string]> = [
    ['', `"" is not a label key: the name is empty; ${KEY_RULE}`],
    ['my app', `"my app" is not a label key; ${KEY_RULE}`],
    ['-app', `"-app" is not a label key; ${KEY_RULE}`],
    ['app_', `"app_" is not a label key; ${KEY_RULE}`],
    ['app.', `"app." is not a label key; ${KEY_RULE}`],
    ['caf\u00e9', `"caf\u00e9" is not a label key; ${KEY_RULE}`],
    ['x'.repeat(64), `"${'x'.repeat(64)}" is not a label key: the name is 64 characters, more than 63; ${KEY_RULE}`],
    ['example.com/', `"example.com/" is not a label key: the name is empty; ${KEY_RULE}`],
    ['/app', `"/app" is not a label key: the prefix before "/" is empty; ${KEY_RULE}`],
    ['a/b/c', `"a/b/c" is not a label key: it has more than one "/"; ${KEY_RULE}`],
    [
      'Example.com/app',
      `"Example.com/app" is not a label key: the prefix "Example.com" is not a DNS subdomain (lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit); ${KEY_RULE}`,
    ],
    [
      'example_com/app',
      `"example_com/app" is not a label key: the prefix "example_com" is not a DNS subdomain (lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit); ${KEY_RULE}`,
    ],
    [`${'p'.repeat(254)}/app`, `"${'p'.repeat(254)}/app" is not a label key: the prefix is 254 characters, more than 253; ${KEY_RULE}`],
    ['a\nb', `"a\\nb" is not a label key; ${KEY_RULE}`],
  ];
  for (const [key, message] of invalid) {
    t.same(
      validateLabelSelector({ matchLabels: { [key]: 'v' }, matchExpressions: [{ key, operator: 'Exists' }] }, F),
      [p(`${F}.matchLabels`, message), p(`${F}.matchExpressions[0].key`, message)],
      `${JSON.stringify(key).slice(0, 40)} is not a label key`,
    );
  }
});

t.test('label values: empty, or at most 63 characters, alphanumeric at both ends', async (t) => {
  const valid = ['', 'web', 'W', '1', 'v1.2_3-x', 'x'.repeat(63)];
  for (const value of valid) {
    t.same(validateLabelSelector({ matchLabels: { app: value }, matchExpressions: [{ key: 'app', operator: 'In', values: ['ok', value] }] }, F), [], `${JSON.stringify(value)} is a label value`);
  }
  const invalid: Array<[value: string, message: string]> = [
    ['my web', `"my web" is not a label value; ${VALUE_RULE}`],
    ['-web', `"-web" is not a label value; ${VALUE_RULE}`],
    ['web.', `"web." is not a label value; ${VALUE_RULE}`],
    ['a/b', `"a/b" is not a label value; ${VALUE_RULE}`],
    ['x'.repeat(64), `"${'x'.repeat(64)}" is not a label value: it is 64 characters, more than 63; ${VALUE_RULE}`],
    ['web\n', `"web\\n" is not a label value; ${VALUE_RULE}`],
  ];
  for (const [value, message] of invalid) {
    t.same(
      validateLabelSelector({ matchLabels: { app: value }, matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['ok', value] }] }, F),
      [p(`${F}.matchLabels["app"]`, message), p(`${F}.matchExpressions[0].values[1]`, message)],
      `${JSON.stringify(value).slice(0, 40)} is not a label value`,
    );
  }
  t.same(
    validateLabelSelector({ matchLabels: { 'a"b': 'x y' } }, F),
    [p(`${F}.matchLabels`, `"a\\"b" is not a label key; ${KEY_RULE}`), p(`${F}.matchLabels["a\\"b"]`, `"x y" is not a label value; ${VALUE_RULE}`)],
    'a matchLabels value is named by its key, quoted',
  );
});

t.test('validateLabelSelector: every problem of an expression, key first', async (t) => {
  t.same(
    validateLabelSelector({ matchExpressions: [{ key: 'bad key', operator: 'Bogus', values: ['bad value'] }, { key: 'ok', operator: 'In', values: ['bad value', 'fine'] }] }, F),
    [
      p(`${F}.matchExpressions[0].key`, `"bad key" is not a label key; ${KEY_RULE}`),
      notAnOperator(0, 'Bogus'),
      p(`${F}.matchExpressions[1].values[0]`, `"bad value" is not a label value; ${VALUE_RULE}`),
    ],
    'an unknown operator leaves the values unjudged; the key is judged anyway',
  );
  t.same(
    validateLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Exists', values: ['bad value'] }] }, F),
    [p(`${F}.matchExpressions[0].values`, 'must be empty for operator Exists')],
    'values that must not be there are not judged one by one',
  );
  t.same(
    validateLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Exists\n' }] }, F),
    [p(`${F}.matchExpressions[0].operator`, '"Exists\\n" is not an operator; use one of In, NotIn, Exists, DoesNotExist')],
    'an operator is quoted as JSON, so a line break stays on its line',
  );
});

t.test('selectorMatches', async (t) => {
  const labels = { app: 'web', tier: 'front', empty: '' };
  const cases: Array<[name: string, selector: LabelSelector, expected: boolean]> = [
    ['empty selector matches everything', {}, true],
    ['null lists match everything', { matchLabels: null, matchExpressions: null }, true],
    ['matchLabels equal', { matchLabels: { app: 'web' } }, true],
    ['matchLabels all equal', { matchLabels: { app: 'web', tier: 'front' } }, true],
    ['matchLabels one differs', { matchLabels: { app: 'web', tier: 'back' } }, false],
    ['matchLabels key missing', { matchLabels: { zone: 'a' } }, false],
    ['matchLabels empty value present', { matchLabels: { empty: '' } }, true],
    ['matchLabels empty value, key missing', { matchLabels: { zone: '' } }, false],
    ['In, value listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] }, true],
    ['In, value not listed', { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] }, false],
    ['In, key missing', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['In, no values', { matchExpressions: [{ key: 'app', operator: 'In' }] }, false],
    ['NotIn, value listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    ['NotIn, value not listed', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, true],
    ['NotIn, key missing', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists, present', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['Exists, present with an empty value', { matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, true],
    ['Exists, missing', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['Exists, an inherited property is not a label', { matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, false],
    ['DoesNotExist, missing', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['DoesNotExist, inherited property', { matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, true],
    ['an unknown operator never matches', { matchExpressions: [{ key: 'app', operator: 'Bogus', values: ['web'] }] }, false],
    [
      'everything must hold (AND)',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }, { key: 'zone', operator: 'DoesNotExist' }] },
      true,
    ],
    ['matchLabels holds, an expression does not', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['an expression holds, matchLabels does not', { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, false],
  ];
  for (const [name, selector, expected] of cases) t.equal(selectorMatches(selector, labels), expected, name);
  t.equal(selectorMatches({}, {}), true, 'empty selector, no labels');
  t.equal(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {}), true, 'DoesNotExist on no labels');
  t.equal(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {}), true, 'NotIn on no labels');
});

t.test('LabelSelector schema', async (t) => {
  t.ok(LabelSelector.safeParse({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }).success, 'a full selector');
  t.notOk(LabelSelector.safeParse({ matchExpressions: [{ key: 'a' }] }).success, 'operator required');
  t.notOk(LabelSelector.safeParse({ matchExpressions: [{ operator: 'Exists' }] }).success, 'key required');
  t.notOk(LabelSelector.safeParse({ matchLabels: { a: 1 } }).success, 'matchLabels values are strings');
});
