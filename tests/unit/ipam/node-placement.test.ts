// Placing a pod where its pools' subnets are reachable: pool constraints, ANDing them
// into the pod's required node affinity, the JSON patch, and the contradictions.
import fastJsonPatch from 'fast-json-patch';
import t from 'tap';
import type { LabelSelector } from '../../../ipam/label-selector.js';
import {
  constrainPod,
  nodeNameAllowed,
  PodPlacementSpec,
  poolNodeRequirements,
  type NodeAffinity,
  type NodeRequirements,
  type NodeSelectorRequirement,
  type NodeSelectorTerm,
  type PoolNodeConstraint,
} from '../../../ipam/node-placement.js';

const { applyPatch, deepClone } = fastJsonPatch;

type Op = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
const req = (key: string, operator: Op, ...values: string[]): NodeSelectorRequirement => (values.length > 0 ? { key, operator, values } : { key, operator });
const name = (node: string): NodeSelectorRequirement => req('metadata.name', 'In', node);
const term = (matchExpressions: NodeSelectorRequirement[], matchFields?: NodeSelectorRequirement[]): NodeSelectorTerm => ({
  ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  ...(matchFields ? { matchFields } : {}),
});
const required = (...terms: NodeSelectorTerm[]): NodeAffinity => ({ requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } });
const withRequired = (...terms: NodeSelectorTerm[]) => ({ affinity: { nodeAffinity: required(...terms) } });

type PoolSpec = { nodeName?: string[] | null; nodeAffinity?: LabelSelector | null };
const pool = (poolName: string, spec: PoolSpec): PoolNodeConstraint => ({ pool: poolName, ...poolNodeRequirements(spec) });
const zoneA = pool('zone-a', { nodeAffinity: { matchLabels: { zone: 'a' } } });
const rack1 = pool('rack1-v4', { nodeName: ['node-1', 'node-2'] });

const TERMS = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
const NA = '/spec/affinity/nodeAffinity';

t.test('poolNodeRequirements', async (t) => {
  const cases: Array<[title: string, spec: PoolSpec, expected: NodeRequirements]> = [
    ['no constraint', {}, { matchExpressions: [], matchFields: [] }],
    ['null fields', { nodeName: null, nodeAffinity: null }, { matchExpressions: [], matchFields: [] }],
    ['empty nodeName list is every node', { nodeName: [] }, { matchExpressions: [], matchFields: [] }],
    ['empty selector is every node', { nodeAffinity: {} }, { matchExpressions: [], matchFields: [] }],
    ['nodeName: the exact node names, as matchFields', { nodeName: ['node-1', 'node-2'] }, { matchExpressions: [], matchFields: [req('metadata.name', 'In', 'node-1', 'node-2')] }],
    ['nodeName: duplicates once', { nodeName: ['node-2', 'node-1', 'node-2'] }, { matchExpressions: [], matchFields: [req('metadata.name', 'In', 'node-2', 'node-1')] }],
    ['matchLabels: k In [v], keys sorted', { nodeAffinity: { matchLabels: { zone: 'a', rack: 'r1' } } }, { matchExpressions: [req('rack', 'In', 'r1'), req('zone', 'In', 'a')], matchFields: [] }],
    ['matchLabels: empty value', { nodeAffinity: { matchLabels: { gpu: '' } } }, { matchExpressions: [req('gpu', 'In', '')], matchFields: [] }],
    [
      'matchExpressions one to one',
      {
        nodeAffinity: {
          matchExpressions: [
            { key: 'zone', operator: 'In', values: ['a', 'b'] },
            { key: 'rack', operator: 'NotIn', values: ['r9'] },
            { key: 'sriov', operator: 'Exists' },
            { key: 'maintenance', operator: 'DoesNotExist', values: null },
          ],
        },
      },
      { matchExpressions: [req('zone', 'In', 'a', 'b'), req('rack', 'NotIn', 'r9'), req('sriov', 'Exists'), req('maintenance', 'DoesNotExist')], matchFields: [] },
    ],
    [
      'matchLabels and matchExpressions both apply',
      { nodeAffinity: { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'sriov', operator: 'Exists' }] } },
      { matchExpressions: [req('zone', 'In', 'a'), req('sriov', 'Exists')], matchFields: [] },
    ],
    [
      'nodeName and nodeAffinity both apply',
      { nodeName: ['node-1'], nodeAffinity: { matchLabels: { zone: 'a' } } },
      { matchExpressions: [req('zone', 'In', 'a')], matchFields: [req('metadata.name', 'In', 'node-1')] },
    ],
    ['a non-label-selector operator never reaches a pod', { nodeAffinity: { matchExpressions: [{ key: 'cpu', operator: 'Gt', values: ['4'] }, { key: 'zone', operator: 'in', values: ['a'] }] } }, { matchExpressions: [], matchFields: [] }],
  ];
  for (const [title, spec, expected] of cases) t.same(poolNodeRequirements(spec), expected, title);
});

