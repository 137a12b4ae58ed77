import t from 'tap';
import { parseAddress, formatAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import {
  cidrContains,
  cidrFirst,
  cidrLabelValue,
  cidrLast,
  cidrOf,
  cidrsOverlap,
  parseCidr,
  type Cidr,
} from '../../../ipam/cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function address(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

t.test('parses, normalises and says when host bits were set', async (t) => {
  const cases: Array<[text: string, canonical: string, family: IPFamily, prefix: number, hostBits: boolean, first: string, last: string]> = [
    ['10.6.0.0/16', '10.6.0.0/16', 4, 16, false, '10.6.0.0', '10.6.255.255'],
    ['10.6.0.1/16', '10.6.0.0/16', 4, 16, true, '10.6.0.0', '10.6.255.255'],
    ['0.0.0.0/0', '0.0.0.0/0', 4, 0, false, '0.0.0.0', '255.255.255.255'],
    ['255.255.255.255/0', '0.0.0.0/0', 4, 0, true, '0.0.0.0', '255.255.255.255'],
    ['10.6.0.5/32', '10.6.0.5/32', 4, 32, false, '10.6.0.5', '10.6.0.5'],
    ['10.0.0.0/8', '10.0.0.0/8', 4, 8, false, '10.0.0.0', '10.255.255.255'],
    ['192.168.1.130/25', '192.168.1.128/25', 4, 25, true, '192.168.1.128', '192.168.1.255'],
    ['fd00::/64', 'fd00::/64', 6, 64, false, 'fd00::', 'fd00::ffff:ffff:ffff:ffff'],
    ['FD00:0:0:0::1/64', 'fd00::/64', 6, 64, true, 'fd00::', 'fd00::ffff:ffff:ffff:ffff'],
    ['::/0', '::/0', 6, 0, false, '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::1/128', '::1/128', 6, 128, false, '::1', '::1'],
    ['fd00:1:2:3:4:5:6:7/127', 'fd00:1:2:3:4:5:6:6/127', 6, 127, true, 'fd00:1:2:3:4:5:6:6', 'fd00:1:2:3:4:5:6:7'],
  ];
  for (const [text, canonical, family, prefix, hostBits, first, last] of cases) {
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      t.fail(`${text}: ${parsed.error}`);
      continue;
    }
    t.match(parsed.value, { text: canonical, family, prefixLength: prefix, hostBitsWereSet: hostBits }, text);
    t.equal(formatAddress(cidrFirst(parsed.value)), first, `${text} starts at ${first}`);
    t.equal(formatAddress(cidrLast(parsed.value)), last, `${text} ends at ${last}`);
    t.same(parseCidr(canonical, family), { ok: true, value: { ...parsed.value, hostBitsWereSet: false } }, `${canonical} is stable`);
  }
});

t.test('refuses what is not a CIDR, saying what would be', async (t) => {
  const cases: Array<[text: string, family: IPFamily | undefined, message: string]> = [
    ['10.6.0.0/33', undefined, '"10.6.0.0/33" is not a valid CIDR: prefix length 33 is more than 32 for IPv4'],
    ['fd00::/129', undefined, '"fd00::/129" is not a valid CIDR: prefix length 129 is more than 128 for IPv6'],
    ['10.6.0.0', undefined, '"10.6.0.0" is not a valid CIDR: it has no prefix length; add one, e.g. "10.6.0.0/24"'],
    ['fd00::', undefined, '"fd00::" is not a valid CIDR: it has no prefix length; add one, e.g. "fd00::/64"'],
    ['10.6.0.300/16', undefined, '"10.6.0.300/16" is not a valid CIDR: "10.6.0.300" is not an IPv4 or IPv6 address (300 is more than 255)'],
    ['web', undefined, '"web" is not a valid CIDR: "web" is not an IPv4 or IPv6 address'],
    ['10.6.0.0/', undefined, '"10.6.0.0/" is not a valid CIDR: prefix length "" is not a whole number from 0 to 32'],
    ['10.6.0.0/016', undefined, '"10.6.0.0/016" is not a valid CIDR: prefix length "016" is not a whole number from 0 to 32'],
    ['10.6.0.0/-1', undefined, '"10.6.0.0/-1" is not a valid CIDR: prefix length "-1" is not a whole number from 0 to 32'],
    ['10.6.0.0/16/2', undefined, '"10.6.0.0/16/2" is not a valid CIDR: prefix length "16/2" is not a whole number from 0 to 32'],
    ['10.6.0.0/255.255.0.0', undefined, '"10.6.0.0/255.255.0.0" is not a valid CIDR: "255.255.0.0" is a netmask; write the prefix length: "10.6.0.0/16"'],
    ['10.6.0.0/255.0.255.0', undefined, '"10.6.0.0/255.0.255.0" is not a valid CIDR: prefix length "255.0.255.0" is not a whole number from 0 to 32'],
    [' 10.6.0.0/16', undefined, '" 10.6.0.0/16" has surrounding whitespace; write "10.6.0.0/16"'],
    ['fe80::%eth0/64', undefined, '"fe80::%eth0/64" is not a valid CIDR: "fe80::%eth0" has a zone index (%eth0), which only means something on one host; write fe80::'],
    ['fd00::/64', 4, '"fd00::/64" is an IPv6 CIDR, expected IPv4'],
    ['10.6.0.0/16', 6, '"10.6.0.0/16" is an IPv4 CIDR, expected IPv6'],
  ];
  for (const [text, family, message] of cases) t.same(parseCidr(text, family), { ok: false, error: message }, text);
});

