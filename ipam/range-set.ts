// A set of addresses of one family, kept as sorted, disjoint, non-adjacent ranges:
// a pool's `ips − excludeIPs`, the reserved addresses, what claims already hold.
// Every operation works on range endpoints (a linear merge or a binary search), never
// on individual addresses, so a /8 or a /64 costs what a /30 does. Values are
// immutable: operations return new sets.
import { familyName, type Address, type IPFamily } from './address.js';
import { formatRange, parseRange, rangeIntersection, rangeOf, rangeSize, type IPRange } from './range.js';
import { err, ok, type Result } from './result.js';

export class RangeSet {
  private constructor(
    readonly family: IPFamily,
    /** Sorted, disjoint, and never adjacent (10.0.0.1-10.0.0.4 and 10.0.0.5 are one range). */
    readonly ranges: readonly IPRange[],
  ) {}

  static empty(family: IPFamily): RangeSet {
    return new RangeSet(family, []);
  }

  /** Any ranges of `family`, in any order, overlapping or not. */
  static fromRanges(family: IPFamily, ranges: Iterable<IPRange>): RangeSet {
    const list = [...ranges];
    for (const range of list) requireFamily(family, range.family);
    list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    return new RangeSet(family, Object.freeze(coalesce(list)));
  }

  static fromAddresses(family: IPFamily, addresses: Iterable<Address>): RangeSet {
    const ranges: IPRange[] = [];
    for (const address of addresses) ranges.push(rangeOf(address));
    return RangeSet.fromRanges(family, ranges);
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** How many addresses; up to 2^128 for ::/0, hence bigint. */
  count(): bigint {
    let total = 0n;
    for (const range of this.ranges) total += rangeSize(range);
    return total;
  }

  /** Binary search for the last range starting at or before the address. An address of the other family is simply not in the set. */
  containsAddress(address: Address): boolean {
    if (address.family !== this.family) return false;
    let low = 0;
    let high = this.ranges.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const range = this.ranges[middle]!;
      if (address.value < range.first) high = middle - 1;
      else if (address.value > range.last) low = middle + 1;
      else return true;
    }
    return false;
  }

  /** Whether any address is in both. Sets of different families share nothing. */
  overlaps(other: RangeSet): boolean {
    if (other.family !== this.family) return false;
    const [a, b] = [this.ranges, other.ranges];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const [x, y] = [a[i]!, b[j]!];
      if (x.first <= y.last && y.first <= x.last) return true;
      if (x.last < y.last) i++;
      else j++;
    }
    return false;
  }

  isSubsetOf(other: RangeSet): boolean {
    return this.difference(other).isEmpty;
  }

  equals(other: RangeSet): boolean {
    return (
      other.family === this.family &&
      other.ranges.length === this.ranges.length &&
      this.ranges.every((r, i) => r.first === other.ranges[i]!.first && r.last === other.ranges[i]!.last)
    );
  }

  union(other: RangeSet): RangeSet {
    requireFamily(this.family, other.family);
    const [a, b] = [this.ranges, other.ranges];
    const merged: IPRange[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const takeA = j >= b.length || (i < a.length && a[i]!.first <= b[j]!.first);
      merged.push(takeA ? a[i++]! : b[j++]!);
    }
    return new RangeSet(this.family, Object.freeze(coalesce(merged)));
  }

  intersection(other: RangeSet): RangeSet {
    requireFamily(this.family, other.family);
    const [a, b] = [this.ranges, other.ranges];
    const shared: IPRange[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const both = rangeIntersection(a[i]!, b[j]!);
      if (both) shared.push(both);
      if (a[i]!.last < b[j]!.last) i++;
      else j++;
    }
    // Pieces come from different ranges of a normalised set, so a gap separates them.
    return new RangeSet(this.family, Object.freeze(shared));
  }

  /** The addresses of this set that are not in `other`; a range with a hole in the middle splits in two. */
  difference(other: RangeSet): RangeSet {
    requireFamily(this.family, other.family);
    const cut = other.ranges;
    const left: IPRange[] = [];
    let j = 0;
    for (const range of this.ranges) {
      let start = range.first;
      while (j < cut.length && cut[j]!.last < start) j++;
      // Walk the cuts inside this range; the last one may reach into the next range, so
      // `j` stays on it.
      let k = j;
      while (k < cut.length && cut[k]!.first <= range.last) {
        const hole = cut[k]!;
        if (hole.first > start) left.push({ family: this.family, first: start, last: hole.first - 1n });
        start = hole.last + 1n;
        if (hole.last >= range.last) break;
        k++;
      }
      if (start <= range.last) left.push({ family: this.family, first: start, last: range.last });
      j = k;
    }
    return new RangeSet(this.family, Object.freeze(left));
  }

  /** Every address in ascending order, produced one at a time: stop whenever you like. */
  *addresses(): Generator<Address, void, undefined> {
    for (const range of this.ranges) {
      for (let value = range.first; value <= range.last; value++) yield { family: this.family, value };
    }
  }

  /** The lowest `n` addresses not in `exclude` (fewer when the set runs out). */
  firstN(n: number, exclude?: RangeSet): Address[] {
    const chosen: Address[] = [];
    if (n <= 0) return chosen;
    const source = exclude ? this.difference(exclude) : this;
    for (const address of source.addresses()) {
      chosen.push(address);
      if (chosen.length >= n) break;
    }
    return chosen;
  }

  /** Canonical merged text, e.g. ['10.6.0.1-10.6.0.9', '10.6.0.20']. */
  toStrings(): string[] {
    return this.ranges.map(formatRange);
  }

  toString(): string {
    return `${familyName(this.family)}[${this.toStrings().join(', ')}]`;
  }
}

