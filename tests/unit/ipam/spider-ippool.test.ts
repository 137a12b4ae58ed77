// The pool-only fields of a SpiderIPPool: affinities, namespace, node and Multus names.
import t from 'tap';
import type { FieldProblem } from '../../../ipam/field-problem.js';
import { SpiderIPPool, validatePoolSelectionFields, type SpiderIPPoolSpec } from '../../../ipam/spider-ippool.js';

const p = (field: string, message: string): FieldProblem => ({ field, message });

function spec(fields: Partial<SpiderIPPoolSpec>): SpiderIPPoolSpec {
  return { subnet: '10.6.0.0/16', ...fields };
}

t.test('affinities are label selectors, checked under their own field', async (t) => {
  const bad = { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] };
  const cases: Array<[name: string, fields: Partial<SpiderIPPoolSpec>, expected: FieldProblem[]]> = [
    ['none', {}, []],
    ['null', { podAffinity: null, namespaceAffinity: null, nodeAffinity: null }, []],
    ['valid ones', { podAffinity: { matchLabels: { app: 'web' } }, namespaceAffinity: {}, nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } }, []],
    ['podAffinity', { podAffinity: bad }, [p('spec.podAffinity.matchExpressions[0].values', 'must not be empty for operator In')]],
    ['namespaceAffinity', { namespaceAffinity: bad }, [p('spec.namespaceAffinity.matchExpressions[0].values', 'must not be empty for operator In')]],
    ['nodeAffinity', { nodeAffinity: { matchExpressions: [{ key: 'a', operator: 'Lt', values: ['1'] }] } }, [
      p('spec.nodeAffinity.matchExpressions[0].operator', '"Lt" is not an operator; use one of In, NotIn, Exists, DoesNotExist'),
    ]],
    ['all three, in that order', { nodeAffinity: bad, namespaceAffinity: bad, podAffinity: bad }, [
      p('spec.podAffinity.matchExpressions[0].values', 'must not be empty for operator In'),
      p('spec.namespaceAffinity.matchExpressions[0].values', 'must not be empty for operator In'),
      p('spec.nodeAffinity.matchExpressions[0].values', 'must not be empty for operator In'),
    ]],
  ];
  for (const [name, fields, expected] of cases) t.same(validatePoolSelectionFields(spec(fields)), expected, name);
});

t.test('spec.multusName: "name" or "namespace/name"', async (t) => {
  const valid = ['macvlan', 'kube-system/macvlan', 'ns/macvlan.eth0', 'macvlan.eth0', 'a', '0/0', 'ns-1/nad-1'];
  const invalid = ['', 'a/b/c', 'NS/macvlan', 'ns/MacVlan', '/macvlan', 'ns/', 'ns.dotted/macvlan', '-ns/macvlan', 'ns/macvlan-', 'ns/mac_vlan', ' macvlan', 'ns /macvlan'];
  for (const ref of valid) t.same(validatePoolSelectionFields(spec({ multusName: [ref] })), [], `${JSON.stringify(ref)} is valid`);
  for (const ref of invalid) {
    t.same(
      validatePoolSelectionFields(spec({ multusName: ['ok', ref] })),
      [p('spec.multusName[1]', `${JSON.stringify(ref)} is not a NetworkAttachmentDefinition reference; write "namespace/name" or "name"`)],
      `${JSON.stringify(ref)} is not`,
    );
  }
});

t.test('spec.namespaceName: namespace names (DNS labels)', async (t) => {
  const valid = ['default', 'kube-system', 'a', 'ns1', '1ns', 'x'.repeat(63)];
  const invalid = ['', 'Default', 'a.b', '-a', 'a-', 'a_b', 'ns/x'];
  for (const ns of valid) t.same(validatePoolSelectionFields(spec({ namespaceName: [ns] })), [], `${JSON.stringify(ns)} is valid`);
  for (const ns of invalid) {
    t.same(validatePoolSelectionFields(spec({ namespaceName: ['default', ns] })), [p('spec.namespaceName[1]', `${JSON.stringify(ns)} is not a namespace name`)], `${JSON.stringify(ns)} is not`);
  }
});

