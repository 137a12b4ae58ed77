// The fields a SpiderSubnet and a SpiderIPPool share — subnet, ips, excludeIPs,
// gateway, routes, vlan — and the checks that need nothing but the object itself.
// Reading them yields an UnderlayBlock: the same facts, parsed and canonical.
import { z } from 'zod';
import { familyName, formatAddress, parseAddress, type Address, type IPFamily } from './address.js';
import { cidrContains, cidrLast, cidrFirst, parseCidr, type Cidr } from './cidr.js';
import { problem, type FieldProblem } from './field-problem.js';
import { RangeSet, findRangeOverlaps, parseRangeList, type RangeListOverlap } from './range-set.js';
import { parseRange, rangeFromCidr } from './range.js';

export const VLAN_MAX = 4094;

const IPV4_MAPPED = RangeSet.fromRanges(6, [{ family: 6, first: 0xffffn << 32n, last: (0xffffn << 32n) | 0xffffffffn }]);

/** A string field whose message says what it is for, whether it is missing or of the wrong type. */
export function describedString(what: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `is required: ${what}` : `must be a string: ${what}`) });
}

export const RouteSpec = z.object({
  dst: describedString('the destination CIDR, e.g. "10.0.0.0/16"'),
  gw: describedString('the next-hop address inside spec.subnet'),
});
export type RouteSpec = z.infer<typeof RouteSpec>;

const IPVersion = z.union([z.literal(4), z.literal(6)], { error: 'must be 4 or 6' });

/** The shared fields, as users write them. */
export const UnderlayFields = {
  ipVersion: IPVersion.nullish(),
  subnet: describedString('the CIDR of the underlay network, e.g. "10.6.0.0/16"'),
  ips: z.array(z.string()).nullish(),
  excludeIPs: z.array(z.string()).nullish(),
  gateway: z.string().nullish(),
  routes: z.array(RouteSpec).nullish(),
  vlan: z.number().int().nullish(),
};
export const UnderlaySpec = z.looseObject(UnderlayFields);
export type UnderlaySpec = z.infer<typeof UnderlaySpec>;

export { IPVersion };

export interface ParsedRoute {
  dst: Cidr;
  gw: Address;
}

export interface UnderlayBlock {
  family: IPFamily;
  cidr: Cidr;
  /** spec.ips, merged. */
  ips: RangeSet;
  /** spec.excludeIPs, merged. */
  excluded: RangeSet;
  /** What may be handed out: ips − excludeIPs (reserved IPs are subtracted later, they are other objects). */
  usable: RangeSet;
  gateway?: Address;
  routes: ParsedRoute[];
  vlan?: number;
}

export type ReadResult = { block: UnderlayBlock; problems: FieldProblem[] } | { block: undefined; problems: FieldProblem[] };

/**
 * Read and check the shared fields. `block` is present when the fields parse well
 * enough for cross-object checks (subnet, ips and excludeIPs readable); the
 * problems list every mistake found, one per field or list entry.
 */