t.test('containment', async (t) => {
  const cases: Array<[cidr: string, address: string, inside: boolean]> = [
    ['10.6.0.0/16', '10.6.0.0', true],
    ['10.6.0.0/16', '10.6.255.255', true],
    ['10.6.0.0/16', '10.7.0.0', false],
    ['10.6.0.0/16', '10.5.255.255', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['10.6.0.5/32', '10.6.0.5', true],
    ['10.6.0.5/32', '10.6.0.6', false],
    ['fd00::/64', 'fd00::ffff:ffff:ffff:ffff', true],
    ['fd00::/64', 'fd00:0:0:1::', false],
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['::/0', '10.6.0.5', false],
    ['0.0.0.0/0', '::', false],
    ['::1/128', '::1', true],
  ];
  for (const [c, a, inside] of cases) t.equal(cidrContains(cidr(c), address(a)), inside, `${a} ${inside ? 'in' : 'not in'} ${c}`);
});

t.test('overlap: nested or disjoint, never across families', async (t) => {
  const cases: Array<[a: string, b: string, overlap: boolean]> = [
    ['10.6.0.0/16', '10.6.1.0/24', true],
    ['10.6.1.0/24', '10.6.0.0/16', true],
    ['10.6.0.0/16', '10.7.0.0/16', false],
    ['10.6.0.0/16', '10.6.0.0/16', true],
    ['0.0.0.0/0', '192.168.0.0/16', true],
    ['10.6.0.5/32', '10.6.0.4/32', false],
    ['fd00::/64', 'fd00::1/128', true],
    ['fd00::/64', 'fd00:0:0:1::/64', false],
    ['::/0', '0.0.0.0/0', false],
  ];
  for (const [a, b, overlap] of cases) t.equal(cidrsOverlap(cidr(a), cidr(b)), overlap, `${a} ${overlap ? 'overlaps' : 'is apart from'} ${b}`);
});

t.test('ippool-cidr label values', async (t) => {
  const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const cases: Array<[cidr: string, value: string]> = [
    ['10.6.0.0/16', '10-6-0-0-16'],
    ['0.0.0.0/0', '0-0-0-0-0'],
    ['10.6.0.5/32', '10-6-0-5-32'],
    ['fd00::/64', 'fd00---64'],
    ['fd00:1::5/128', 'fd00-1--5-128'],
    ['::/0', '0---0'],
    ['::1/128', '0--1-128'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff-128'],
  ];
  for (const [c, value] of cases) {
    const label = cidrLabelValue(cidr(c));
    t.equal(label, value, c);
    t.match(label, labelValue, `${label} is a valid label value`);
    t.ok(label.length <= 63, `${label} fits in a label value`);
  }
});

t.test('cidrOf builds the subnet holding an address', async (t) => {
  t.equal(cidrOf(address('10.6.7.8'), 16).text, '10.6.0.0/16');
  t.equal(cidrOf(address('fd00::1:2'), 112).text, 'fd00::1:0/112');
  t.throws(() => cidrOf(address('10.6.7.8'), 33), RangeError);
  t.throws(() => cidrOf(address('10.6.7.8'), 1.5), RangeError);
});