t.test('nodeNameAllowed', async (t) => {
  const cases: Array<[title: string, node: string, spec: PoolSpec, labels: Record<string, string> | undefined, expected: boolean]> = [
    ['no constraint', 'node-7', {}, undefined, true],
    ['empty nodeName list', 'node-7', { nodeName: [] }, undefined, true],
    ['listed', 'node-2', { nodeName: ['node-1', 'node-2'] }, undefined, true],
    ['not listed', 'node-7', { nodeName: ['node-1', 'node-2'] }, undefined, false],
    ['names are exact', 'Node-1', { nodeName: ['node-1'] }, undefined, false],
    ['nodeAffinity, labels unknown: not judged', 'node-7', { nodeAffinity: { matchLabels: { zone: 'a' } } }, undefined, true],
    ['nodeAffinity matches the labels', 'node-7', { nodeAffinity: { matchLabels: { zone: 'a' } } }, { zone: 'a' }, true],
    ['nodeAffinity does not match the labels', 'node-7', { nodeAffinity: { matchLabels: { zone: 'a' } } }, { zone: 'b' }, false],
    ['listed, but the labels do not match', 'node-1', { nodeName: ['node-1'], nodeAffinity: { matchLabels: { zone: 'a' } } }, { zone: 'b' }, false],
  ];
  for (const [title, node, spec, labels, expected] of cases) t.equal(nodeNameAllowed(node, spec, labels), expected, title);
});

t.test('PodPlacementSpec: the subset of a pod spec, everything else kept', async (t) => {
  const spec = {
    containers: [{ name: 'c', image: 'i' }],
    nodeName: 'node-1',
    nodeSelector: { zone: 'a' },
    affinity: {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }] },
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'cpu', operator: 'Gt', values: ['4'] }], matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-9'] }], extra: 1 }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } }],
      },
    },
  };
  const parsed = PodPlacementSpec.safeParse(spec);
  t.ok(parsed.success);
  t.same(parsed.data, spec, 'round-trips unchanged');
  t.ok(PodPlacementSpec.safeParse({ affinity: null, nodeSelector: null, nodeName: null }).success, 'nulls');
  t.ok(PodPlacementSpec.safeParse({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: null } } } }).success, 'null terms');
  const bad = PodPlacementSpec.safeParse({ affinity: { nodeAffinity: required(term([{ key: 'zone', operator: 'Near' } as unknown as NodeSelectorRequirement])) } });
  t.notOk(bad.success, 'unknown operator');
});

/** Apply the patch to a pod the way the API server would, and check what it became. */
function podOf(spec: Record<string, unknown>): { apiVersion: string; kind: string; metadata: Record<string, string>; spec: Record<string, unknown> } {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } };
}

