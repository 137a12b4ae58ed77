// Generated SpiderSubnet / SpiderIPPool / SpiderReservedIP admission requests: mostly
// plausible objects, then mutated in the ways people, scripts and attackers get them
// wrong. Every value is JSON (what an API server can send); sizes are bounded per
// object (lists of at most 64 entries, strings of at most 100,000 characters), so a
// call that does not return is the product's doing, not the generator's.
import type { AdmissionRequest } from '../../../webhook/admission-review.js';
import { FIXTURE_NAMES, FIXTURE_POOLS, FIXTURE_RESERVED, FIXTURE_SUBNETS } from './fixture.js';
import { copyJson } from './json-tools.js';
import type { Rng } from './prng.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const SPIDER_KINDS = ['SpiderSubnet', 'SpiderIPPool', 'SpiderReservedIP'] as const;
export type SpiderKind = (typeof SPIDER_KINDS)[number];
const RESOURCES: Record<SpiderKind, string> = { SpiderSubnet: 'spidersubnets', SpiderIPPool: 'spiderippools', SpiderReservedIP: 'spiderreservedips' };
export const SPIDER_API_VERSION = 'spiderpool.spidernet.io/v2beta1';
const GROUP = 'spiderpool.spidernet.io';

/** Bounds on what one generated object holds. */
export const LIMITS = { listEntries: 64, longString: 100_000, deepJunk: 60 } as const;

// --- addresses, written independently of ipam/ --------------------------------------

type Family = 4 | 6;
interface Net {
  family: Family;
  network: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const maxValue = (family: Family) => (1n << BigInt(BITS[family])) - 1n;
const hostMask = (net: Net) => maxValue(net.family) >> BigInt(net.prefix);
const netLast = (net: Net) => net.network | hostMask(net);
const netSize = (net: Net) => hostMask(net) + 1n;

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => Number((value >> s) & 0xffn)).join('.');
}

function v6Groups(value: bigint): number[] {
  return [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((value >> s) & 0xffffn));
}

