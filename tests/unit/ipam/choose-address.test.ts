import t from 'tap';
import { formatAddress, parseAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import { chooseFreeAddress, startOffset } from '../../../ipam/choose-address.js';
import { RangeSet, parseRangeList } from '../../../ipam/range-set.js';

function set(family: IPFamily, ...texts: string[]): RangeSet {
  if (texts.length === 0) return RangeSet.empty(family);
  const parsed = parseRangeList(texts, family);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value.set;
}
function addr(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}
const pools: Array<[family: IPFamily, ranges: string[]]> = [
  [4, ['10.6.0.1-10.6.0.5', '10.6.0.10', '10.6.0.20-10.6.0.23']],
  [6, ['fd00::1-fd00::5', 'fd00::10', 'fd00::20-fd00::23']],
];

t.test('visits every address once, wrapping around from the seeded start', async (t) => {
  for (const [family, ranges] of pools) {
    const available = set(family, ...ranges);
    const all = [...available.addresses()].map(formatAddress);
    for (const seed of ['a', 'b', 'pod-uid-1', 'pod-uid-2']) {
      const visited: string[] = [];
      const got = chooseFreeAddress(available, (a) => (visited.push(formatAddress(a)), true), seed);
      t.equal(got, undefined, `${family}/${seed}: full pool gives undefined`);
      t.same([...visited].sort(), [...all].sort(), `${family}/${seed}: each address once`);
      const start = Number(startOffset(seed, available.count()));
      t.same(visited, [...all.slice(start), ...all.slice(0, start)], `${family}/${seed}: from the start, wrapping`);
      t.equal(visited.length, new Set(visited).size, 'no repeats');
    }
  }
});

t.test('respects isTaken and is deterministic per seed', async (t) => {
  for (const [family, ranges] of pools) {
    const available = set(family, ...ranges);
    const all = [...available.addresses()].map(formatAddress);
    for (const seed of ['x', 'y', 'z']) {
      const first = chooseFreeAddress(available, () => false, seed);
      t.ok(first, 'an empty pool gives an address');
      t.same(chooseFreeAddress(available, () => false, seed), first, `${family}/${seed}: same seed, same address`);
      t.equal(formatAddress(first!), all[Number(startOffset(seed, available.count()))], 'the start address when nothing is taken');
      // Everything but one address taken: that one is found from any start.
      for (const free of [all[0]!, all[5]!, all[all.length - 1]!]) {
        const got = chooseFreeAddress(available, (a) => formatAddress(a) !== free, seed);
        t.equal(got && formatAddress(got), free, `${family}/${seed}: finds the only free ${free}`);
      }
      const taken = new Set([formatAddress(first!)]);
      const next = chooseFreeAddress(available, (a) => taken.has(formatAddress(a)), seed);
      t.not(next && formatAddress(next), formatAddress(first!), 'skips the taken start');
      t.equal(next?.family, family);
    }
  }
  t.equal(chooseFreeAddress(RangeSet.empty(4), () => false, 's'), undefined, 'empty set');
  t.equal(startOffset('s', 0n), 0n);
});

t.test('spread across seeds', async (t) => {
  for (const [family, ranges] of [[4, ['10.6.0.0-10.6.0.255']], [6, ['fd00::-fd00::ff']]] as const) {
    const available = set(family, ...ranges);
    const chosen = new Set<string>();
    for (let i = 0; i < 50; i++) chosen.add(formatAddress(chooseFreeAddress(available, () => false, `pod-${i}`)!));
    t.ok(chosen.size >= 30, `${family}: 50 seeds pick ${chosen.size} distinct addresses`);
  }
});

t.test('works on a /64 without expanding it', async (t) => {
  const available = set(6, 'fd00:1::-fd00:1::ffff:ffff:ffff:ffff', 'fd00:2::1');
  const size = available.count();
  t.equal(size, (1n << 64n) + 1n);
  for (const seed of ['a', 'b', 'c']) {
    const start = startOffset(seed, size);
    const first = chooseFreeAddress(available, () => false, seed)!;
    t.equal(first.value, addr('fd00:1::').value + start, `${seed}: the seeded start`);
    t.ok(start > 1n << 32n, `${seed}: deep inside the /64`);
    let calls = 0;
    const second = chooseFreeAddress(available, (a) => (calls++, a.value === first.value), seed)!;
    t.equal(second.value, first.value + 1n, `${seed}: the next one after a taken start`);
    t.equal(calls, 2);
  }
  const lastFree = chooseFreeAddress(set(6, 'fd00:2::1'), () => false, 'q');
  t.equal(lastFree && formatAddress(lastFree), 'fd00:2::1');
});
