// An inclusive run of consecutive addresses of one family, as written in the `ips`,
// `excludeIPs` and reserved-IP lists: `10.6.0.5` or `10.6.0.5-10.6.0.9`. Endpoints
// are numbers so that size, containment and overlap are a comparison or two, even
// for a range of 2^64 addresses.
import { familyBits, familyName, formatAddress, parseAddress, type Address, type IPFamily } from './address.js';
import { parseCidr, type Cidr } from './cidr.js';
import { err, ok, type Result } from './result.js';

export interface IPRange {
  readonly family: IPFamily;
  readonly first: bigint;
  /** Inclusive; equal to `first` for a single address. */
  readonly last: bigint;
}

/** The range from `first` to `last` (default: just `first`). Mixing families or reversing the ends is a bug, not input. */
export function rangeOf(first: Address, last: Address = first): IPRange {
  if (first.family !== last.family) throw new TypeError('a range cannot mix IPv4 and IPv6 addresses');
  if (first.value > last.value) throw new RangeError('a range cannot start after its last address');
  return { family: first.family, first: first.value, last: last.value };
}

export function rangeFromCidr(cidr: Cidr): IPRange {
  const hostBits = BigInt(familyBits(cidr.family) - cidr.prefixLength);
  return { family: cidr.family, first: cidr.network, last: cidr.network + (1n << hostBits) - 1n };
}

/** Reads `address` or `first-last`; `family` narrows what is accepted. */
export function parseRange(text: string, family?: IPFamily): Result<IPRange, string> {
  const quoted = JSON.stringify(text);
  if (/\s/.test(text)) return err(`${quoted} contains whitespace; write ${JSON.stringify(text.replace(/\s+/g, ''))}`);
  if (text === '') {
    const [a, b] = family === 6 ? ['fd00::5', 'fd00::9'] : ['10.6.0.5', '10.6.0.9'];
    return err(`"" is not an address or a range; write one address such as ${a} or a range such as ${a}-${b}`);
  }
  if (text.includes('/')) {
    // People reach for CIDR notation here; show them the same addresses as a range.
    const cidr = parseCidr(text, family);
    if (cidr.ok) return err(`${quoted} is a CIDR, not an address or a range; write ${JSON.stringify(formatRange(rangeFromCidr(cidr.value)))}`);
  }

  const ends = text.split('-');
  if (ends.length === 1) {
    const single = parseAddress(text, family);
    return single.ok ? ok(rangeOf(single.value)) : single;
  }
  const invalid = (why: string) => err(`${quoted} is not a valid range: ${why}`);
  if (ends.length > 2) return invalid('write it as first-last, with a single "-"');

  const [firstText = '', lastText = ''] = ends;
  if (firstText === '') return invalid('the first address is missing');
  if (lastText === '') return invalid('the last address is missing');
  // Each end is read as either family so that a wrong-family range is reported as a
  // whole; the family is only passed again to word the error of an unreadable end.
  const endpoint = (end: string) => {
    const either = parseAddress(end);
    return either.ok ? either : parseAddress(end, family);
  };
  const first = endpoint(firstText);
  if (!first.ok) return invalid(first.error);
  const last = endpoint(lastText);
  if (!last.ok) return invalid(last.error);

  const [a, b] = [first.value, last.value];
  if (a.family !== b.family) {
    return invalid(`${firstText} is ${familyName(a.family)} but ${lastText} is ${familyName(b.family)}`);
  }
  if (family !== undefined && a.family !== family) return err(`${quoted} is an ${familyName(a.family)} range, expected ${familyName(family)}`);
  if (a.value > b.value) return invalid(`the first address is after the last; write "${formatAddress(b)}-${formatAddress(a)}"`);
  return ok(rangeOf(a, b));
}

/** Canonical text: `10.6.0.5` for one address, `10.6.0.5-10.6.0.9` otherwise. */
export function formatRange(range: IPRange): string {
  const first = formatAddress({ family: range.family, value: range.first });
  if (range.first === range.last) return first;
  return `${first}-${formatAddress({ family: range.family, value: range.last })}`;
}

export function rangeSize(range: IPRange): bigint {
  return range.last - range.first + 1n;
}

export function rangeContains(range: IPRange, address: Address): boolean {
  return address.family === range.family && range.first <= address.value && address.value <= range.last;
}

export function rangesOverlap(a: IPRange, b: IPRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The addresses in both, or undefined when there are none. */
export function rangeIntersection(a: IPRange, b: IPRange): IPRange | undefined {
  if (!rangesOverlap(a, b)) return undefined;
  return { family: a.family, first: a.first > b.first ? a.first : b.first, last: a.last < b.last ? a.last : b.last };
}
