import t from 'tap';
import type { IPFamily } from '../../../ipam/address.js';
import { poolCandidates, whyNotCandidate, type CandidateContext, type PoolView } from '../../../ipam/pool-candidates.js';
import type { SpiderIPPoolSpec } from '../../../ipam/spider-ippool.js';
import { readUnderlayBlock } from '../../../ipam/underlay-block.js';

function pool(name: string, spec: Partial<SpiderIPPoolSpec> = {}, deleting = false, family: IPFamily = 4): PoolView {
  const full: SpiderIPPoolSpec = family === 4 ? { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'], ...spec } : { subnet: 'fd00:6::/64', ips: ['fd00:6::10-fd00:6::20'], ...spec };
  const block = readUnderlayBlock(full).block;
  if (!block) throw new Error(`bad spec for ${name}`);
  return { name, spec: full, block, deleting, labels: {} };
}
const ctx = (over: Partial<CandidateContext> = {}): CandidateContext => ({ namespace: 'ns1', namespaceLabels: { team: 'a' }, podLabels: { app: 'web' }, ...over });

t.test('whyNotCandidate', async (t) => {
  const cases: Array<[name: string, p: PoolView, family: IPFamily, c: CandidateContext, reason: string | undefined]> = [
    ['plain v4', pool('p'), 4, ctx(), undefined],
    ['plain v6', pool('p', {}, false, 6), 6, ctx(), undefined],
    ['deleting', pool('p', { disable: true }, true), 4, ctx(), 'is being deleted'],
    ['disabled', pool('p', { disable: true }), 4, ctx(), 'is disabled (spec.disable: true)'],
    ['disable false', pool('p', { disable: false }), 4, ctx(), undefined],
    ['v4 pool for v6', pool('p'), 6, ctx(), 'is IPv4, not IPv6'],
    ['v6 pool for v4', pool('p', {}, false, 6), 4, ctx(), 'is IPv6, not IPv4'],
    ['namespaceName matches', pool('p', { namespaceName: ['ns0', 'ns1'] }), 4, ctx(), undefined],
    ['namespaceName other', pool('p', { namespaceName: ['ns0', 'ns2'] }), 4, ctx(), 'serves namespaces ns0, ns2 only (spec.namespaceName), not ns1'],
    ['namespaceName empty = any', pool('p', { namespaceName: [] }), 4, ctx(), undefined],
    ['namespaceAffinity matches', pool('p', { namespaceAffinity: { matchLabels: { team: 'a' } } }), 4, ctx(), undefined],
    ['namespaceAffinity no match', pool('p', { namespaceAffinity: { matchLabels: { team: 'b' } } }), 4, ctx(), 'spec.namespaceAffinity does not match namespace ns1'],
    ['podAffinity matches', pool('p', { podAffinity: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } }), 4, ctx(), undefined],
    ['podAffinity no match', pool('p', { podAffinity: { matchLabels: { app: 'db' } } }), 4, ctx(), "spec.podAffinity does not match the pod's labels"],
    ['multusName without namespace: pod namespace', pool('p', { multusName: ['macvlan'] }), 4, ctx({ network: 'ns1/macvlan' }), undefined],
    ['multusName without namespace: other namespace', pool('p', { multusName: ['macvlan'] }), 4, ctx({ network: 'kube-system/macvlan' }), 'serves networks macvlan only (spec.multusName), not kube-system/macvlan'],
    ['multusName with namespace', pool('p', { multusName: ['kube-system/macvlan'] }), 4, ctx({ network: 'kube-system/macvlan' }), undefined],
    ['multusName with other namespace', pool('p', { multusName: ['kube-system/macvlan'] }), 4, ctx({ network: 'ns1/macvlan' }), 'serves networks kube-system/macvlan only (spec.multusName), not ns1/macvlan'],
    ['multusName, any of several', pool('p', { multusName: ['a', 'kube-system/b'] }), 4, ctx({ network: 'kube-system/b' }), undefined],
    ['multusName on the default network', pool('p', { multusName: ['macvlan'] }), 4, ctx(), 'serves networks macvlan only (spec.multusName), not the default network'],
    ['no multusName serves any network', pool('p'), 4, ctx({ network: 'ns1/macvlan' }), undefined],
    ['nodeName matches pod nodeName', pool('p', { nodeName: ['n1', 'n2'] }), 4, ctx({ nodeName: 'n2' }), undefined],
    ['nodeName differs', pool('p', { nodeName: ['n1'] }), 4, ctx({ nodeName: 'n9' }), 'serves nodes n1 only (spec.nodeName), but the pod sets spec.nodeName: n9'],
    ['nodeName unchecked without pod nodeName', pool('p', { nodeName: ['n1'] }), 4, ctx(), undefined],
    ['first reason wins: disabled before family', pool('p', { disable: true }, false, 6), 4, ctx(), 'is disabled (spec.disable: true)'],
    ['family before namespace', pool('p', { namespaceName: ['x'] }, false, 6), 4, ctx(), 'is IPv6, not IPv4'],
  ];
  for (const [name, p, family, c, reason] of cases) t.equal(whyNotCandidate(p, family, c), reason, name);
});

t.test('poolCandidates keeps the written order, separates skipped and unknown', async (t) => {
  const pools = new Map<string, PoolView>(
    [pool('a1'), pool('a2', { disable: true }), pool('a3'), pool('b1'), pool('b6', {}, false, 6), pool('z', {}, true)].map((p) => [p.name, p]),
  );
  const cases: Array<[name: string, patterns: string[], family: IPFamily, pools: string[], skipped: string[], unknown: string[]]> = [
    ['names in written order', ['b1', 'a1'], 4, ['b1', 'a1'], [], []],
    ['glob expands sorted', ['a*'], 4, ['a1', 'a3'], ['a2'], []],
    ['name before glob', ['a3', 'a*'], 4, ['a3', 'a1'], ['a2'], []],
    ['unknown names listed; globs matching nothing are not', ['nope', 'x*', 'b?', 'gone'], 4, ['b1'], ['b6'], ['nope', 'gone']],
    ['deleting and wrong family are skipped', ['z', 'b6'], 4, [], ['z', 'b6'], []],
    ['v6', ['b*', 'a1'], 6, ['b6'], ['b1', 'a1'], []],
    ['nothing', [], 4, [], [], []],
  ];
  for (const [name, patterns, family, want, skipped, unknown] of cases) {
    const got = poolCandidates(patterns, family, pools, ctx());
    t.same(got.pools.map((p) => p.name), want, `${name}: pools`);
    t.same(got.skipped.map((s) => s.pool), skipped, `${name}: skipped`);
    t.same(got.unknown, unknown, `${name}: unknown`);
  }
  const got = poolCandidates(['a2', 'b6'], 4, pools, ctx());
  t.same(got.skipped, [{ pool: 'a2', reason: 'is disabled (spec.disable: true)' }, { pool: 'b6', reason: 'is IPv6, not IPv4' }], 'reasons kept');

  const both = poolCandidates(['a*', 'a1'], 4, pools, ctx());
  t.same(both.pools.map((p) => p.name), ['a1', 'a3'], 'a name already matched by a glob is tried once');
  t.same(both.unknown, [], 'an existing pool named after a glob that matched it is not unknown');
  const dup = poolCandidates(['a1', 'a1'], 4, pools, ctx());
  t.same(dup.pools.map((p) => p.name), ['a1'], 'a repeated name is tried once');
});