/** RFC 5952: lowercase, no leading zeros, the longest run (2+) of zero groups as `::`. */
function v6Canonical(value: bigint): string {
  const groups = v6Groups(value);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** A valid spelling of an address: canonical mostly, sometimes expanded, padded or upper case. */
function addressText(rng: Rng, family: Family, value: bigint): string {
  if (family === 4) return v4Text(value);
  return rng.weighted<() => string>([
    [8, () => v6Canonical(value)],
    [1, () => v6Groups(value).map((g) => g.toString(16)).join(':')],
    [1, () => v6Groups(value).map((g) => g.toString(16).padStart(4, '0')).join(':')],
    [1, () => v6Canonical(value).toUpperCase()],
  ])();
}

function netOf(family: Family, value: bigint, prefix: number): Net {
  const net = { family, network: 0n, prefix };
  return { ...net, network: value & ~hostMask(net) & maxValue(family) };
}

const FIXTURE_NETS: Net[] = [netOf(4, 0x0a060000n, 16), netOf(4, 0xc0a80a00n, 24), netOf(6, 0xfd000006n << 96n, 64), netOf(6, 0x20010db8n << 96n, 32)];

function randomNet(rng: Rng): Net {
  return rng.weighted<() => Net>([
    [30, () => rng.pick(FIXTURE_NETS)],
    [25, () => netOf(4, rng.bigintBelow(1n << 32n), rng.int(8, 30))],
    [25, () => netOf(6, rng.bigintBelow(1n << 128n), rng.int(32, 126))],
    [5, () => netOf(4, rng.bigintBelow(1n << 32n), rng.pick([0, 1, 31, 32]))],
    [5, () => netOf(6, rng.bigintBelow(1n << 128n), rng.pick([0, 1, 127, 128]))],
    // Networks at the bottom of IPv6 that hold ::ffff:0:0/96, the IPv4-mapped block.
    [3, () => netOf(6, 0n, rng.pick([64, 72, 79, 80]))],
  ])();
}

function cidrText(rng: Rng, net: Net): string {
  // Host bits set (10.6.0.7/16) are accepted and canonicalised.
  const address = rng.chance(0.1) ? net.network + rng.bigintBelow(netSize(net)) : net.network;
  return `${addressText(rng, net.family, address)}/${net.prefix}`;
}

/** A range inside [low, high]: usually small, sometimes all of it. */
function rangeIn(rng: Rng, low: bigint, high: bigint): [bigint, bigint] {
  const span = high - low + 1n;
  if (rng.chance(0.05)) return [low, high];
  const first = low + rng.bigintBelow(span);
  const room = high - first + 1n;
  const size = rng.weighted<() => bigint>([
    [5, () => 1n],
    [10, () => 1n + rng.bigintBelow(room < 256n ? room : 256n)],
    [1, () => 1n + rng.bigintBelow(room)],
  ])();
  return [first, first + size - 1n];
}

function rangeText(rng: Rng, family: Family, [first, last]: [bigint, bigint]): string {
  if (first === last && rng.chance(0.8)) return addressText(rng, family, first);
  return `${addressText(rng, family, first)}-${addressText(rng, family, last)}`;
}

// --- nasty values -----------------------------------------------------------------

const LONG_PIECES = ['a', '1:', '9', '1.', '10.6.0.1-', 'ff', '%', ':', '::', '-', '/', ' ', '\u00e9', '\ud83c\udf10', 'fd00:6::1,'];

/** A long string (1,000 to LIMITS.longString characters) of a repeated piece. */
export function longString(rng: Rng): string {
  const piece = rng.pick(LONG_PIECES);
  const length = rng.int(1_000, LIMITS.longString);
  return piece.repeat(Math.ceil(length / piece.length)).slice(0, length);
}

/** An address, range or CIDR text that is wrong, or right in a way that invites mistakes. */
export function nastyAddressText(rng: Rng): string {
  const net = randomNet(rng);
  const other: Family = net.family === 4 ? 6 : 4;
  const a = addressText(rng, net.family, net.network + rng.bigintBelow(netSize(net)));
  const b = addressText(rng, net.family, net.network + rng.bigintBelow(netSize(net)));
  const o = addressText(rng, other, rng.bigintBelow(maxValue(other)));
  return rng.weighted<() => string>([
    [4, () => rng.pick([a, `${a}-${b}`, `${b}-${a}`, cidrText(rng, net)])],
    [3, () => rng.pick([o, `${a}-${o}`, `${o}-${a}`])],
    [3, () => `${a}/${rng.pick(['0', '33', '129', '-1', '08', '1e1', '16.0', '', ' 16', '255.255.0.0', 'ffff:ffff::', '4294967296', '99999999999999999999', '0x10'])}`],
    [3, () => rng.pick(['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '0.0.0.0-255.255.255.255', '::/0', '0.0.0.0/0', '::1-ffff::', '::/1', '8000::/1', '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'])],
    [2, () => rng.pick(['::fffe:ffff:ffff-::1:0:0:0', '::-::1:0:0:0', '::fffe:0:0-::ffff:0:0', '::ffff:ffff:ffff-::1:0:0:0', '::/80', '::/64'])],
    [3, () => rng.pick(['::ffff:10.6.1.1', '::ffff:a06:101', '::10.6.1.1', '64:ff9b::10.6.1.1', '::ffff:0:10.6.1.1', '0:0:0:0:0:ffff:10.6.1.1', '::ffff:10.6.1.1-::ffff:10.6.1.9', '::ffff:0:0/96'])],
    [3, () => rng.pick(['fe80::1%eth0', 'fd00:6::5%1', 'fe80::1%', '10.6.0.1%eth0', '[fd00:6::5]', '[fd00:6::5]-[fd00:6::9]', 'fe80::1%eth0/64', '%', '%25'])],
    [3, () => rng.pick(['010.6.0.1', '10.06.0.1', '0x0a.6.0.1', '10.6.1', '10.6.0.256', '10.6.0.1.5', '167772161', '0xa060101', '10.6.0.-1', '1e1.6.0.1', '10..6.1', '.10.6.0.1'])],
    [3, () => rng.pick([':::', '::1::', 'fd00:6::g', 'fd00:6:0:0:0:0:0:0:1', 'fd00:6::1:', ':fd00:6::1', 'FD00:6::A', 'fd00:0006::00a', '::', '0::0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fd00:6::1.2.3.4', 'fd00:6::01.2.3.4', 'fd00:6::1.2.3', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '00000::1'])],
    [3, () => rng.pick([` ${a}`, `${a}\n`, `\t${a}`, `${a} - ${b}`, `${a}\u00a0`, '\u2028', '\r\n', `${a}\u3000`, ' ', `${a}- ${b}`])],
    [3, () => rng.pick(['\uff11\uff10.6.0.1', '\u0661\u0660.\u0666.\u0660.\u0661', `${a}\u200b`, `\u202e${a}`, '\ud83c\udf10', '\u2170.6.0.1', `a\u0301`, '\ud800', `${a}\u0000`, '\ufeff10.6.0.1', 'fd00:6::\u0430'])],
    [2, () => longString(rng)],
    [3, () => rng.pick(['', '-', '--', '/', `${a}-`, `-${a}`, `${a}--${b}`, `${a}-${b}-${a}`, ',', `${a},${b}`, `${a} ${b}`, `${a}/${b}`])],
    [2, () => rng.pick(['NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '{}', '[]', 'localhost', '0', '-1', '1e12', 'NaN-NaN'])],
    [2, () => rng.pick([`bad\nspec.fake: looks like a field`, `${a}\r\nx`, 'a\u2029b'])],
  ])();
}

/** A value of some JSON type, likely not the one expected where it is put. */
export function junkValue(rng: Rng, depth = 0): Json {
  const leaf = (): Json =>
    rng.weighted<() => Json>([
      [4, () => rng.pick([0, -1, 1, 1.5, 1e12, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 4095, 4094, 6, 4, 0.1, -2147483648])],
      [2, () => rng.chance(0.5)],
      [2, () => null],
      [4, () => nastyAddressText(rng)],
      [1, () => rng.pick(['', 'x', 'SpiderIPPool', 'CREATE'])],
    ])();
  if (depth >= 3) return leaf();
  return rng.weighted<() => Json>([
    [8, leaf],
    [2, () => []],
    [2, () => Array.from({ length: rng.int(1, 5) }, () => junkValue(rng, depth + 1))],
    [1, () => Array.from({ length: rng.int(1, LIMITS.listEntries) }, () => 7)],
    [2, () => ({})],
    [2, () => ({ [rng.pick(['a', '', 'ips', 'subnet', 'length', '0', 'toString', 'valueOf'])]: junkValue(rng, depth + 1) })],
    [1, () => JSON.parse('{"__proto__": {"polluted": true, "subnet": "10.6.0.0/16"}, "constructor": {"prototype": {"x": 1}}}') as Json],
  ])();
}

/** Nested arrays and objects, `depth` levels deep (built without recursion). */
export function deepValue(rng: Rng, depth: number): Json {
  let value: Json = rng.pick<Json>([1, 'x', null, [], {}]);
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { a: value };
  return value;
}

// --- plausible objects ------------------------------------------------------------

function dnsName(rng: Rng, prefix: string): string {
  return `${prefix}-${rng.int(0, 99_999).toString(36)}`;
}

function objectName(rng: Rng, kind: SpiderKind): string {
  return rng.weighted<() => string>([
    [25, () => rng.pick(FIXTURE_NAMES)],
    [70, () => dnsName(rng, kind === 'SpiderSubnet' ? 'subnet' : kind === 'SpiderIPPool' ? 'pool' : 'reserved')],
    [5, () => rng.pick(['UPPER', 'a_b', 'p\u00e9', 'x'.repeat(300), '-bad-', 'a.b.c'])],
  ])();
}

function metadata(rng: Rng, kind: SpiderKind): JsonObject {
  const meta: JsonObject = {};
  if (rng.chance(0.05)) meta.generateName = `${dnsName(rng, 'gen')}-`;
  else meta.name = objectName(rng, kind);
  if (rng.chance(0.3)) meta.uid = `uid-${rng.int(0, 1e9)}`;
  if (rng.chance(0.3)) meta.resourceVersion = String(rng.int(1, 1e6));
  if (rng.chance(0.4)) meta.labels = rng.pick<JsonObject>([{ app: 'web' }, { 'example.com/team': 'net', tier: 'backend' }, {}, { 'ipam.spidernet.io/ippool-cidr': 'stale' }]);
  if (rng.chance(0.15)) meta.annotations = { 'example.com/note': 'made by a script' };
  if (rng.chance(0.2)) meta.finalizers = rng.pick<Json[]>([['underpin.dev/addresses-in-use'], ['spiderpool.spidernet.io'], [], ['example.com/keep', 'underpin.dev/addresses-in-use']]);
  if (rng.chance(0.1)) {
    const owner = rng.pick(FIXTURE_SUBNETS);
    meta.ownerReferences = [{ apiVersion: SPIDER_API_VERSION, kind: 'SpiderSubnet', name: owner.name, uid: owner.uid, controller: rng.chance(0.5) }];
  }
  if (rng.chance(0.05)) meta.deletionTimestamp = '2024-05-01T10:00:00Z';
  if (rng.chance(0.05)) meta.labels = null;
  return meta;
}

function underlaySpec(rng: Rng, net: Net): JsonObject {
  const spec: JsonObject = { subnet: cidrText(rng, net) };
  if (rng.chance(0.5)) spec.ipVersion = net.family;
  const size = netSize(net);
  const roomy = size > 4n;
  const low = roomy ? net.network + 2n : net.network;
  const high = roomy ? netLast(net) - 1n : netLast(net);
  const count = rng.weighted<() => number>([
    [1, () => 0],
    [5, () => 1],
    [3, () => rng.int(2, 4)],
    [1, () => rng.int(5, 24)],
  ])();
  if (count > 0 || rng.chance(0.5)) spec.ips = Array.from({ length: count }, () => rangeText(rng, net.family, rangeIn(rng, low, high)));
  if (rng.chance(0.3)) spec.excludeIPs = Array.from({ length: rng.int(0, 3) }, () => rangeText(rng, net.family, rangeIn(rng, low, high)));
  if (roomy && rng.chance(0.6)) spec.gateway = addressText(rng, net.family, net.network + 1n);
  if (rng.chance(0.3)) {
    spec.routes = Array.from({ length: rng.int(0, 3) }, () => {
      const dst = netOf(net.family, rng.bigintBelow(maxValue(net.family)), rng.int(8, BITS[net.family]));
      return { dst: cidrText(rng, dst), gw: addressText(rng, net.family, net.network + rng.bigintBelow(size)) };
    });
  }
  if (rng.chance(0.4)) spec.vlan = rng.int(0, 4094);
  return spec;
}

function selector(rng: Rng): JsonObject {
  const out: JsonObject = {};
  if (rng.chance(0.7)) out.matchLabels = { app: rng.pick(['web', 'db']) };
  if (rng.chance(0.5)) {
    out.matchExpressions = [
      rng.pick<JsonObject>([
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'tier', operator: 'NotIn', values: ['c'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'gpu', operator: 'DoesNotExist', values: [] },
      ]),
    ];
  }
  return out;
}

function plausibleSpec(rng: Rng, kind: SpiderKind): JsonObject {
  const net = randomNet(rng);
  if (kind === 'SpiderReservedIP') {
    const spec: JsonObject = {
      ips: Array.from({ length: rng.int(1, 5) }, () => rangeText(rng, net.family, rangeIn(rng, net.network, netLast(net)))),
    };
    if (rng.chance(0.5)) spec.ipVersion = net.family;
    return spec;
  }
  const spec = underlaySpec(rng, net);
  if (kind === 'SpiderIPPool') {
    if (rng.chance(0.3)) spec.podAffinity = selector(rng);
    if (rng.chance(0.15)) spec.namespaceAffinity = selector(rng);
    if (rng.chance(0.15)) spec.nodeAffinity = selector(rng);
    if (rng.chance(0.2)) spec.namespaceName = rng.pick<Json[]>([['default'], ['default', 'kube-system'], []]);
    if (rng.chance(0.15)) spec.nodeName = rng.pick<Json[]>([['node-1'], ['worker-1.example.com', 'worker-2']]);
    if (rng.chance(0.2)) spec.multusName = rng.pick<Json[]>([['kube-system/macvlan-conf'], ['ipvlan'], ['a/b', 'c.d']]);
    if (rng.chance(0.2)) spec.default = rng.chance(0.5);
    if (rng.chance(0.1)) spec.disable = rng.chance(0.5);
  }
  return spec;
}

export function plausibleObject(rng: Rng, kind: SpiderKind): JsonObject {
  return { apiVersion: SPIDER_API_VERSION, kind, metadata: metadata(rng, kind), spec: plausibleSpec(rng, kind) };
}

interface StoredFixture {
  name: string;
  uid?: string;
  spec: unknown;
}

function fixtureAsObject(kind: SpiderKind, fixture: StoredFixture): JsonObject {
  const meta: JsonObject = { name: fixture.name, finalizers: ['underpin.dev/addresses-in-use'] };
  if (fixture.uid) meta.uid = fixture.uid;
  return { apiVersion: SPIDER_API_VERSION, kind, metadata: meta, spec: copyJson(fixture.spec) as unknown as JsonObject };
}

/** The stored object of that kind and name, or another one of the kind. */
function fixtureObject(rng: Rng, kind: SpiderKind, name: unknown): JsonObject {
  const all: readonly StoredFixture[] = kind === 'SpiderSubnet' ? FIXTURE_SUBNETS : kind === 'SpiderIPPool' ? FIXTURE_POOLS : FIXTURE_RESERVED;
  const same = all.find((o) => o.name === name);
  return fixtureAsObject(kind, same ?? rng.pick(all));
}

// --- mutations --------------------------------------------------------------------

interface Slot {
  container: JsonObject | Json[];
  key: string | number;
  path: string;
}

/** Every place in a value (to a bounded depth) where something could be put instead. */
function slots(root: JsonObject, maxDepth = 6): Slot[] {
  const out: Slot[] = [];
  const stack: [JsonObject | Json[], string, number][] = [[root, '', 0]];
  while (stack.length > 0) {
    const [container, path, depth] = stack.pop()!;
    const entries: [string | number, Json][] = Array.isArray(container) ? container.map((v, i) => [i, v]) : Object.entries(container);
    for (const [key, value] of entries.slice(0, 20)) {
      const childPath = typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      out.push({ container, key, path: childPath });
      if (value !== null && typeof value === 'object' && depth < maxDepth) stack.push([value, childPath, depth + 1]);
    }
  }
  return out;
}

function setSlot(slot: Slot, value: Json): void {
  (slot.container as Record<string | number, Json>)[slot.key] = value;
}

function specOf(object: JsonObject): JsonObject | undefined {
  const spec = object.spec;
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? spec : undefined;
}

function metadataOf(object: JsonObject): JsonObject | undefined {
  const meta = object.metadata;
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? meta : undefined;
}

type Mutation = (rng: Rng, object: JsonObject, kind: SpiderKind) => string | undefined;

const LIST_FIELDS = ['ips', 'excludeIPs'];

const MUTATIONS: readonly (readonly [number, string, Mutation])[] = [
  [12, 'nasty string', (rng, object) => {
    const candidates = slots(object).filter((s) => s.path.startsWith('spec') && typeof (s.container as Record<string | number, Json>)[s.key] === 'string');
    const slot = candidates.length > 0 ? rng.pick(candidates) : undefined;
    const spec = specOf(object);
    if (!slot) {
      if (!spec) return undefined;
      spec[rng.pick(['subnet', 'gateway', 'ips'])] = nastyAddressText(rng);
      return 'nasty string at a new field';
    }
    const text = nastyAddressText(rng);
    setSlot(slot, text);
    return `${slot.path} = ${JSON.stringify(text).slice(0, 80)}`;
  }],
  [6, 'nasty list entry', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const field = rng.pick(LIST_FIELDS);
    const list = Array.isArray(spec[field]) ? (spec[field] as Json[]) : (spec[field] = []);
    if (list.length >= LIMITS.listEntries) return undefined;
    list.splice(rng.int(0, list.length), 0, nastyAddressText(rng));
    return `spec.${field} gets a nasty entry`;
  }],
  [8, 'wrong type', (rng, object) => {
    const slot = rng.pick(slots(object));
    setSlot(slot, junkValue(rng));
    return `${slot.path} has the wrong type`;
  }],
  [5, 'remove a field', (rng, object) => {
    const candidates = slots(object).filter((s) => !Array.isArray(s.container));
    if (candidates.length === 0) return undefined;
    const slot = rng.pick(candidates);
    delete (slot.container as JsonObject)[slot.key as string];
    return `${slot.path} removed`;
  }],
  [4, 'extra field', (rng, object) => {
    const containers = slots(object)
      .map((s) => (s.container as Record<string | number, Json>)[s.key])
      .filter((v): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v));
    const target = rng.chance(0.3) ? object : containers.length > 0 ? rng.pick(containers) : object;
    const key = rng.pick(['extra', 'ips ', 'IPs', 'Subnet', 'subnet\u0000', '', '$ref', 'spec', 'status', 'x'.repeat(500), 'a.b', 'a/b', '~1']);
    target[key] = junkValue(rng);
    return `extra field ${JSON.stringify(key).slice(0, 20)}`;
  }],
  [3, 'deeply nested junk', (rng, object) => {
    // Rarely thousands of levels: JSON allows it, and so does the API server for
    // fields a CRD leaves unchecked (x-kubernetes-preserve-unknown-fields).
    const depth = rng.chance(0.08) ? rng.int(2_500, 8_000) : rng.int(5, LIMITS.deepJunk);
    const target = specOf(object) ?? object;
    target[rng.pick(['junk', 'ips', 'routes', 'podAffinity'])] = deepValue(rng, depth);
    return `nested junk ${depth} levels deep`;
  }],
  [4, 'duplicated routes', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const routes = Array.isArray(spec.routes) && spec.routes.length > 0 ? spec.routes : [{ dst: '172.16.0.0/16', gw: typeof spec.gateway === 'string' ? spec.gateway : '10.6.0.1' }];
    const copies = rng.int(2, rng.chance(0.2) ? LIMITS.listEntries : 4);
    const first = routes[0]!;
    const respelt = (r: Json): Json => {
      if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.dst !== 'string') return r;
      // The same destination, spelt the same, in capitals, or with host bits set.
      return { ...r, dst: rng.pick([r.dst, r.dst.toUpperCase(), r.dst.replace(/^(\d+\.\d+\.\d+\.)0\//, '$11/')]) };
    };
    spec.routes = [...routes, ...Array.from({ length: copies }, () => respelt(first))].slice(0, LIMITS.listEntries);
    return `routes duplicated ×${copies}`;
  }],
  [4, 'odd vlan', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    spec.vlan = rng.pick<Json>([-1, 4095, 4094, 0, 1e12, 'NaN', 'Infinity', 1.5, '5', null, true, 2 ** 53, 2 ** 53 + 2, -2147483648, 1e308, [], {}]);
    return `vlan = ${JSON.stringify(spec.vlan)}`;
  }],
  [4, 'bad label selector', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const field = rng.pick(['podAffinity', 'namespaceAffinity', 'nodeAffinity']);
    spec[field] = rng.pick<Json>([
      { matchExpressions: [{ key: 'a', operator: rng.pick(['in', 'Equals', '', 'In ', 'Exists\n', 'NotIn', 'DoesNotExist', 'Gt', '__proto__']), values: rng.pick<Json>([[], ['x'], null, 'x', [1]]) }] },
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }, { key: 'b', operator: 'In' }] },
      { matchExpressions: [{ operator: 'In', values: ['x'] }] },
      { matchExpressions: 'app=web' },
      { matchLabels: { app: 1 } },
      { matchLabels: ['app'] },
      { matchLabels: { '': '' }, matchExpressions: [] },
      'app=web',
      [],
      { matchExpressions: Array.from({ length: rng.int(1, LIMITS.listEntries) }, (_, i) => ({ key: `k${i}`, operator: rng.pick(['In', 'Bad']), values: [] })) },
    ]);
    return `${field} is a bad selector`;
  }],
  [3, 'odd ipVersion', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    spec.ipVersion = rng.pick<Json>([4, 6, '4', 0, 5, null, 'v6', 6.0, 4.5, true, -4, 'IPv4']);
    return `ipVersion = ${JSON.stringify(spec.ipVersion)}`;
  }],
  [3, 'other family subnet', (rng, object) => {
    const spec = specOf(object);
    if (!spec || typeof spec.subnet !== 'string') return undefined;
    spec.subnet = spec.subnet.includes(':') ? rng.pick(['10.6.0.0/16', '192.168.10.0/24', '0.0.0.0/0']) : rng.pick(['fd00:6::/64', '2001:db8::/32', '::/0']);
    return `subnet of the other family: ${spec.subnet}`;
  }],
  [3, 'odd prefix', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const base = typeof spec.subnet === 'string' ? spec.subnet.split('/')[0]! : '10.6.0.0';
    spec.subnet = `${base}/${rng.pick(['0', '33', '129', '-1', '08', '1e1', '16.0', '', '255.255.0.0', '64 ', '32', '128', '31', '127'])}`;
    return `subnet = ${JSON.stringify(spec.subnet)}`;
  }],
  [3, 'reversed range', (rng, object) => {
    const spec = specOf(object);
    const field = rng.pick(LIST_FIELDS);
    const list = spec?.[field];
    if (!Array.isArray(list)) return undefined;
    const index = list.findIndex((e) => typeof e === 'string' && e.includes('-'));
    if (index < 0) return undefined;
    list[index] = (list[index] as string).split('-').reverse().join('-');
    return `spec.${field}[${index}] reversed`;
  }],
  [3, 'huge range', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const huge = rng.pick([
      ['::/0', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['0.0.0.0/0', '0.0.0.0-255.255.255.255'],
      ['2001:db8::/32', '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['fd00:6::/64', 'fd00:6::-fd00:6::ffff:ffff:ffff:ffff'],
      ['8000::/1', '8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe'],
    ] as const);
    if (rng.chance(0.6)) spec.subnet = huge[0];
    const field = rng.pick(LIST_FIELDS);
    spec[field] = rng.pick<Json>([[huge[1]], [huge[1], huge[1]], [huge[1].split('-')[0]!, huge[1]]]);
    if (rng.chance(0.3)) spec.excludeIPs = [huge[1]];
    return `huge range ${huge[1]} in spec.${field}`;
  }],
  [2, 'long string', (rng, object) => {
    const candidates = slots(object).filter((s) => typeof (s.container as Record<string | number, Json>)[s.key] === 'string');
    if (candidates.length === 0) return undefined;
    const slot = rng.pick(candidates);
    const text = longString(rng);
    setSlot(slot, text);
    return `${slot.path} is ${text.length} characters`;
  }],
  [3, 'whitespace or unicode', (rng, object) => {
    const candidates = slots(object).filter((s) => typeof (s.container as Record<string | number, Json>)[s.key] === 'string');
    if (candidates.length === 0) return undefined;
    const slot = rng.pick(candidates);
    const text = (slot.container as Record<string | number, Json>)[slot.key] as string;
    const insert = rng.pick([' ', '\n', '\t', '\u00a0', '\u200b', '\u202e', '\ufeff', '\u0000', '\u2028', '\ud83c\udf10', '\ud800', '\u0301', '\uff10']);
    const at = rng.int(0, text.length);
    setSlot(slot, text.slice(0, at) + insert + text.slice(at));
    return `${slot.path} gets ${JSON.stringify(insert)}`;
  }],
  [2, 'odd kind', (rng, object, kind) => {
    object.kind = rng.pick<Json>([...SPIDER_KINDS.filter((k) => k !== kind), 'spiderippool', '', null, 1, 'Pod']);
    return `object.kind = ${JSON.stringify(object.kind)}`;
  }],
  [4, 'long list', (rng, object) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    const field = rng.pick([...LIST_FIELDS, 'namespaceName', 'nodeName', 'multusName']);
    const n = rng.int(2, LIMITS.listEntries);
    const pick = rng.weighted<() => Json>([
      [3, () => rng.pick(['10.6.2.1', 'fd00:6::201', '10.6.2.1-10.6.2.9'])],
      [2, () => nastyAddressText(rng)],
      [1, () => junkValue(rng, 2)],
    ]);
    spec[field] = Array.from({ length: n }, (_, i) =>
      rng.chance(0.5) ? pick() : rng.pick(['10.6.2.1', `10.6.2.${i % 256}`, `fd00:6::${i.toString(16)}`, 'default', 'kube-system/macvlan']),
    );
    return `spec.${field} has ${n} entries`;
  }],
  [4, 'metadata junk', (rng, object) => {
    const meta = metadataOf(object);
    if (!meta) return undefined;
    const what = rng.pick(['labels', 'name', 'finalizers', 'ownerReferences', 'annotations', 'deletionTimestamp', 'labelKey', 'uid']);
    if (what === 'labelKey') {
      meta.labels = { [rng.pick(['a\nb', '', 'x'.repeat(300), 'a: b', '\u2028', 'ipam.spidernet.io/ippool-cidr'])]: rng.pick<Json>(['v', 1, null, '\n']) };
    } else {
      meta[what] = junkValue(rng);
    }
    return `metadata.${what} is junk`;
  }],
  [2, 'null', (rng, object) => {
    const slot = rng.pick(slots(object));
    setSlot(slot, null);
    return `${slot.path} = null`;
  }],
  [3, 'spec replaced', (rng, object) => {
    object.spec = rng.pick<Json>([null, [], 'spec', 1, {}, { subnet: null }, { ips: [] }]);
    if (rng.chance(0.3)) delete object.spec;
    return `spec = ${JSON.stringify(object.spec) ?? 'missing'}`;
  }],
  [3, 'gateway in ips', (rng, object) => {
    const spec = specOf(object);
    const first = Array.isArray(spec?.ips) ? spec.ips[0] : undefined;
    if (!spec || typeof first !== 'string') return undefined;
    spec.gateway = first.split('-')[0]!;
    return 'gateway is in ips';
  }],
  [2, 'spans the IPv4-mapped block', (rng, object, kind) => {
    const spec = specOf(object);
    if (!spec) return undefined;
    // Each end is a plain IPv6 address; the addresses between include ::ffff:10.6.1.7.
    const ips = [rng.pick(['::fffe:ffff:ffff-::1:0:0:0', '::-::1:0:0:0', '::fffe:ffff:ff00-::1:0:0:ff'])];
    if (kind !== 'SpiderReservedIP') spec.subnet = rng.pick(['::/64', '::/72', '::/79']);
    spec.ips = ips;
    delete spec.gateway;
    delete spec.routes;
    delete spec.excludeIPs;
    if (spec.ipVersion !== undefined) spec.ipVersion = 6;
    return `spans ::ffff:0:0/96 with ${ips[0]}`;
  }],
  [3, 'collides with the fixture', (rng, object, kind) => {
    const spec = specOf(object);
    const meta = metadataOf(object);
    if (!spec) return undefined;
    const pick = rng.pick([
      { subnet: '10.6.0.0/16', ips: ['10.6.1.0-10.6.1.9'] },
      { subnet: '10.6.0.0/24', ips: ['10.6.0.20'] },
      { subnet: '10.6.0.0/16', ips: ['10.6.0.2-10.6.0.5'] },
      { subnet: 'fd00:6::/64', ips: ['fd00:6::1f0-fd00:6::2ff'] },
      { subnet: 'fd00:6::/64', ips: ['fd00:6::1:0:0:0'] },
      { subnet: '2001:db8::/32', ips: ['2001:db8:1::5'] },
      { subnet: '2001:db8::/48', ips: ['2001:db8::5'] },
      { subnet: '192.168.0.0/16', ips: ['192.168.10.10'] },
      { subnet: '10.0.0.0/8', ips: ['10.6.1.1'] },
    ]);
    if (kind === 'SpiderReservedIP') spec.ips = pick.ips;
    else Object.assign(spec, pick);
    if (meta && rng.chance(0.3)) meta.name = rng.pick(FIXTURE_NAMES);
    return `collides: ${pick.subnet} ${pick.ips.join(',')}`;
  }],
  [2, 'prototype keys', (rng, object) => {
    const target = rng.pick([specOf(object), metadataOf(object), object].filter((v): v is JsonObject => v !== undefined));
    const injected = JSON.parse(
      rng.pick([
        '{"__proto__": {"subnet": "10.6.0.0/16", "ips": ["10.6.1.1"], "polluted": true}}',
        '{"constructor": {"prototype": {"polluted": true}}}',
        '{"__proto__": null}',
        '{"__proto__": []}',
      ]),
    ) as JsonObject;
    const key = rng.pick(['__proto__', 'constructor', 'labels', 'podAffinity']);
    if (key === 'labels' || key === 'podAffinity') target[key] = injected;
    else Object.assign(target, injected);
    return `prototype keys via ${key}`;
  }],
];

