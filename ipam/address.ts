// One IP address as a value: its family and its number. Text is only an input and an
// output format; every comparison and every piece of range arithmetic uses the number,
// so "10.6.0.5" and an IPv6 address with 2^128 neighbours cost the same.
import ipaddr from 'ipaddr.js';
import { err, ok, type Result } from './result.js';

export type IPFamily = 4 | 6;

export interface Address {
  readonly family: IPFamily;
  /** 0 … 2^32-1 for IPv4, 0 … 2^128-1 for IPv6. */
  readonly value: bigint;
}

export function familyName(family: IPFamily): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}

export function familyBits(family: IPFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The highest address of a family as a number: 255.255.255.255 or ffff:…:ffff. */
export function familyMaxValue(family: IPFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/**
 * Reads one address written by a user. Strict on purpose: the text ends up in pod
 * annotations, claim names and CNI results read by Go and C tools, so anything two
 * tools could read differently is refused with the spelling to use instead:
 * leading zeros (`010.1.1.1`: octal to inet_aton, decimal to others), zones
 * (`fe80::1%eth0`: meaningless off one host), short or hex IPv4 forms, surrounding
 * whitespace, and IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`), which Go's `net`
 * turns back into IPv4, so one could collide with an address of an IPv4 pool.
 * `family` narrows what is accepted and makes the message say what was expected.
 */
export function parseAddress(text: string, family?: IPFamily): Result<Address, string> {
  const expected = family === undefined ? 'an IPv4 or IPv6 address' : `an ${familyName(family)} address`;
  const invalid = (detail?: string) =>
    err(`${JSON.stringify(text)} is not ${expected}${detail === undefined ? '' : ` (${detail})`}`);

  if (text.trim() !== text) return err(`${JSON.stringify(text)} has surrounding whitespace; write ${JSON.stringify(text.trim())}`);
  // Spellings of a good address that do not belong here: say which address was meant.
  const zone = text.indexOf('%');
  if (zone >= 0 && readIPv6(text.slice(0, zone)).ok) {
    const bare = text.slice(0, zone);
    return err(`${JSON.stringify(text)} has a zone index (${text.slice(zone)}), which only means something on one host; write ${bare}`);
  }
  if (/^\[.*\]$/.test(text) && readIPv6(text.slice(1, -1)).ok) return invalid(`write ${text.slice(1, -1)} without brackets`);
  const slash = text.indexOf('/');
  if (slash >= 0 && parseAddress(text.slice(0, slash)).ok) {
    return invalid(`that is a CIDR; write the address without "${text.slice(slash)}"`);
  }

  const parsed = text.includes(':') ? readIPv6(text) : readIPv4(text);
  if (!parsed.ok) return invalid(parsed.error);
  const address = parsed.value;

  if (address.family === 6 && isIPv4Mapped(address.value)) {
    const embedded = formatAddress({ family: 4, value: address.value & familyMaxValue(4) });
    return err(`${JSON.stringify(text)} is an IPv4-mapped IPv6 address; write the IPv4 address ${embedded} instead`);
  }
  if (family !== undefined && address.family !== family) {
    return err(`${JSON.stringify(text)} is an ${familyName(address.family)} address, expected ${familyName(family)}`);
  }
  return ok(address);
}

/** Dotted decimal for IPv4; RFC 5952 for IPv6 (lowercase, longest zero run as `::`). */
export function formatAddress(address: Address): string {
  if (address.family === 4) return ipv4Octets(address.value).join('.');
  return new ipaddr.IPv6(ipv6Groups(address.value)).toRFC5952String();
}

// --- IP claim names -------------------------------------------------------------
//
// An IPClaim is named after its address, and the API server's name uniqueness is the
// allocation lock. That only works if every address has exactly one name, and the
// name must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', starting
// and ending with an alphanumeric, at most 253 characters). The scheme:
//
//   IPv4: the dotted decimal text as it is.           10.6.0.5  -> 10.6.0.5
//   IPv6: the RFC 5952 text with every ':' as '-';    fd00::1   -> fd00--1
//         a leading or trailing '::' gets an explicit 0 group on its outer side,
//         because a name cannot start or end with '-'. ::1       -> 0--1
//                                                      fd00::    -> fd00--0
//                                                      ::        -> 0--0
//
// IPv6 names always contain '-' and IPv4 names never do, so the family is never in
// doubt. Reading a name back replaces '-' with ':' and parses; the added 0 group is
// harmless there (0::1 is ::1) and can never be confused with RFC 5952 text, which
// would have folded that zero group into the '::'. Names that parse but are not the
// canonical name of their address (0-0--1 is also ::1) are refused, or two claims
// could lock the same address.

export function addressToClaimName(address: Address): string {
  if (address.family === 4) return formatAddress(address);
  let name = formatAddress(address).replaceAll(':', '-');
  if (name.startsWith('-')) name = `0${name}`;
  if (name.endsWith('-')) name = `${name}0`;
  return name;
}

export function claimNameToAddress(name: string): Result<Address, string> {
  const family: IPFamily = name.includes('-') ? 6 : 4;
  const decoded = /^[0-9a-f.-]+$/.test(name)
    ? parseAddress(family === 6 ? name.replaceAll('-', ':') : name, family)
    : undefined;
  if (decoded?.ok) {
    const canonical = addressToClaimName(decoded.value);
    if (canonical === name) return decoded;
    return err(
      `"${name}" is not the claim name of ${formatAddress(decoded.value)}; that claim is named "${canonical}"`,
    );
  }
  // Maybe someone passed the address itself; point them at its name.
  const asAddress = parseAddress(name);
  if (asAddress.ok) {
    return err(`"${name}" is an address, not a claim name; its claim is named "${addressToClaimName(asAddress.value)}"`);
  }
  return err(`"${name}" is not an IP claim name: it encodes no IPv4 or IPv6 address`);
}

// --- reading text ---------------------------------------------------------------

function readIPv4(text: string): Result<Address, string | undefined> {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const value = ipaddr.IPv4.parse(text).octets.reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
    return ok({ family: 4, value });
  }
  return err(describeBadIPv4(text));
}

/** Says why dotted-looking text is not an address; undefined when it is just not IPv4. */
function describeBadIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  const tooBig = parts.find((p) => Number(p) > 255);
  if (tooBig !== undefined) return `${Number(tooBig)} is more than 255`;
  if (parts.some((p) => p.length > 1 && p.startsWith('0'))) {
    return `leading zeros are ambiguous, some tools read them as octal; write ${parts.map(Number).join('.')}`;
  }
  return undefined;
}

function readIPv6(text: string): Result<Address, string | undefined> {
  // ipaddr.js is lax about an embedded dotted IPv4 tail (it accepts leading zeros and
  // hex, and reads ::1.2.3.4 as ::ffff:1.2.3.4), so the tail is checked here with the
  // IPv4 rules and turned into its two hex groups before ipaddr.js sees the text.
  let hexText = text;
  if (text.includes('.')) {
    const tailStart = text.lastIndexOf(':') + 1;
    const tail = readIPv4(text.slice(tailStart));
    if (!tail.ok) return err(tail.error);
    const v = tail.value.value;
    hexText = `${text.slice(0, tailStart)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  if (!ipaddr.IPv6.isValid(hexText)) return err(undefined);
  const value = ipaddr.IPv6.parse(hexText).parts.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
  return ok({ family: 6, value });
}

// ::ffff:0:0/96
function isIPv4Mapped(value: bigint): boolean {
  return value >> 32n === 0xffffn;
}

function ipv4Octets(value: bigint): number[] {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn));
}

function ipv6Groups(value: bigint): number[] {
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
}
