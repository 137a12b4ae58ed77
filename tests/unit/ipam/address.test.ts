import t from 'tap';
import {
  addressToClaimName,
  claimNameToAddress,
  compareAddresses,
  familyMaxValue,
  formatAddress,
  parseAddress,
  type Address,
  type IPFamily,
} from '../../../ipam/address.js';

const v4 = (value: bigint): Address => ({ family: 4, value });
const v6 = (value: bigint): Address => ({ family: 6, value });

t.test('parses and formats canonical text', async (t) => {
  const cases: Array<[text: string, family: IPFamily, value: bigint, canonical: string]> = [
    ['0.0.0.0', 4, 0n, '0.0.0.0'],
    ['10.6.0.5', 4, 0x0a060005n, '10.6.0.5'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['::', 6, 0n, '::'],
    ['::1', 6, 1n, '::1'],
    ['fd00::', 6, 0xfd00n << 112n, 'fd00::'],
    ['FD00::0001', 6, (0xfd00n << 112n) + 1n, 'fd00::1'],
    ['fd00:0:0:0:0:0:0:1', 6, (0xfd00n << 112n) + 1n, 'fd00::1'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, (1n << 128n) - 1n, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    // RFC 5952: the longest zero run is compressed, the first one on a tie, never a single group.
    ['1:0:0:2:0:0:3:4', 6, 0x0001_0000_0000_0002_0000_0000_0003_0004n, '1::2:0:0:3:4'],
    ['1:0:2:0:0:0:3:0', 6, 0x0001_0000_0002_0000_0000_0000_0003_0000n, '1:0:2::3:0'],
    ['0:1:2:3:4:5:6:7', 6, 0x0000_0001_0002_0003_0004_0005_0006_0007n, '0:1:2:3:4:5:6:7'],
    ['::1:2:3:4:5:6:7', 6, 0x0000_0001_0002_0003_0004_0005_0006_0007n, '0:1:2:3:4:5:6:7'],
    // An embedded dotted IPv4 tail is read as two groups; ::1.2.3.4 is not IPv4-mapped.
    ['::1.2.3.4', 6, 0x01020304n, '::102:304'],
    ['64:ff9b::10.0.0.1', 6, (0x64ff9bn << 96n) + 0x0a000001n, '64:ff9b::a00:1'],
  ];
  for (const [text, family, value, canonical] of cases) {
    const parsed = parseAddress(text);
    t.same(parsed, { ok: true, value: { family, value } }, text);
    t.equal(formatAddress({ family, value }), canonical, `${text} formats as ${canonical}`);
    t.same(parseAddress(text, family), parsed, `${text} with its own family`);
  }
});

t.test('refuses ambiguous or foreign spellings, saying what to write', async (t) => {
  const cases: Array<[text: string, family: IPFamily | undefined, message: string]> = [
    ['10.6.0.300', undefined, '"10.6.0.300" is not an IPv4 or IPv6 address (300 is more than 255)'],
    ['10.6.0.300', 4, '"10.6.0.300" is not an IPv4 address (300 is more than 255)'],
    ['010.1.1.1', undefined, '"010.1.1.1" is not an IPv4 or IPv6 address (leading zeros are ambiguous, some tools read them as octal; write 10.1.1.1)'],
    ['10.1.1.01', 4, '"10.1.1.01" is not an IPv4 address (leading zeros are ambiguous, some tools read them as octal; write 10.1.1.1)'],
    ['10.1', undefined, '"10.1" is not an IPv4 or IPv6 address'],
    ['0xa.1.1.1', undefined, '"0xa.1.1.1" is not an IPv4 or IPv6 address'],
    ['167772161', undefined, '"167772161" is not an IPv4 or IPv6 address'],
    ['1.2.3.4.', undefined, '"1.2.3.4." is not an IPv4 or IPv6 address'],
    ['', undefined, '"" is not an IPv4 or IPv6 address'],
    [' 10.6.0.5', undefined, '" 10.6.0.5" has surrounding whitespace; write "10.6.0.5"'],
    ['fd00::1\n', undefined, '"fd00::1\\n" has surrounding whitespace; write "fd00::1"'],
    ['fe80::1%eth0', undefined, '"fe80::1%eth0" has a zone index (%eth0), which only means something on one host; write fe80::1'],
    ['[fd00::1]', undefined, '"[fd00::1]" is not an IPv4 or IPv6 address (write fd00::1 without brackets)'],
    ['10.6.0.5/24', undefined, '"10.6.0.5/24" is not an IPv4 or IPv6 address (that is a CIDR; write the address without "/24")'],
    ['10%', undefined, '"10%" is not an IPv4 or IPv6 address'],
    ['[web]', undefined, '"[web]" is not an IPv4 or IPv6 address'],
    ['web/24', undefined, '"web/24" is not an IPv4 or IPv6 address'],
    ['::ffff:10.0.0.1', undefined, '"::ffff:10.0.0.1" is an IPv4-mapped IPv6 address; write the IPv4 address 10.0.0.1 instead'],
    ['::ffff:10.0.0.1', 4, '"::ffff:10.0.0.1" is an IPv4-mapped IPv6 address; write the IPv4 address 10.0.0.1 instead'],
    ['::ffff:a00:1', 6, '"::ffff:a00:1" is an IPv4-mapped IPv6 address; write the IPv4 address 10.0.0.1 instead'],
    ['::ffff:010.0.0.1', undefined, '"::ffff:010.0.0.1" is not an IPv4 or IPv6 address (leading zeros are ambiguous, some tools read them as octal; write 10.0.0.1)'],
    ['::ffff:0xa.0.0.1', undefined, '"::ffff:0xa.0.0.1" is not an IPv4 or IPv6 address'],
    ['fd00::1', 4, '"fd00::1" is an IPv6 address, expected IPv4'],
    ['10.6.0.5', 6, '"10.6.0.5" is an IPv4 address, expected IPv6'],
    ['fd00::00001', undefined, '"fd00::00001" is not an IPv4 or IPv6 address'],
    ['1::2::3', undefined, '"1::2::3" is not an IPv4 or IPv6 address'],
    [':::', undefined, '":::" is not an IPv4 or IPv6 address'],
    ['1:2:3:4:5:6:7:8:9', 6, '"1:2:3:4:5:6:7:8:9" is not an IPv6 address'],
    ['1:2:3:4:5:6:7::8', 6, '"1:2:3:4:5:6:7::8" is not an IPv6 address'],
    ['fd00::g', 6, '"fd00::g" is not an IPv6 address'],
  ];
  for (const [text, family, message] of cases) {
    t.same(parseAddress(text, family), { ok: false, error: message }, JSON.stringify(text));
  }
});

t.test('orders addresses by family, then number', async (t) => {
  const sorted = [v6(0n), v4(5n), v4(1n), v6(familyMaxValue(6))].sort(compareAddresses).map(formatAddress);
  t.same(sorted, ['0.0.0.1', '0.0.0.5', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);
});

t.test('claim names: DNS-1123 subdomains, one per address, reversible', async (t) => {
  const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const cases: Array<[address: string, name: string]> = [
    ['10.6.0.5', '10.6.0.5'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fd00::1', 'fd00--1'],
    ['fd00::', 'fd00--0'],
    ['::1', '0--1'],
    ['::', '0--0'],
    ['fd00:1::5:0:0', 'fd00-1--5-0-0'],
    ['1:2:3:4:5:6:7:8', '1-2-3-4-5-6-7-8'],
    ['1:0:0:2:0:0:3:4', '1--2-0-0-3-4'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff'],
  ];
  for (const [text, name] of cases) {
    const parsed = parseAddress(text);
    if (!parsed.ok) throw new Error(parsed.error);
    t.equal(addressToClaimName(parsed.value), name, `${text} is claimed as ${name}`);
    t.match(name, dns1123Subdomain, `${name} is a valid object name`);
    t.ok(name.length <= 253);
    t.same(claimNameToAddress(name), { ok: true, value: parsed.value }, `${name} reads back as ${text}`);
  }
});

t.test('claim names that are not the one name of an address are refused', async (t) => {
  const cases: Array<[name: string, message: string]> = [
    ['0-0--1', '"0-0--1" is not the claim name of ::1; that claim is named "0--1"'],
    ['fd00--0001', '"fd00--0001" is not the claim name of fd00::1; that claim is named "fd00--1"'],
    ['fd00-0-0-0-0-0-0-1', '"fd00-0-0-0-0-0-0-1" is not the claim name of fd00::1; that claim is named "fd00--1"'],
    ['fd00::1', '"fd00::1" is an address, not a claim name; its claim is named "fd00--1"'],
    ['::', '"::" is an address, not a claim name; its claim is named "0--0"'],
    ['FD00--1', '"FD00--1" is not an IP claim name: it encodes no IPv4 or IPv6 address'],
    ['--1', '"--1" is not the claim name of ::1; that claim is named "0--1"'],
    ['010.6.0.5', '"010.6.0.5" is not an IP claim name: it encodes no IPv4 or IPv6 address'],
    ['web-7d9f', '"web-7d9f" is not an IP claim name: it encodes no IPv4 or IPv6 address'],
    ['0--ffff-a00-1', '"0--ffff-a00-1" is not an IP claim name: it encodes no IPv4 or IPv6 address'],
    ['', '"" is not an IP claim name: it encodes no IPv4 or IPv6 address'],
  ];
  for (const [name, message] of cases) t.same(claimNameToAddress(name), { ok: false, error: message }, JSON.stringify(name));
});

t.test('claim names round-trip for every position of "::"', async (t) => {
  // Each of the 256 patterns of zero and non-zero groups.
  const failures: string[] = [];
  for (let pattern = 0; pattern < 256; pattern++) {
    let value = 0n;
    for (let group = 0; group < 8; group++) value = (value << 16n) | (pattern & (1 << group) ? BigInt(0x100 + group) : 0n);
    const name = addressToClaimName(v6(value));
    const back = claimNameToAddress(name);
    if (name.startsWith('-') || name.endsWith('-') || !back.ok || back.value.value !== value) {
      failures.push(`${formatAddress(v6(value))} → ${name}`);
    }
  }
  t.same(failures, []);
});