/** Applies 0–5 random mutations; returns what was done, for failure reports. */
export function mutate(rng: Rng, object: JsonObject, kind: SpiderKind): string[] {
  const count = rng.weighted<() => number>([
    [25, () => 0],
    [35, () => 1],
    [20, () => 2],
    [20, () => rng.int(3, 5)],
  ])();
  const notes: string[] = [];
  for (let i = 0; i < count; i++) {
    const [, name, apply] = rng.weighted(MUTATIONS.map((m) => [m[0], m] as const));
    const note = apply(rng, object, kind);
    if (note) notes.push(`${name}: ${note}`);
  }
  return notes;
}

// --- requests ---------------------------------------------------------------------

export interface GeneratedRequest {
  request: AdmissionRequest;
  /** The kind the object was built as (the request may claim another). */
  builtAs: SpiderKind;
  notes: string[];
}

function uid(rng: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

/** Kinds a request may claim that are not the object's: other Spider kinds, other resources, Object.prototype's keys. */
export const PROTOTYPE_KIND_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];

export function generateRequest(rng: Rng): GeneratedRequest {
  const kind = rng.pick(SPIDER_KINDS);
  const operation = rng.weighted<'CREATE' | 'UPDATE' | 'DELETE'>([
    [55, 'CREATE'],
    [30, 'UPDATE'],
    [15, 'DELETE'],
  ]);
  const base = plausibleObject(rng, kind);
  const object = copyJson(base);
  const notes = mutate(rng, object, kind);

  const claimed = rng.weighted<() => string>([
    [94, () => kind],
    [3, () => rng.pick(SPIDER_KINDS.filter((k) => k !== kind))],
    [2, () => rng.pick(['Pod', '', 'spiderippool', 'SpiderIPPools'])],
    [1, () => rng.pick(PROTOTYPE_KIND_NAMES)],
  ])();
  if (claimed !== kind) notes.push(`request claims kind ${JSON.stringify(claimed)}`);

  const meta = metadataOf(object);
  const metaName = meta?.name;
  // The API server fills request.name from the object (empty with generateName).
  const name = typeof metaName === 'string' ? metaName : operation === 'CREATE' ? '' : objectName(rng, kind);

  let requestObject: Json = object;
  let oldObject: Json | undefined;
  if (operation === 'UPDATE') {
    oldObject = rng.weighted<() => Json>([
      [35, () => base],
      [20, () => {
        const other = plausibleObject(rng, kind);
        (other.metadata as JsonObject).name = name;
        return other;
      }],
      [20, () => fixtureObject(rng, kind, name)],
      [10, () => {
        const other = plausibleObject(rng, kind);
        mutate(rng, other, kind);
        return other;
      }],
      [10, () => junkValue(rng)],
      [5, () => null],
    ])();
    if (rng.chance(0.1)) requestObject = copyJson(oldObject); // spec unchanged: labels or finalizers only
  } else if (operation === 'DELETE') {
    oldObject = rng.weighted<() => Json>([
      [55, () => object],
      [30, () => fixtureObject(rng, kind, name)],
      [15, () => junkValue(rng)],
    ])();
    requestObject = rng.chance(0.85) ? null : object;
  }

  const request: AdmissionRequest = {
    uid: uid(rng),
    kind: { group: GROUP, version: 'v2beta1', kind: claimed },
    resource: { group: GROUP, version: 'v2beta1', resource: RESOURCES[kind] },
    name,
    operation,
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    object: requestObject,
    ...(oldObject !== undefined ? { oldObject } : {}),
  };
  const dryRun = rng.weighted<boolean | undefined>([
    [70, undefined],
    [20, true],
    [10, false],
  ]);
  if (dryRun !== undefined) request.dryRun = dryRun;
  return { request, builtAs: kind, notes };
}