t.test('spec.nodeName: node names (DNS subdomains)', async (t) => {
  const valid = ['node-1', 'worker1.example.com', 'a', '10.6.0.1'];
  const invalid = ['', 'Node1', 'node_1', 'node..1', '.node', 'node.', 'node 1'];
  for (const node of valid) t.same(validatePoolSelectionFields(spec({ nodeName: [node] })), [], `${JSON.stringify(node)} is valid`);
  for (const node of invalid) {
    t.same(validatePoolSelectionFields(spec({ nodeName: ['node-1', node] })), [p('spec.nodeName[1]', `${JSON.stringify(node)} is not a node name`)], `${JSON.stringify(node)} is not`);
  }
});

t.test('names longer than Kubernetes allows are refused', async (t) => {
  const node254 = `${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(63)}`;
  const cases: Array<[fields: Partial<SpiderIPPoolSpec>, field: string, message: string]> = [
    [{ namespaceName: ['x'.repeat(64)] }, 'spec.namespaceName[0]', `"${'x'.repeat(64)}" is not a namespace name: it is 64 characters, more than 63`],
    [{ nodeName: [node254] }, 'spec.nodeName[0]', `"${node254}" is not a node name: it is 255 characters, more than 253`],
    [
      { multusName: [`${'x'.repeat(64)}/macvlan`] },
      'spec.multusName[0]',
      `"${'x'.repeat(64)}/macvlan" is not a NetworkAttachmentDefinition reference: the namespace is 64 characters, more than 63`,
    ],
    [{ multusName: [`ns/${node254}`] }, 'spec.multusName[0]', `"ns/${node254}" is not a NetworkAttachmentDefinition reference: the name is 255 characters, more than 253`],
    [{ multusName: [node254] }, 'spec.multusName[0]', `"${node254}" is not a NetworkAttachmentDefinition reference: the name is 255 characters, more than 253`],
  ];
  for (const [fields, field, message] of cases) t.same(validatePoolSelectionFields(spec(fields)), [p(field, message)], `${field}: ${message.slice(-40)}`);
  // At the limits, they are names.
  const node253 = `${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(61)}`;
  t.same(validatePoolSelectionFields(spec({ namespaceName: ['x'.repeat(63)], nodeName: [node253], multusName: [`${'n'.repeat(63)}/${node253}`, node253] })), [], 'a 63-character namespace and 253-character names are valid');
  // A bad character is reported as such, long or not.
  t.same(
    validatePoolSelectionFields(spec({ namespaceName: ['X'.repeat(100)] })),
    [p('spec.namespaceName[0]', `"${'X'.repeat(100)}" is not a namespace name`)],
    'the character rule first',
  );
});

t.test('every problem at once, in field order', async (t) => {
  const problems = validatePoolSelectionFields(
    spec({
      nodeName: ['ok', 'BAD'],
      namespaceName: ['BAD'],
      multusName: ['a/b/c', 'ok'],
      podAffinity: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
    }),
  );
  t.same(
    problems.map((problem) => problem.field),
    ['spec.podAffinity.matchExpressions[0].values', 'spec.multusName[0]', 'spec.namespaceName[0]', 'spec.nodeName[1]'],
  );
});

t.test('SpiderIPPool schema', async (t) => {
  const base = { kind: 'SpiderIPPool', metadata: { name: 'p' }, spec: { subnet: '10.6.0.0/16' } };
  t.ok(SpiderIPPool.safeParse(base).success, 'minimal');
  t.ok(SpiderIPPool.safeParse({ ...base, spec: { ...base.spec, futureField: 1 } }).success, 'unknown spec fields are kept (loose)');
  const bad: Array<[name: string, spec: Record<string, unknown>]> = [
    ['default not a bool', { default: 'yes' }],
    ['disable not a bool', { disable: 1 }],
    ['namespaceName not a list', { namespaceName: 'default' }],
    ['multusName entries not strings', { multusName: [1] }],
    ['podAffinity not an object', { podAffinity: 'app=web' }],
  ];
  for (const [name, fields] of bad) t.notOk(SpiderIPPool.safeParse({ ...base, spec: { ...base.spec, ...fields } }).success, name);
  t.notOk(SpiderIPPool.safeParse({ ...base, kind: 'SpiderSubnet' }).success, 'kind must be SpiderIPPool');
});