// --- reading a list a user wrote ------------------------------------------------

/**
 * A problem with one entry of a list, or with the whole list. `path` is relative to
 * the list's own field (`[1]`, or '' for the list), so a caller writes
 * `spec.ips${path}: ${message}` → `spec.ips[1]: "10.6.0.300" is not an IPv4 address …`.
 */
export interface RangeListProblem {
  readonly index: number | undefined;
  readonly path: string;
  readonly message: string;
}

/** Two entries that share addresses, reported at the one written later. */
export interface RangeListOverlap extends RangeListProblem {
  readonly index: number;
  readonly otherIndex: number;
  readonly shared: IPRange;
}

export interface RangeList {
  readonly family: IPFamily;
  /** Each entry as written, parsed, in the written order. */
  readonly entries: readonly IPRange[];
  /** All entries together. */
  readonly set: RangeSet;
  /**
   * Entries that share addresses. Not an error here: a pool's `ips` must not overlap,
   * but a repeated `excludeIPs` entry hurts nobody, so the caller decides.
   */
  readonly overlaps: readonly RangeListOverlap[];
}

/**
 * Reads a list of addresses and ranges (`ips`, `excludeIPs`, a SpiderReservedIP's
 * `ips`), reporting every bad entry rather than the first. Without `family` the first
 * readable entry decides it, and entries of the other family are problems.
 */
export function parseRangeList(texts: readonly string[], family?: IPFamily): Result<RangeList, RangeListProblem[]> {
  if (texts.length === 0 && family === undefined) {
    return err([{ index: undefined, path: '', message: 'is empty, so its IP family is unknown; list at least one address or range' }]);
  }

  let listFamily = family;
  let decidedBy: number | undefined;
  const problems: RangeListProblem[] = [];
  const entries: IPRange[] = [];
  for (const [index, text] of texts.entries()) {
    const problem = (message: string) => problems.push({ index, path: `[${index}]`, message });
    const parsed = parseRange(text);
    if (!parsed.ok) {
      problem(parseRangeError(text, listFamily));
      continue;
    }
    if (listFamily === undefined) {
      listFamily = parsed.value.family;
      decidedBy = index;
    }
    if (parsed.value.family === listFamily) {
      entries.push(parsed.value);
    } else if (decidedBy === undefined) {
      problem(parseRangeError(text, listFamily)); // the caller's family: "…, expected IPv4"
    } else {
      const [found, wanted] = [familyName(parsed.value.family), familyName(listFamily)];
      problem(`${JSON.stringify(text)} is ${found}, but [${decidedBy}] is ${wanted}; one list holds one family`);
    }
  }
  if (problems.length > 0 || listFamily === undefined) return err(problems);

  return ok({
    family: listFamily,
    entries: Object.freeze(entries),
    set: RangeSet.fromRanges(listFamily, entries),
    overlaps: Object.freeze(findRangeOverlaps(texts, entries)),
  });
}

/**
 * Sweep over the entries by start address, comparing each with the earlier entry
 * that reaches furthest: every entry that overlaps anything overlaps that one. One
 * report per overlapping entry, so a list of 4,000 copies of one address costs
 * O(n log n) and yields 3,999 lines, not eight million pairs.
 *
 * `entries[i]` is `texts[i]` parsed; an entry left `undefined` (one that did not
 * parse) is skipped, so a caller can still report overlaps among the entries that
 * did read when another one is bad. All entries must be of one family.
 */
export function findRangeOverlaps(texts: readonly string[], entries: readonly (IPRange | undefined)[]): RangeListOverlap[] {
  const order: number[] = [];
  entries.forEach((entry, index) => {
    if (entry !== undefined) order.push(index);
  });
  order.sort((x, y) => {
    const [a, b] = [entries[x]!, entries[y]!];
    return a.first < b.first ? -1 : a.first > b.first ? 1 : x - y;
  });
  const overlaps: RangeListOverlap[] = [];
  let reach: number | undefined; // index of the entry seen so far with the largest `last`
  for (const current of order) {
    const range = entries[current]!;
    if (reach !== undefined && entries[reach]!.last >= range.first) {
      const shared = rangeIntersection(entries[reach]!, range)!;
      const [otherIndex, index] = reach < current ? [reach, current] : [current, reach];
      const verb = shared.first === shared.last ? 'is' : 'are';
      overlaps.push({
        index,
        otherIndex,
        shared,
        path: `[${index}]`,
        message: `${JSON.stringify(texts[index])} overlaps [${otherIndex}] ${JSON.stringify(texts[otherIndex])}: ${formatRange(shared)} ${verb} in both`,
      });
    }
    if (reach === undefined || range.last > entries[reach]!.last) reach = current;
  }
  return overlaps.sort((a, b) => a.index - b.index || a.otherIndex - b.otherIndex);
}

/** The error parseRange gives `text` when told the list's family, which words it best. */
function parseRangeError(text: string, family: IPFamily | undefined): string {
  const parsed = parseRange(text, family);
  return parsed.ok ? `${JSON.stringify(text)} is not an address or a range` : parsed.error;
}

function requireFamily(expected: IPFamily, actual: IPFamily): void {
  if (actual !== expected) throw new TypeError(`cannot combine ${familyName(actual)} ranges with an ${familyName(expected)} set`);
}

/** Merges overlapping and adjacent neighbours of a list sorted by first address. */
function coalesce(sorted: readonly IPRange[]): IPRange[] {
  const merged: IPRange[] = [];
  for (const range of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && range.first <= previous.last + 1n) {
      if (range.last > previous.last) merged[merged.length - 1] = { ...previous, last: range.last };
    } else {
      merged.push(range);
    }
  }
  return merged;
}