export function readUnderlayBlock(spec: UnderlaySpec, root = 'spec'): ReadResult {
  const problems: FieldProblem[] = [];
  const at = (field: string) => `${root}.${field}`;

  const checkVlan = () => {
    if (spec.vlan != null && (spec.vlan < 0 || spec.vlan > VLAN_MAX)) {
      problems.push(problem(at('vlan'), `${spec.vlan} is not a VLAN ID; use 0 (untagged) to ${VLAN_MAX}`));
    }
  };
  const parsedCidr = parseCidr(spec.subnet);
  if (!parsedCidr.ok) {
    problems.push(problem(at('subnet'), parsedCidr.error));
    checkVlan(); // the one field that does not depend on the subnet
    return { block: undefined, problems };
  }
  const cidr: Cidr = parsedCidr.value;
  const family = cidr.family;
  if (spec.ipVersion != null && spec.ipVersion !== family) {
    problems.push(problem(at('ipVersion'), `is ${spec.ipVersion}, but spec.subnet ${cidr.text} is ${familyName(family)}; set ipVersion: ${family} or leave it out`));
  }

  const readList = (field: 'ips' | 'excludeIPs', mustNotOverlap: boolean): RangeSet | undefined => {
    const texts = spec[field] ?? [];
    if (texts.length === 0) return RangeSet.empty(family);
    const firstProblem = problems.length;
    const set = readListEntries(field, texts, mustNotOverlap);
    // Report the entries in the order they were written.
    const listProblems = problems.splice(firstProblem).sort((a, b) => entryIndex(a.field) - entryIndex(b.field));
    problems.push(...listProblems);
    return set;
  };
  const readListEntries = (field: 'ips' | 'excludeIPs', texts: string[], mustNotOverlap: boolean): RangeSet | undefined => {
    // Each entry on its own first, so one bad entry does not hide the others' problems.
    const subnetRange = RangeSet.fromRanges(family, [rangeFromCidr(cidr)]);
    const ranges = texts.map((text, index) => {
      const range = parseRange(text, family);
      if (!range.ok) return undefined;
      const outside = RangeSet.fromRanges(family, [range.value]).difference(subnetRange);
      if (!outside.isEmpty) {
        problems.push(problem(`${at(field)}[${index}]`, `${text} is outside spec.subnet ${cidr.text} (${describeSubnetRange(cidr)})`));
      }
      return range.value;
    });
    const reportOverlaps = (overlaps: readonly RangeListOverlap[]) => {
      if (!mustNotOverlap) return;
      for (const o of overlaps) problems.push(problem(`${at(field)}${o.path}`, `${o.message}; list each address once`));
    };
    const parsed = parseRangeList(texts, family);
    if (!parsed.ok) {
      for (const p of parsed.error) problems.push(problem(`${at(field)}${p.path}`, p.message));
      // The entries that did read may still overlap: say so now, not one round-trip later.
      reportOverlaps(findRangeOverlaps(texts, ranges));
      return undefined;
    }
    reportOverlaps(parsed.value.overlaps);
    return parsed.value.set;
  };
  const ips = readList('ips', true);
  const excluded = readList('excludeIPs', false);

  let gateway: Address | undefined;
  if (spec.gateway != null && spec.gateway !== '') {
    const parsed = parseAddress(spec.gateway, family);
    if (!parsed.ok) problems.push(problem(at('gateway'), parsed.error));
    else if (!cidrContains(cidr, parsed.value)) problems.push(problem(at('gateway'), `${spec.gateway} is outside spec.subnet ${cidr.text}; the gateway must be on the pod's network`));
    else gateway = parsed.value;
  }

  const routes: ParsedRoute[] = [];
  const seenDst = new Map<string, number>();
  (spec.routes ?? []).forEach((route, index) => {
    const field = at(`routes[${index}]`);
    const dst = parseCidr(route.dst, family);
    if (!dst.ok) problems.push(problem(`${field}.dst`, dst.error));
    else if (dst.value.prefixLength === 0) {
      problems.push(problem(`${field}.dst`, `${route.dst} is a default route; set spec.gateway for the default route instead`));
    } else if (seenDst.has(dst.value.text)) {
      problems.push(problem(`${field}.dst`, `${dst.value.text} is already the destination of routes[${seenDst.get(dst.value.text)}]; each destination once`));
    } else seenDst.set(dst.value.text, index);
    const gw = parseAddress(route.gw, family);
    if (!gw.ok) problems.push(problem(`${field}.gw`, gw.error));
    else if (!cidrContains(cidr, gw.value)) problems.push(problem(`${field}.gw`, `${route.gw} is outside spec.subnet ${cidr.text}; a next hop must be directly reachable`));
    if (dst.ok && gw.ok) routes.push({ dst: dst.value, gw: gw.value });
  });

  checkVlan();
  if (!ips || !excluded) return { block: undefined, problems };
  // IPv4-mapped IPv6 addresses (::ffff:0:0/96) read as IPv4 in Go's net package,
  // which CNI plugins use: never hand one out as an IPv6 address.
  const usable = family === 6 ? ips.difference(excluded).difference(IPV4_MAPPED) : ips.difference(excluded);
  if (gateway && usable.containsAddress(gateway)) {
    problems.push(problem(at('gateway'), `${formatAddress(gateway)} is also in spec.ips; a pod must never get the gateway's address — remove it from spec.ips or add it to spec.excludeIPs`));
  }
  return {
    block: { family, cidr, ips, excluded, usable, routes, ...(gateway ? { gateway } : {}), ...(spec.vlan != null ? { vlan: spec.vlan } : {}) },
    problems,
  };
}

function entryIndex(field: string): number {
  const match = /\[(\d+)\]$/.exec(field);
  return match ? Number(match[1]) : -1;
}

function describeSubnetRange(cidr: Cidr): string {
  return `${formatAddress(cidrFirst(cidr))}-${formatAddress(cidrLast(cidr))}`;
}
