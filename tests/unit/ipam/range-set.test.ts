import t from 'tap';
import { formatAddress, parseAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import { formatRange, type IPRange } from '../../../ipam/range.js';
import { parseRangeList, RangeSet } from '../../../ipam/range-set.js';

function set(family: IPFamily, ...texts: string[]): RangeSet {
  const parsed = parseRangeList(texts, family);
  if (!parsed.ok) throw new Error(parsed.error.map((p) => `${p.path}: ${p.message}`).join('; '));
  return parsed.value.set;
}

function address(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

t.test('sorts and merges overlapping and adjacent ranges', async (t) => {
  const cases: Array<[family: IPFamily, input: string[], merged: string[]]> = [
    [4, [], []],
    [4, ['10.6.0.20', '10.6.0.1-10.6.0.9'], ['10.6.0.1-10.6.0.9', '10.6.0.20']],
    [4, ['10.6.0.1-10.6.0.4', '10.6.0.5'], ['10.6.0.1-10.6.0.5']],
    [4, ['10.6.0.6', '10.6.0.1-10.6.0.4', '10.6.0.5'], ['10.6.0.1-10.6.0.6']],
    [4, ['10.6.0.1-10.6.0.9', '10.6.0.3-10.6.0.5'], ['10.6.0.1-10.6.0.9']],
    [4, ['10.6.0.5-10.6.0.9', '10.6.0.1-10.6.0.6'], ['10.6.0.1-10.6.0.9']],
    [4, ['10.6.0.1', '10.6.0.1'], ['10.6.0.1']],
    [4, ['10.6.0.1', '10.6.0.3'], ['10.6.0.1', '10.6.0.3']],
    [4, ['10.6.0.255', '10.6.1.0'], ['10.6.0.255-10.6.1.0']],
    [4, ['0.0.0.0', '255.255.255.255', '0.0.0.1-255.255.255.254'], ['0.0.0.0-255.255.255.255']],
    [6, ['fd00::a', 'fd00::1-fd00::9'], ['fd00::1-fd00::a']],
    [6, ['fd00::ffff', 'fd00::1:0'], ['fd00::ffff-fd00::1:0']],
    [6, ['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ];
  for (const [family, input, merged] of cases) t.same(set(family, ...input).toStrings(), merged, input.join(', ') || '(empty)');
});

t.test('union, intersection, difference', async (t) => {
  const cases: Array<[family: IPFamily, a: string[], b: string[], union: string[], intersection: string[], difference: string[]]> = [
    // a hole in the middle splits a range in two; two holes split it in three
    [4, ['10.6.0.1-10.6.0.9'], ['10.6.0.5'], ['10.6.0.1-10.6.0.9'], ['10.6.0.5'], ['10.6.0.1-10.6.0.4', '10.6.0.6-10.6.0.9']],
    [4, ['10.6.0.1-10.6.0.9'], ['10.6.0.3', '10.6.0.6-10.6.0.7'], ['10.6.0.1-10.6.0.9'], ['10.6.0.3', '10.6.0.6-10.6.0.7'], ['10.6.0.1-10.6.0.2', '10.6.0.4-10.6.0.5', '10.6.0.8-10.6.0.9']],
    // cutting the ends
    [4, ['10.6.0.1-10.6.0.9'], ['10.6.0.1', '10.6.0.9'], ['10.6.0.1-10.6.0.9'], ['10.6.0.1', '10.6.0.9'], ['10.6.0.2-10.6.0.8']],
    [4, ['10.6.0.5-10.6.0.9'], ['10.6.0.1-10.6.0.6'], ['10.6.0.1-10.6.0.9'], ['10.6.0.5-10.6.0.6'], ['10.6.0.7-10.6.0.9']],
    // one cut spanning several ranges
    [4, ['10.6.0.1-10.6.0.3', '10.6.0.5-10.6.0.7', '10.6.0.9-10.6.0.11'], ['10.6.0.2-10.6.0.10'], ['10.6.0.1-10.6.0.11'], ['10.6.0.2-10.6.0.3', '10.6.0.5-10.6.0.7', '10.6.0.9-10.6.0.10'], ['10.6.0.1', '10.6.0.11']],
    // disjoint and adjacent
    [4, ['10.6.0.1-10.6.0.4'], ['10.6.0.5-10.6.0.9'], ['10.6.0.1-10.6.0.9'], [], ['10.6.0.1-10.6.0.4']],
    [4, ['10.6.0.1-10.6.0.4'], [], ['10.6.0.1-10.6.0.4'], [], ['10.6.0.1-10.6.0.4']],
    [4, [], ['10.6.0.1-10.6.0.4'], ['10.6.0.1-10.6.0.4'], [], []],
    [4, ['10.6.0.1-10.6.0.4'], ['10.6.0.0-10.6.0.255'], ['10.6.0.0-10.6.0.255'], ['10.6.0.1-10.6.0.4'], []],
    // the whole space
    [4, ['0.0.0.0-255.255.255.255'], ['10.0.0.0-10.255.255.255'], ['0.0.0.0-255.255.255.255'], ['10.0.0.0-10.255.255.255'], ['0.0.0.0-9.255.255.255', '11.0.0.0-255.255.255.255']],
    [4, ['0.0.0.0-255.255.255.255'], ['0.0.0.0', '255.255.255.255'], ['0.0.0.0-255.255.255.255'], ['0.0.0.0', '255.255.255.255'], ['0.0.0.1-255.255.255.254']],
    [6, ['fd00::1-fd00::9'], ['fd00::3', 'fd00::6-fd00::7'], ['fd00::1-fd00::9'], ['fd00::3', 'fd00::6-fd00::7'], ['fd00::1-fd00::2', 'fd00::4-fd00::5', 'fd00::8-fd00::9']],
    [6, ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['fd00::-fd00::ffff:ffff:ffff:ffff'], ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['fd00::-fd00::ffff:ffff:ffff:ffff'], ['::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fd00:0:0:1::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ];
  for (const [family, a, b, union, intersection, difference] of cases) {
    const [x, y] = [set(family, ...a), set(family, ...b)];
    const name = `[${a.join(', ')}] and [${b.join(', ')}]`;
    t.same(x.union(y).toStrings(), union, `${name}: union`);
    t.same(y.union(x).toStrings(), union, `${name}: union, reversed`);
    t.same(x.intersection(y).toStrings(), intersection, `${name}: intersection`);
    t.same(y.intersection(x).toStrings(), intersection, `${name}: intersection, reversed`);
    t.same(x.difference(y).toStrings(), difference, `${name}: difference`);
    t.equal(x.overlaps(y), intersection.length > 0, `${name}: overlaps`);
    t.equal(y.overlaps(x), intersection.length > 0, `${name}: overlaps, reversed`);
    t.equal(x.isSubsetOf(y), difference.length === 0, `${name}: subset`);
  }
});

t.test('agrees with a brute-force model on random sets', async (t) => {
  // Small universe (0.0.0.0-0.0.0.63), many random sets: every operation is compared
  // with the same operation on a plain Set of numbers.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n); // high bits: the low bits of this generator cycle quickly
  };
  const randomRanges = (): IPRange[] =>
    Array.from({ length: random(6) }, () => {
      const first = random(64);
      const last = Math.min(63, first + random(10));
      return { family: 4, first: BigInt(first), last: BigInt(last) };
    });
  const members = (ranges: IPRange[]) => {
    const all = new Set<number>();
    for (const r of ranges) for (let v = Number(r.first); v <= Number(r.last); v++) all.add(v);
    return all;
  };
  const listed = (s: RangeSet) => [...s.addresses()].map((a) => Number(a.value));
  const sorted = (values: Iterable<number>) => [...values].sort((p, q) => p - q);

  const failures: string[] = [];
  for (let round = 0; round < 500; round++) {
    const [ra, rb] = [randomRanges(), randomRanges()];
    const [a, b] = [RangeSet.fromRanges(4, ra), RangeSet.fromRanges(4, rb)];
    const [ma, mb] = [members(ra), members(rb)];
    const expect = (what: string, actual: unknown, expected: unknown) => {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) failures.push(`${a} ${what} ${b}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
    };
    expect('members', listed(a), sorted(ma));
    expect('∪', listed(a.union(b)), sorted(new Set([...ma, ...mb])));
    expect('∩', listed(a.intersection(b)), sorted([...ma].filter((v) => mb.has(v))));
    expect('−', listed(a.difference(b)), sorted([...ma].filter((v) => !mb.has(v))));
    expect('overlaps', a.overlaps(b), [...ma].some((v) => mb.has(v)));
    expect('count', Number(a.count()), ma.size);
    expect('firstN', a.firstN(3, b).map((x) => Number(x.value)), sorted([...ma].filter((v) => !mb.has(v))).slice(0, 3));
    for (let v = 0; v < 64; v++) expect(`contains ${v}`, a.containsAddress({ family: 4, value: BigInt(v) }), ma.has(v));
    // normalised: sorted, and a gap of at least one address between neighbours
    a.ranges.forEach((r, i) => {
      const next = a.ranges[i + 1];
      if (r.first > r.last || (next && next.first <= r.last + 1n)) failures.push(`${a} is not normalised`);
    });
  }
  t.same(failures, []);
});

t.test('membership by binary search, other family never a member', async (t) => {
  const s = set(4, '10.6.0.1-10.6.0.9', '10.6.0.20', '10.6.1.0-10.6.1.255', '192.168.0.1');
  const cases: Array<[text: string, inside: boolean]> = [
    ['10.6.0.0', false],
    ['10.6.0.1', true],
    ['10.6.0.9', true],
    ['10.6.0.10', false],
    ['10.6.0.20', true],
    ['10.6.0.21', false],
    ['10.6.1.128', true],
    ['192.168.0.1', true],
    ['192.168.0.2', false],
    ['255.255.255.255', false],
    ['::a06:1', false],
  ];
  for (const [text, inside] of cases) t.equal(s.containsAddress(address(text)), inside, `${text} ${inside ? 'in' : 'not in'} set`);
  t.notOk(RangeSet.empty(4).containsAddress(address('10.6.0.1')), 'empty set holds nothing');
});

t.test('counts and walks huge sets without expanding them', async (t) => {
  const slash8 = set(4, '10.0.0.0-10.255.255.255');
  const slash64 = set(6, 'fd00::-fd00::ffff:ffff:ffff:ffff');
  const everything = set(6, '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  t.equal(slash8.count(), 16_777_216n, '/8');
  t.equal(slash64.count(), 18_446_744_073_709_551_616n, '/64');
  t.equal(everything.count(), 340_282_366_920_938_463_463_374_607_431_768_211_456n, '::/0');
  t.equal(set(4, '0.0.0.0-255.255.255.255').count(), 4_294_967_296n, '0.0.0.0/0');

  // 50 000 single addresses taken out of a /8: the difference is arithmetic.
  const taken = RangeSet.fromAddresses(4, Array.from({ length: 50_000 }, (_, i) => ({ family: 4, value: 0x0a000000n + BigInt(i * 3) })));
  const started = Date.now();
  const free = slash8.difference(taken);
  t.equal(free.count(), 16_777_216n - 50_000n, '/8 minus 50 000 addresses');
  t.equal(free.ranges.length, 50_000, 'every taken address leaves a hole');
  t.ok(free.containsAddress(address('10.0.0.1')) && !free.containsAddress(address('10.0.0.3')), 'holes where expected');
  // Arithmetic on ranges, not a walk over 16 million addresses: milliseconds, not minutes.
  t.comment(`difference in ${Date.now() - started} ms`);

  t.same(everything.firstN(3, slash64).map(formatAddress), ['::', '::1', '::2'], 'first addresses of ::/0');
  const afterHole = set(6, 'fd00::-fd00::ffff:ffff:ffff:ffff:ffff').firstN(2, slash64).map(formatAddress);
  t.same(afterHole, ['fd00:0:0:1::', 'fd00:0:0:1::1'], 'firstN skips an excluded /64 in one step');

  const walk = everything.difference(set(6, '::-::ffff')).addresses();
  t.same([walk.next().value, walk.next().value].map((a) => a && formatAddress(a)), ['::1:0', '::1:1'], 'the generator is lazy');
});

t.test('firstN', async (t) => {
  const s = set(4, '10.6.0.1-10.6.0.4', '10.6.0.10');
  const cases: Array<[n: number, exclude: string[], expected: string[]]> = [
    [0, [], []],
    [-1, [], []],
    [2, [], ['10.6.0.1', '10.6.0.2']],
    [10, [], ['10.6.0.1', '10.6.0.2', '10.6.0.3', '10.6.0.4', '10.6.0.10']],
    [2, ['10.6.0.1-10.6.0.3'], ['10.6.0.4', '10.6.0.10']],
    [3, ['10.6.0.2'], ['10.6.0.1', '10.6.0.3', '10.6.0.4']],
    [1, ['10.6.0.0-10.6.0.255'], []],
  ];
  for (const [n, exclude, expected] of cases) t.same(s.firstN(n, set(4, ...exclude)).map(formatAddress), expected, `${n} excluding [${exclude.join(', ')}]`);
});

t.test('sets of different families do not combine', async (t) => {
  const [four, six] = [set(4, '10.6.0.1'), set(6, '::a06:1')];
  t.throws(() => four.union(six), TypeError);
  t.throws(() => four.difference(six), TypeError);
  t.throws(() => four.intersection(six), TypeError);
  t.throws(() => RangeSet.fromRanges(4, [{ family: 6, first: 1n, last: 1n }]), TypeError);
  t.notOk(four.overlaps(six), 'but asking whether they overlap is fine: they do not');
  t.notOk(four.equals(six));
  t.ok(four.equals(set(4, '10.6.0.1')));
  t.equal(four.toString(), 'IPv4[10.6.0.1]');
});

t.test('parseRangeList: canonical set, entries in written order', async (t) => {
  const parsed = parseRangeList(['10.6.0.20', '10.6.0.1-10.6.0.9', '10.6.0.10']);
  if (!parsed.ok) throw new Error('expected a list');
  t.equal(parsed.value.family, 4, 'family from the entries');
  t.same(parsed.value.set.toStrings(), ['10.6.0.1-10.6.0.10', '10.6.0.20']);
  t.same(parsed.value.entries.map(formatRange), ['10.6.0.20', '10.6.0.1-10.6.0.9', '10.6.0.10']);
  t.same(parsed.value.overlaps, [], 'adjacent is not overlapping');

  const empty = parseRangeList([], 6);
  t.ok(empty.ok && empty.value.set.isEmpty && empty.value.family === 6, 'an empty list of a known family is an empty set');
});

t.test('parseRangeList: every bad entry, at its index', async (t) => {
  const cases: Array<[texts: string[], family: IPFamily | undefined, problems: Array<[path: string, message: string]>]> = [
    [
      ['10.6.0.1', '10.6.0.300', '10.6.0.9-10.6.0.5'],
      4,
      [
        ['[1]', '"10.6.0.300" is not an IPv4 address (300 is more than 255)'],
        ['[2]', '"10.6.0.9-10.6.0.5" is not a valid range: the first address is after the last; write "10.6.0.5-10.6.0.9"'],
      ],
    ],
    [['10.6.0.1', 'fd00::1'], 4, [['[1]', '"fd00::1" is an IPv6 address, expected IPv4']]],
    [['fd00::1-fd00::9'], 4, [['[0]', '"fd00::1-fd00::9" is an IPv6 range, expected IPv4']]],
    [['10.6.0.1', 'fd00::1-fd00::9'], undefined, [['[1]', '"fd00::1-fd00::9" is IPv6, but [0] is IPv4; one list holds one family']]],
    [
      ['nonsense', 'fd00::1', '10.6.0.1', 'fd00::zz'],
      undefined,
      [
        ['[0]', '"nonsense" is not an IPv4 or IPv6 address'],
        ['[2]', '"10.6.0.1" is IPv4, but [1] is IPv6; one list holds one family'],
        ['[3]', '"fd00::zz" is not an IPv6 address'],
      ],
    ],
    [[], undefined, [['', 'is empty, so its IP family is unknown; list at least one address or range']]],
  ];
  for (const [texts, family, problems] of cases) {
    const parsed = parseRangeList(texts, family);
    t.same(parsed.ok ? [] : parsed.error.map((p) => [p.path, p.message]), problems, JSON.stringify(texts));
    // the path is made to follow the list's field path
    if (!parsed.ok) t.match(parsed.error.map((p) => `spec.ips${p.path}: ${p.message}`)[0], /^spec\.ips(\[\d+\])?: /);
  }
});

t.test('parseRangeList: overlapping entries are reported, at the later one', async (t) => {
  const cases: Array<[texts: string[], overlaps: Array<[index: number, other: number, shared: string, message: string]>]> = [
    [['10.6.0.1-10.6.0.9', '10.6.0.20', '10.6.0.5-10.6.0.25'], [
      [2, 0, '10.6.0.5-10.6.0.9', '"10.6.0.5-10.6.0.25" overlaps [0] "10.6.0.1-10.6.0.9": 10.6.0.5-10.6.0.9 are in both'],
      [2, 1, '10.6.0.20', '"10.6.0.5-10.6.0.25" overlaps [1] "10.6.0.20": 10.6.0.20 is in both'],
    ]],
    [['10.6.0.5-10.6.0.25', '10.6.0.1-10.6.0.9'], [
      [1, 0, '10.6.0.5-10.6.0.9', '"10.6.0.1-10.6.0.9" overlaps [0] "10.6.0.5-10.6.0.25": 10.6.0.5-10.6.0.9 are in both'],
    ]],
    [['fd00::1', 'fd00::2', 'fd00::1'], [[2, 0, 'fd00::1', '"fd00::1" overlaps [0] "fd00::1": fd00::1 is in both']]],
    [['10.6.0.1-10.6.0.4', '10.6.0.5-10.6.0.9'], []],
  ];
  for (const [texts, expected] of cases) {
    const parsed = parseRangeList(texts);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const overlaps = parsed.value.overlaps.map((o) => {
      t.equal(o.path, `[${o.index}]`);
      return [o.index, o.otherIndex, formatRange(o.shared), o.message];
    });
    t.same(overlaps, expected, JSON.stringify(texts));
  }
});

t.test('parseRangeList: a long list of single addresses stays quick', async (t) => {
  const texts = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  texts.push('10.0.0.0-10.0.255.255');
  const started = Date.now();
  const parsed = parseRangeList(texts, 4);
  if (!parsed.ok) throw new Error('expected a list');
  t.equal(parsed.value.set.count(), 65_536n);
  t.equal(parsed.value.overlaps.length, 20_000, 'the range overlaps every single address');
  // A pairwise overlap check would compare 2·10^8 pairs; the sweep compares neighbours.
  t.comment(`read in ${Date.now() - started} ms`);
});

