import t from 'tap';
import { parseAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import { parseCidr } from '../../../ipam/cidr.js';
import {
  formatRange,
  parseRange,
  rangeContains,
  rangeFromCidr,
  rangeIntersection,
  rangeOf,
  rangesOverlap,
  rangeSize,
  type IPRange,
} from '../../../ipam/range.js';

function range(text: string): IPRange {
  const parsed = parseRange(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function address(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

t.test('parses single addresses and ranges into canonical text and size', async (t) => {
  const cases: Array<[text: string, canonical: string, family: IPFamily, size: bigint]> = [
    ['10.6.0.5', '10.6.0.5', 4, 1n],
    ['10.6.0.5-10.6.0.5', '10.6.0.5', 4, 1n],
    ['10.6.168.171-10.6.168.180', '10.6.168.171-10.6.168.180', 4, 10n],
    ['0.0.0.0-255.255.255.255', '0.0.0.0-255.255.255.255', 4, 1n << 32n],
    ['10.0.0.0-10.255.255.255', '10.0.0.0-10.255.255.255', 4, 1n << 24n],
    ['fd00::10-fd00::20', 'fd00::10-fd00::20', 6, 17n],
    ['FD00:0::A-fd00::000b', 'fd00::a-fd00::b', 6, 2n],
    ['fd00::-fd00::ffff:ffff:ffff:ffff', 'fd00::-fd00::ffff:ffff:ffff:ffff', 6, 1n << 64n],
    ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, 1n << 128n],
  ];
  for (const [text, canonical, family, size] of cases) {
    const parsed = parseRange(text);
    if (!parsed.ok) {
      t.fail(`${text}: ${parsed.error}`);
      continue;
    }
    t.equal(parsed.value.family, family, `${text} is ${family === 4 ? 'IPv4' : 'IPv6'}`);
    t.equal(formatRange(parsed.value), canonical, `${text} formats as ${canonical}`);
    t.equal(rangeSize(parsed.value), size, `${text} holds ${size} addresses`);
    t.same(parseRange(text, family), parsed, `${text} with its own family`);
  }
});

t.test('refuses bad ranges, naming the problem and the fix', async (t) => {
  const cases: Array<[text: string, family: IPFamily | undefined, message: string]> = [
    ['10.6.0.9-10.6.0.5', undefined, '"10.6.0.9-10.6.0.5" is not a valid range: the first address is after the last; write "10.6.0.5-10.6.0.9"'],
    ['fd00::9-fd00::5', 6, '"fd00::9-fd00::5" is not a valid range: the first address is after the last; write "fd00::5-fd00::9"'],
    ['10.6.0.1-fd00::5', undefined, '"10.6.0.1-fd00::5" is not a valid range: 10.6.0.1 is IPv4 but fd00::5 is IPv6'],
    ['10.6.0.1-10.6.0.300', undefined, '"10.6.0.1-10.6.0.300" is not a valid range: "10.6.0.300" is not an IPv4 or IPv6 address (300 is more than 255)'],
    ['10.6.0.1-10.6.0.300', 4, '"10.6.0.1-10.6.0.300" is not a valid range: "10.6.0.300" is not an IPv4 address (300 is more than 255)'],
    ['fd00::1-fd00::5', 4, '"fd00::1-fd00::5" is an IPv6 range, expected IPv4'],
    ['10.6.0.1-10.6.0.5', 6, '"10.6.0.1-10.6.0.5" is an IPv4 range, expected IPv6'],
    ['10.6.0.5', 6, '"10.6.0.5" is an IPv4 address, expected IPv6'],
    ['10.6.0.300', undefined, '"10.6.0.300" is not an IPv4 or IPv6 address (300 is more than 255)'],
    ['10.6.0.1-10.6.0.5-10.6.0.9', undefined, '"10.6.0.1-10.6.0.5-10.6.0.9" is not a valid range: write it as first-last, with a single "-"'],
    ['10.6.0.1-', undefined, '"10.6.0.1-" is not a valid range: the last address is missing'],
    ['-10.6.0.1', undefined, '"-10.6.0.1" is not a valid range: the first address is missing'],
    ['10.6.0.1 - 10.6.0.9', undefined, '"10.6.0.1 - 10.6.0.9" contains whitespace; write "10.6.0.1-10.6.0.9"'],
    [' 10.6.0.1', undefined, '" 10.6.0.1" contains whitespace; write "10.6.0.1"'],
    ['', undefined, '"" is not an address or a range; write one address such as 10.6.0.5 or a range such as 10.6.0.5-10.6.0.9'],
    ['', 6, '"" is not an address or a range; write one address such as fd00::5 or a range such as fd00::5-fd00::9'],
    ['10.6.0.0/24', undefined, '"10.6.0.0/24" is a CIDR, not an address or a range; write "10.6.0.0-10.6.0.255"'],
    ['10.6.0.5/32', 4, '"10.6.0.5/32" is a CIDR, not an address or a range; write "10.6.0.5"'],
    ['fd00::/120', 6, '"fd00::/120" is a CIDR, not an address or a range; write "fd00::-fd00::ff"'],
    ['10.6.0.0/33', undefined, '"10.6.0.0/33" is not an IPv4 or IPv6 address (that is a CIDR; write the address without "/33")'],
    ['::ffff:10.0.0.1-::ffff:10.0.0.9', undefined, '"::ffff:10.0.0.1-::ffff:10.0.0.9" is not a valid range: "::ffff:10.0.0.1" is an IPv4-mapped IPv6 address; write the IPv4 address 10.0.0.1 instead'],
  ];
  for (const [text, family, message] of cases) t.same(parseRange(text, family), { ok: false, error: message }, JSON.stringify(text));
});

t.test('contains, overlaps, intersects', async (t) => {
  const a = range('10.6.0.10-10.6.0.20');
  const cases: Array<[other: string, overlap: string | undefined]> = [
    ['10.6.0.1-10.6.0.9', undefined],
    ['10.6.0.1-10.6.0.10', '10.6.0.10'],
    ['10.6.0.15', '10.6.0.15'],
    ['10.6.0.12-10.6.0.14', '10.6.0.12-10.6.0.14'],
    ['10.6.0.0-10.6.0.255', '10.6.0.10-10.6.0.20'],
    ['10.6.0.20-10.6.0.30', '10.6.0.20'],
    ['10.6.0.21-10.6.0.30', undefined],
    ['::a-::14', undefined], // same numbers, other family
  ];
  for (const [text, overlap] of cases) {
    const b = range(text);
    t.equal(rangesOverlap(a, b), overlap !== undefined, `${text} overlap`);
    t.equal(rangesOverlap(b, a), overlap !== undefined, `${text} overlap, reversed`);
    const both = rangeIntersection(a, b);
    t.equal(both && formatRange(both), overlap, `${text} intersection`);
  }

  for (const [text, inside] of [['10.6.0.9', false], ['10.6.0.10', true], ['10.6.0.20', true], ['10.6.0.21', false], ['::a', false]] as const) {
    t.equal(rangeContains(a, address(text)), inside, `${text} ${inside ? 'in' : 'not in'} range`);
  }
});

t.test('ranges from CIDRs and from addresses', async (t) => {
  const cases: Array<[cidr: string, text: string]> = [
    ['10.6.0.0/24', '10.6.0.0-10.6.0.255'],
    ['10.6.0.5/32', '10.6.0.5'],
    ['0.0.0.0/0', '0.0.0.0-255.255.255.255'],
    ['fd00::/64', 'fd00::-fd00::ffff:ffff:ffff:ffff'],
    ['::/0', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [c, text] of cases) {
    const parsed = parseCidr(c);
    if (!parsed.ok) throw new Error(parsed.error);
    t.equal(formatRange(rangeFromCidr(parsed.value)), text, c);
  }
  t.equal(formatRange(rangeOf(address('fd00::1'), address('fd00::9'))), 'fd00::1-fd00::9');
  t.throws(() => rangeOf(address('10.6.0.9'), address('10.6.0.1')), RangeError);
  t.throws(() => rangeOf(address('10.6.0.1'), address('fd00::1')), TypeError);
});
