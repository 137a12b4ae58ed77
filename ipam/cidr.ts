// A subnet in CIDR notation: a network number and a prefix length. Host bits are
// always cleared, so two Cidr values for one subnet are field-for-field equal and
// `text` can be compared, stored and shown as it is.
import ipaddr from 'ipaddr.js';
import { familyBits, familyMaxValue, familyName, formatAddress, parseAddress, type Address, type IPFamily } from './address.js';
import { err, ok, type Result } from './result.js';

export interface Cidr {
  readonly family: IPFamily;
  /** The first address of the subnet as a number; host bits are zero. */
  readonly network: bigint;
  readonly prefixLength: number;
  /** Canonical text, e.g. `10.6.0.0/16`, `fd00::/64`. */
  readonly text: string;
}

export interface ParsedCidr extends Cidr {
  /**
   * The text named an address inside the subnet (`10.6.0.1/16`) rather than the
   * network itself. Spiderpool accepts that and so does Underpin, but a caller may
   * want to tell the user what it became.
   */
  readonly hostBitsWereSet: boolean;
}

/** Reads `address/prefix-length`; `family` narrows what is accepted. */
export function parseCidr(text: string, family?: IPFamily): Result<ParsedCidr, string> {
  const quoted = JSON.stringify(text);
  const invalid = (why: string) => err(`${quoted} is not a valid CIDR: ${why}`);

  if (text.trim() !== text) return err(`${quoted} has surrounding whitespace; write ${JSON.stringify(text.trim())}`);
  const slash = text.indexOf('/');
  if (slash < 0) {
    const bare = parseAddress(text);
    if (!bare.ok) return invalid(bare.error);
    const example = `${text}/${bare.value.family === 4 ? 24 : 64}`;
    return invalid(`it has no prefix length; add one, e.g. ${JSON.stringify(example)}`);
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);

  const address = parseAddress(addressText);
  if (!address.ok) return invalid(address.error);
  const { family: found, value } = address.value;
  if (family !== undefined && found !== family) return err(`${quoted} is an ${familyName(found)} CIDR, expected ${familyName(family)}`);

  const bits = familyBits(found);
  if (!/^(0|[1-9][0-9]*)$/.test(prefixText)) {
    const asMask = netmaskPrefixLength(prefixText, found);
    if (asMask !== undefined) {
      return invalid(`${JSON.stringify(prefixText)} is a netmask; write the prefix length: "${addressText}/${asMask}"`);
    }
    return invalid(`prefix length ${JSON.stringify(prefixText)} is not a whole number from 0 to ${bits}`);
  }
  const prefixLength = Number(prefixText);
  if (prefixLength > bits) return invalid(`prefix length ${prefixLength} is more than ${bits} for ${familyName(found)}`);

  const cidr = cidrOf(address.value, prefixLength);
  return ok({ ...cidr, hostBitsWereSet: cidr.network !== value });
}

/** The subnet of the given length that holds `address` (host bits are dropped). */
export function cidrOf(address: Address, prefixLength: number): Cidr {
  const bits = familyBits(address.family);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) {
    throw new RangeError(`prefix length ${prefixLength} is not valid for ${familyName(address.family)}`);
  }
  const network = address.value & ~hostMask(address.family, prefixLength);
  return {
    family: address.family,
    network,
    prefixLength,
    text: `${formatAddress({ family: address.family, value: network })}/${prefixLength}`,
  };
}

export function cidrFirst(cidr: Cidr): Address {
  return { family: cidr.family, value: cidr.network };
}

export function cidrLast(cidr: Cidr): Address {
  return { family: cidr.family, value: cidr.network | hostMask(cidr.family, cidr.prefixLength) };
}

export function cidrContains(cidr: Cidr, address: Address): boolean {
  return address.family === cidr.family && (address.value & ~hostMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/** Two CIDRs of one family either nest or are disjoint, so overlap means one holds the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = ~hostMask(a.family, shorter);
  return (a.network & mask) === (b.network & mask);
}

/**
 * The value of the `ipam.spidernet.io/ippool-cidr` label. Spiderpool's rule, applied
 * to the canonical text: every '.', ':' and '/' becomes '-' (`10.6.0.0/16` →
 * `10-6-0-0-16`, `fd00::/64` → `fd00---64`). Spiderpool leaves `::/0` as `---0`,
 * which is not a valid label value; a CIDR starting with '::' gets a leading `0`
 * (`0---0`), the same fix as in claim names. The longest result (an IPv6 /128 with
 * no '::') is 43 characters, inside the 63 a label value allows.
 */
export function cidrLabelValue(cidr: Cidr): string {
  const value = cidr.text.replace(/[.:/]/g, '-');
  return value.startsWith('-') ? `0${value}` : value;
}

function hostMask(family: IPFamily, prefixLength: number): bigint {
  return familyMaxValue(family) >> BigInt(prefixLength);
}

/** Prefix length of a contiguous netmask written where a prefix length belongs, if it is one. */
function netmaskPrefixLength(text: string, family: IPFamily): number | undefined {
  const mask = parseAddress(text, family);
  if (!mask.ok) return undefined;
  return ipaddr.parse(formatAddress(mask.value)).prefixLengthFromSubnetMask() ?? undefined;
}

/** The canonical text of a CIDR, or undefined when it does not parse. */
export function canonicalCidr(text: string): string | undefined {
  const parsed = parseCidr(text);
  return parsed.ok ? parsed.value.text : undefined;
}