t.test('constrainPod: ANDs the pools into the pod, with a patch that applies', async (t) => {
  const podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } }] };
  const preferred = [{ weight: 10, preference: { matchExpressions: [req('ssd', 'Exists')] } }];
  const cases: Array<[title: string, spec: Record<string, unknown>, pools: PoolNodeConstraint[], path: string | undefined, after: NodeAffinity | undefined]> = [
    // no constraint
    ['no pools', {}, [], undefined, undefined],
    ['pools without constraint', withRequired(term([req('zone', 'In', 'b')])), [pool('any', {})], undefined, required(term([req('zone', 'In', 'b')]))],
    // 0 existing terms
    ['no affinity: one term', {}, [zoneA], '/spec/affinity', required(term([req('zone', 'In', 'a')]))],
    ['affinity: null', { affinity: null }, [zoneA], '/spec/affinity', required(term([req('zone', 'In', 'a')]))],
    ['pod anti-affinity only: nodeAffinity added beside it', { affinity: { podAntiAffinity } }, [zoneA], NA, required(term([req('zone', 'In', 'a')]))],
    ['nodeAffinity: null', { affinity: { podAntiAffinity, nodeAffinity: null } }, [zoneA], NA, required(term([req('zone', 'In', 'a')]))],
    [
      'preferred only: required added, preferred kept',
      { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred } } },
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution`,
      { preferredDuringSchedulingIgnoredDuringExecution: preferred, ...required(term([req('zone', 'In', 'a')])) },
    ],
    ['required with no terms', withRequired(), [zoneA], `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`, required(term([req('zone', 'In', 'a')]))],
    [
      'required with null terms',
      { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: null } } } },
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a')])),
    ],
    ['nodeName pool: one term per node (one value per matchFields requirement)', {}, [rack1], '/spec/affinity', required(term([], [name('node-1')]), term([], [name('node-2')]))],
    ['nodeName pool with one node', {}, [pool('p', { nodeName: ['node-1'] })], '/spec/affinity', required(term([], [name('node-1')]))],
    [
      'nodeName and nodeAffinity of one pool, ANDed',
      {},
      [pool('p', { nodeName: ['node-1', 'node-2'], nodeAffinity: { matchLabels: { zone: 'a' } } })],
      '/spec/affinity',
      required(term([req('zone', 'In', 'a')], [name('node-1')]), term([req('zone', 'In', 'a')], [name('node-2')])),
    ],
    // 1 existing term
    [
      'one term: the pool requirement appended',
      withRequired(term([req('zone', 'In', 'a', 'b')])),
      [pool('r', { nodeAffinity: { matchLabels: { rack: 'r1' } } })],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a', 'b'), req('rack', 'In', 'r1')])),
    ],
    [
      'one term with matchFields only: expressions added beside them',
      withRequired(term([], [req('metadata.name', 'NotIn', 'node-9')])),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a')], [req('metadata.name', 'NotIn', 'node-9')])),
    ],
    [
      'one term, nodeName pool: the term split per node',
      withRequired(term([req('zone', 'In', 'a')])),
      [rack1],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a')], [name('node-1')]), term([req('zone', 'In', 'a')], [name('node-2')])),
    ],
    [
      'one term excluding a node: that node is not offered',
      withRequired(term([], [req('metadata.name', 'NotIn', 'node-1')])),
      [rack1],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([], [req('metadata.name', 'NotIn', 'node-1'), name('node-2')])),
    ],
    ['identical requirement already there: no patch', withRequired(term([req('zone', 'In', 'a')])), [zoneA], undefined, required(term([req('zone', 'In', 'a')]))],
    [
      'identical up to value order: no patch',
      withRequired(term([req('zone', 'In', 'b', 'a')])),
      [pool('p', { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } })],
      undefined,
      required(term([req('zone', 'In', 'b', 'a')])),
    ],
    ['term already on an allowed node: no patch', withRequired(term([], [name('node-2')])), [rack1], undefined, required(term([], [name('node-2')]))],
    [
      'a stricter requirement on the same key is kept, the pool\'s still added',
      withRequired(term([req('zone', 'In', 'a')])),
      [pool('p', { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } })],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a'), req('zone', 'In', 'a', 'b')])),
    ],
    [
      'Gt/Lt are compatible with label requirements on the same key',
      withRequired(term([req('cpu', 'Gt', '4')])),
      [pool('p', { nodeAffinity: { matchLabels: { cpu: '8' } } })],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('cpu', 'Gt', '4'), req('cpu', 'In', '8')])),
    ],
    // 3 existing terms
    [
      'three terms: the pool requirement in every one (AND over OR)',
      withRequired(term([req('zone', 'In', 'a')]), term([req('zone', 'In', 'b')], [req('metadata.name', 'NotIn', 'node-9')]), term([req('gpu', 'Exists')])),
      [pool('p', { nodeAffinity: { matchLabels: { rack: 'r1' } } })],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(
        term([req('zone', 'In', 'a'), req('rack', 'In', 'r1')]),
        term([req('zone', 'In', 'b'), req('rack', 'In', 'r1')], [req('metadata.name', 'NotIn', 'node-9')]),
        term([req('gpu', 'Exists'), req('rack', 'In', 'r1')]),
      ),
    ],
    [
      'three terms, one contradicts the pool: it is dropped, the others extended',
      withRequired(term([req('zone', 'In', 'b')]), term([req('zone', 'In', 'a', 'b')]), term([req('gpu', 'Exists')])),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a', 'b'), req('zone', 'In', 'a')]), term([req('gpu', 'Exists'), req('zone', 'In', 'a')])),
    ],
    [
      'three terms, one already has it: only the others change',
      withRequired(term([req('zone', 'In', 'a')]), term([req('gpu', 'Exists')]), term([req('zone', 'In', 'a'), req('ssd', 'Exists')])),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('zone', 'In', 'a')]), term([req('gpu', 'Exists'), req('zone', 'In', 'a')]), term([req('zone', 'In', 'a'), req('ssd', 'Exists')])),
    ],
    [
      'three terms, nodeName pool: each term split per node, or kept when it picks an allowed node',
      withRequired(term([req('zone', 'In', 'a')]), term([], [name('node-2')]), term([req('gpu', 'Exists')])),
      [rack1],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(
        term([req('zone', 'In', 'a')], [name('node-1')]),
        term([req('zone', 'In', 'a')], [name('node-2')]),
        term([], [name('node-2')]),
        term([req('gpu', 'Exists')], [name('node-1')]),
        term([req('gpu', 'Exists')], [name('node-2')]),
      ),
    ],
    [
      'an empty term matches no node and stays empty',
      withRequired({}, term([req('gpu', 'Exists')])),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required({}, term([req('gpu', 'Exists'), req('zone', 'In', 'a')])),
    ],
    [
      'a term that contradicts itself is left alone',
      withRequired(term([req('gpu', 'Exists'), req('gpu', 'DoesNotExist')]), term([req('ssd', 'Exists')])),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('gpu', 'Exists'), req('gpu', 'DoesNotExist')]), term([req('ssd', 'Exists'), req('zone', 'In', 'a')])),
    ],
    [
      'extra fields of a term are kept',
      withRequired({ matchExpressions: [req('gpu', 'Exists')], 'x-note': 'kept' } as NodeSelectorTerm),
      [zoneA],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required({ matchExpressions: [req('gpu', 'Exists'), req('zone', 'In', 'a')], 'x-note': 'kept' } as NodeSelectorTerm),
    ],
    // several pools (NICs, families)
    [
      'IPv4 and IPv6 pools on overlapping nodes: only the common ones',
      {},
      [pool('rack1-v4', { nodeName: ['node-1', 'node-2'] }), pool('rack1-v6', { nodeName: ['node-3', 'node-2'] })],
      '/spec/affinity',
      required(term([], [name('node-2')])),
    ],
    [
      'pools with the same constraint: written once',
      {},
      [pool('rack1-v4', { nodeAffinity: { matchLabels: { rack: 'r1' } } }), pool('rack1-v6', { nodeAffinity: { matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1'] }] } })],
      '/spec/affinity',
      required(term([req('rack', 'In', 'r1')])),
    ],
    [
      'two NICs, two constraints: both in every term',
      withRequired(term([req('gpu', 'Exists')]), term([req('ssd', 'Exists')])),
      [pool('eth0-v4', { nodeAffinity: { matchLabels: { zone: 'a' } } }), pool('net1-v4', { nodeAffinity: { matchExpressions: [{ key: 'sriov', operator: 'Exists' }] } }), pool('net1-v6', {})],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('gpu', 'Exists'), req('zone', 'In', 'a'), req('sriov', 'Exists')]), term([req('ssd', 'Exists'), req('zone', 'In', 'a'), req('sriov', 'Exists')])),
    ],
    [
      'labels from one pool, node names from another',
      withRequired(term([req('gpu', 'Exists')])),
      [zoneA, rack1],
      `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`,
      required(term([req('gpu', 'Exists'), req('zone', 'In', 'a')], [name('node-1')]), term([req('gpu', 'Exists'), req('zone', 'In', 'a')], [name('node-2')])),
    ],
    // compatible pod settings
    ['spec.nodeName the pool serves: affinity still added (the kubelet checks it)', { nodeName: 'node-2' }, [rack1], '/spec/affinity', required(term([], [name('node-1')]), term([], [name('node-2')]))],
    ['spec.nodeSelector agrees', { nodeSelector: { zone: 'a', disk: 'ssd' } }, [zoneA], '/spec/affinity', required(term([req('zone', 'In', 'a')]))],
    [
      'spec.nodeSelector and a pool Exists',
      { nodeSelector: { sriov: 'true' } },
      [pool('p', { nodeAffinity: { matchExpressions: [{ key: 'sriov', operator: 'Exists' }] } })],
      '/spec/affinity',
      required(term([req('sriov', 'Exists')])),
    ],
  ];

  for (const [title, spec, pools, path, after] of cases) {
    t.test(title, async (t) => {
      const parsed = PodPlacementSpec.parse(spec);
      const result = constrainPod(parsed, pools);
      if (!result.ok) {
        t.fail(result.error);
        return;
      }
      t.same(result.value.nodeAffinity, after, 'resulting node affinity');
      t.same(result.value.patch.map((op) => op.path), path === undefined ? [] : [path], 'patch path');
      t.ok(result.value.patch.every((op) => op.op === 'add'));

      // The patch applies cleanly (validating) and gives the node affinity reported.
      const pod = podOf(spec);
      const patched = applyPatch(deepClone(pod), deepClone(result.value.patch), true).newDocument;
      t.same(patched.spec.affinity?.nodeAffinity ?? undefined, after, 'patched pod has it');
      const { affinity: _a, ...rest } = patched.spec;
      const { affinity: _b, ...before } = pod.spec;
      t.same(rest, before, 'nothing else in the spec changes');
      if (podAntiAffinity === (spec.affinity as { podAntiAffinity?: unknown } | undefined)?.podAntiAffinity) {
        t.same(patched.spec.affinity.podAntiAffinity, podAntiAffinity, 'pod anti-affinity kept');
      }

      // Idempotent: the patched pod needs no further patch.
      const again = constrainPod(PodPlacementSpec.parse(patched.spec), pools);
      t.same(again.ok ? again.value.patch : again.error, [], 'a second call adds nothing');
    });
  }
});

t.test('constrainPod: specPath for a workload\'s pod template', async (t) => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }], affinity: {} } } } };
  const result = constrainPod(PodPlacementSpec.parse(deployment.spec.template.spec), [zoneA], { specPath: '/spec/template/spec' });
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.value.patch, [{ op: 'add', path: '/spec/template/spec/affinity/nodeAffinity', value: required(term([req('zone', 'In', 'a')])) }]);
  const patched = applyPatch(deepClone(deployment), result.value.patch, true).newDocument;
  t.same(patched.spec.template.spec.affinity, { nodeAffinity: required(term([req('zone', 'In', 'a')])) });
});

t.test('constrainPod: the patch against a pod as the API server serializes it', async (t) => {
  // The webhook sees Go-serialized pods: nodeSelectorTerms has no omitempty.
  const pod = podOf({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: null } } } });
  const result = constrainPod(PodPlacementSpec.parse(pod.spec), [rack1]);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.value.patch, [
    { op: 'add', path: `${NA}/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms`, value: [term([], [name('node-1')]), term([], [name('node-2')])] },
  ]);
  t.same(applyPatch(deepClone(pod), result.value.patch, true).newDocument.spec.affinity.nodeAffinity, required(term([], [name('node-1')]), term([], [name('node-2')])));
});

t.test('constrainPod: contradictions on one key, exact for In/NotIn/Exists/DoesNotExist', async (t) => {
  // [pod term requirement, pool requirement (as a label selector expression), contradicts?]
  const L = (key: string, operator: string, ...values: string[]) => ({ key, operator, ...(values.length ? { values } : {}) });
  const cases: Array<[pod: NodeSelectorRequirement, pool: { key: string; operator: string; values?: string[] }, contradicts: boolean]> = [
    [req('zone', 'In', 'a'), L('zone', 'In', 'b'), true],
    [req('zone', 'In', 'a', 'b'), L('zone', 'In', 'b', 'c'), false],
    [req('zone', 'In', 'a'), L('zone', 'In', 'a'), false],
    [req('zone', 'In', 'a'), L('zone', 'NotIn', 'a'), true],
    [req('zone', 'In', 'a', 'b'), L('zone', 'NotIn', 'a'), false],
    [req('zone', 'In', 'a'), L('zone', 'DoesNotExist'), true],
    [req('zone', 'In', 'a'), L('zone', 'Exists'), false],
    [req('zone', 'NotIn', 'a'), L('zone', 'In', 'a'), true],
    [req('zone', 'NotIn', 'a', 'b'), L('zone', 'In', 'a', 'b'), true],
    [req('zone', 'NotIn', 'a'), L('zone', 'In', 'a', 'b'), false],
    [req('zone', 'NotIn', 'a'), L('zone', 'NotIn', 'b'), false],
    [req('zone', 'NotIn', 'a'), L('zone', 'DoesNotExist'), false],
    [req('zone', 'NotIn', 'a'), L('zone', 'Exists'), false],
    [req('zone', 'Exists'), L('zone', 'DoesNotExist'), true],
    [req('zone', 'Exists'), L('zone', 'Exists'), false],
    [req('zone', 'Exists'), L('zone', 'NotIn', 'a'), false],
    [req('zone', 'DoesNotExist'), L('zone', 'Exists'), true],
    [req('zone', 'DoesNotExist'), L('zone', 'In', 'a'), true],
    [req('zone', 'DoesNotExist'), L('zone', 'DoesNotExist'), false],
    [req('zone', 'DoesNotExist'), L('zone', 'NotIn', 'a'), false],
    [req('zone', 'Gt', '5'), L('zone', 'In', 'a'), false],
    [req('zone', 'Lt', '5'), L('zone', 'NotIn', 'a'), false],
    [req('zone', 'Gt', '5'), L('zone', 'Exists'), false],
    // Gt/Lt match only nodes that have the label.
    [req('zone', 'Gt', '5'), L('zone', 'DoesNotExist'), true],
    [req('rack', 'In', 'a'), L('zone', 'In', 'b'), false],
    [req('rack', 'DoesNotExist'), L('zone', 'Exists'), false],
  ];
  for (const [podReq, poolReq, contradicts] of cases) {
    const title = `pod ${podReq.key} ${podReq.operator} ${(podReq.values ?? []).join(',')} / pool ${poolReq.key} ${poolReq.operator} ${(poolReq.values ?? []).join(',')}`;
    const result = constrainPod(PodPlacementSpec.parse(withRequired(term([podReq]))), [pool('p', { nodeAffinity: { matchExpressions: [poolReq] } })]);
    t.equal(!result.ok, contradicts, `${title}: ${contradicts ? 'denied' : 'allowed'}`);
  }
});

t.test('constrainPod: denials name the pool and the pod setting, and the fix', async (t) => {
  const cases: Array<[title: string, spec: Record<string, unknown>, pools: PoolNodeConstraint[], error: string]> = [
    [
      'spec.nodeName the pool does not serve',
      { nodeName: 'node-7' },
      [rack1],
      'pod sets spec.nodeName: node-7, but SpiderIPPool "rack1-v4" only serves nodes node-1, node-2; remove spec.nodeName or use a pool that serves node-7',
    ],
    [
      'spec.nodeSelector, different value',
      { nodeSelector: { zone: 'b' } },
      [zoneA],
      'pod sets spec.nodeSelector zone: b, but SpiderIPPool "zone-a" requires node label zone in (a) (spec.nodeAffinity); change spec.nodeSelector zone or use a pool that serves nodes labelled zone=b',
    ],
    [
      'spec.nodeSelector vs NotIn',
      { nodeSelector: { zone: 'b' } },
      [pool('not-b', { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b', 'c'] }] } })],
      'pod sets spec.nodeSelector zone: b, but SpiderIPPool "not-b" requires node label zone not in (b, c) (spec.nodeAffinity); change spec.nodeSelector zone or use a pool that serves nodes labelled zone=b',
    ],
    [
      'spec.nodeSelector vs DoesNotExist',
      { nodeSelector: { maintenance: 'no' } },
      [pool('p', { nodeAffinity: { matchExpressions: [{ key: 'maintenance', operator: 'DoesNotExist' }] } })],
      'pod sets spec.nodeSelector maintenance: no, but SpiderIPPool "p" requires node label maintenance to be absent (spec.nodeAffinity); change spec.nodeSelector maintenance or use a pool that serves nodes labelled maintenance=no',
    ],
    [
      'the only term contradicts',
      withRequired(term([req('zone', 'In', 'b')])),
      [zoneA],
      `every term of the pod's required node affinity contradicts its pools: ${TERMS}[0] requires node label zone in (b), but SpiderIPPool "zone-a" requires node label zone in (a) (spec.nodeAffinity); change the pod's node affinity or use pools that serve nodes it allows`,
    ],
    [
      'every one of three terms contradicts, each its own way',
      withRequired(term([req('zone', 'In', 'b', 'c')]), term([req('zone', 'DoesNotExist')]), term([req('gpu', 'Exists')], [name('node-9')])),
      [zoneA, rack1],
      `every term of the pod's required node affinity contradicts its pools: ` +
        `${TERMS}[0] requires node label zone in (b, c), but SpiderIPPool "zone-a" requires node label zone in (a) (spec.nodeAffinity); ` +
        `${TERMS}[1] requires node label zone to be absent, but SpiderIPPool "zone-a" requires node label zone in (a) (spec.nodeAffinity); ` +
        `${TERMS}[2] requires node node-9, but SpiderIPPool "rack1-v4" only serves nodes node-1, node-2; ` +
        `change the pod's node affinity or use pools that serve nodes it allows`,
    ],
    [
      'Exists vs DoesNotExist',
      withRequired(term([req('sriov', 'DoesNotExist')])),
      [pool('sriov-pool', { nodeAffinity: { matchExpressions: [{ key: 'sriov', operator: 'Exists' }] } })],
      `every term of the pod's required node affinity contradicts its pools: ${TERMS}[0] requires node label sriov to be absent, but SpiderIPPool "sriov-pool" requires node label sriov to be present (spec.nodeAffinity); change the pod's node affinity or use pools that serve nodes it allows`,
    ],
    [
      'only the combination of two pools contradicts the term: both named',
      withRequired(term([req('zone', 'In', 'a', 'c')])),
      [pool('p1', { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] } }), pool('p2', { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] } })],
      `every term of the pod's required node affinity contradicts its pools: ${TERMS}[0] requires node label zone in (a, c), but SpiderIPPool "p1" requires node label zone in (a, b) (spec.nodeAffinity); SpiderIPPool "p2" requires node label zone not in (a) (spec.nodeAffinity); change the pod's node affinity or use pools that serve nodes it allows`,
    ],
    [
      'IPv4 and IPv6 pools on disjoint nodes',
      {},
      [pool('rack1-v4', { nodeName: ['node-1', 'node-2'] }), pool('rack2-v6', { nodeName: ['node-3'] })],
      'the pod\'s pools have no node in common: SpiderIPPool "rack1-v4" only serves nodes node-1, node-2; SpiderIPPool "rack2-v6" only serves nodes node-3; choose pools (for every interface and IP family) that serve at least one common node',
    ],
    [
      'two NICs\' pools in different zones',
      {},
      [pool('eth0-a', { nodeAffinity: { matchLabels: { zone: 'a' } } }), pool('net1-b', { nodeAffinity: { matchLabels: { zone: 'b' } } })],
      'the pod\'s pools have no node in common: SpiderIPPool "eth0-a" requires node label zone in (a) (spec.nodeAffinity); SpiderIPPool "net1-b" requires node label zone in (b) (spec.nodeAffinity); choose pools (for every interface and IP family) that serve at least one common node',
    ],
  ];
  for (const [title, spec, pools, error] of cases) {
    const result = constrainPod(PodPlacementSpec.parse(spec), pools);
    t.equal(result.ok ? 'allowed' : result.error, error, title);
  }

  // Several pools and spec.nodeName: the pools' common nodes count, and the pool that does not serve the node is the one named.
  const result = constrainPod(PodPlacementSpec.parse({ nodeName: 'node-7' }), [pool('rack1-v4', { nodeName: ['node-1', 'node-7'] }), pool('rack1-v6', { nodeName: ['node-7', 'node-2'] })]);
  t.same(result.ok ? result.value.nodeAffinity : result.error, required(term([], [name('node-7')])), 'nodeName in both pools: one term on that node');
  const denied = constrainPod(PodPlacementSpec.parse({ nodeName: 'node-2' }), [pool('rack1-v4', { nodeName: ['node-1', 'node-2'] }), pool('rack2-v6', { nodeName: ['node-2', 'node-3'] }), pool('rack3-v6', { nodeName: ['node-1'] })]);
  t.equal(
    denied.ok ? 'allowed' : denied.error,
    'the pod\'s pools have no node in common: SpiderIPPool "rack1-v4" only serves nodes node-1, node-2; SpiderIPPool "rack2-v6" only serves nodes node-2, node-3; SpiderIPPool "rack3-v6" only serves nodes node-1; choose pools (for every interface and IP family) that serve at least one common node',
    'three pools with no common node',
  );
  const second = constrainPod(PodPlacementSpec.parse({ nodeName: 'node-1' }), [pool('rack1-v4', { nodeName: ['node-1', 'node-2'] }), pool('rack2-v6', { nodeName: ['node-2', 'node-3'] })]);
  t.equal(
    second.ok ? 'allowed' : second.error,
    'pod sets spec.nodeName: node-1, but SpiderIPPool "rack2-v6" only serves nodes node-2, node-3; remove spec.nodeName or use a pool that serves node-1',
    'spec.nodeName: the pool that does not serve it is named, not the one that does',
  );
});

t.test('constrainPod: a term contradicting the pool is not denied while another term fits', async (t) => {
  const spec = withRequired(term([req('zone', 'In', 'b')]), term([req('zone', 'DoesNotExist')]), term([req('zone', 'Exists')]));
  const result = constrainPod(PodPlacementSpec.parse(spec), [zoneA]);
  t.same(result.ok ? result.value.nodeAffinity : result.error, required(term([req('zone', 'Exists'), req('zone', 'In', 'a')])));
});

t.test('constrainPod: terms already impossible are not blamed on the pool', async (t) => {
  // The pod cannot be scheduled anyway; Underpin neither denies it nor rewrites it.
  const spec = { nodeSelector: { zone: 'a' }, ...withRequired(term([req('zone', 'In', 'b')]), {}) };
  const result = constrainPod(PodPlacementSpec.parse(spec), [zoneA]);
  t.same(result.ok ? result.value.patch : result.error, []);
});
