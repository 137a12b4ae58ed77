// SpiderCoordinator (spiderpool.spidernet.io/v2beta1, cluster-scoped, one object
// named `default`): the cluster-wide defaults of the coordinator plugin. Its schema,
// the defaults the webhook writes (upstream's), and every rule the webhook checks,
// as field problems that say what to write instead.
import { z } from 'zod';
import { parseAddress } from './address.js';
import { cidrContains, parseCidr } from './cidr.js';
import { problem, type FieldProblem } from './field-problem.js';
import { ObjectMeta } from './object-meta.js';

/** The one SpiderCoordinator the coordinator plugin reads (upstream's chart creates it under this name). */
export const SPIDER_COORDINATOR_NAME = 'default';

export const COORDINATOR_MODES = ['auto', 'underlay', 'overlay', 'disabled'] as const;
export type CoordinatorMode = (typeof COORDINATOR_MODES)[number];
export const POD_CIDR_TYPES = ['auto', 'cluster', 'calico', 'cilium', 'none'] as const;
export type PodCIDRType = (typeof POD_CIDR_TYPES)[number];

export const COORDINATOR_PHASES = { synced: 'Synced', notReady: 'NotReady' } as const;

/**
 * Read leniently: every field may be anything, so that a wrong value becomes a field
 * problem with a fix (reviewSpiderCoordinator) rather than a schema error.
 */
export const SpiderCoordinatorSpec = z.looseObject({
  mode: z.unknown().optional(),
  podCIDRType: z.unknown().optional(),
  hijackCIDR: z.unknown().optional(),
  podMACPrefix: z.unknown().optional(),
  tunePodRoutes: z.unknown().optional(),
  podDefaultRouteNIC: z.unknown().optional(),
  hostRuleTable: z.unknown().optional(),
  hostRPFilter: z.unknown().optional(),
  podRPFilter: z.unknown().optional(),
  txQueueLen: z.unknown().optional(),
  vethLinkAddress: z.unknown().optional(),
  vethMTU: z.unknown().optional(),
  detectIPConflict: z.unknown().optional(),
  detectGateway: z.unknown().optional(),
});
export type SpiderCoordinatorSpec = z.infer<typeof SpiderCoordinatorSpec>;

export const SpiderCoordinatorStatus = z.looseObject({
  phase: z.string().nullish(),
  reason: z.string().nullish(),
  overlayPodCIDR: z.array(z.string()).nullish(),
  serviceCIDR: z.array(z.string()).nullish(),
});
export type SpiderCoordinatorStatus = z.infer<typeof SpiderCoordinatorStatus>;

export const SpiderCoordinator = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('SpiderCoordinator'),
  metadata: ObjectMeta,
  spec: SpiderCoordinatorSpec.nullish().transform((spec) => spec ?? {}),
  status: SpiderCoordinatorStatus.nullish(),
});
export type SpiderCoordinator = z.infer<typeof SpiderCoordinator>;

/** A SpiderCoordinator whose spec passed review: the values the plugin may rely on. */
export interface CoordinatorDefaults {
  mode: CoordinatorMode;
  podCIDRType: PodCIDRType;
  hijackCIDR: string[];
  podMACPrefix: string;
  tunePodRoutes: boolean;
  podDefaultRouteNIC: string;
  hostRuleTable: number;
  podRPFilter: number;
  txQueueLen: number;
  vethLinkAddress: string;
  vethMTU?: number;
  detectIPConflict: boolean;
  detectGateway: boolean;
}

/** Upstream's defaults (its mutating webhook and its Helm chart's `default` object). */
export const COORDINATOR_SPEC_DEFAULTS = {
  mode: 'auto',
  podCIDRType: 'auto',
  tunePodRoutes: true,
  hostRuleTable: 500,
  hostRPFilter: 0,
  podRPFilter: 0,
  txQueueLen: 0,
  detectIPConflict: false,
  detectGateway: false,
} as const;

/** A bare address in hijackCIDR means that one address: `/32` or `/128`, as upstream completes it. */
function completeCidr(text: string): string {
  if (text.includes('/')) {
    const parsed = parseCidr(text);
    return parsed.ok ? parsed.value.text : text;
  }
  const address = parseAddress(text);
  return address.ok ? `${text}/${address.value.family === 4 ? 32 : 128}` : text;
}

/** The object with every absent spec field set to upstream's default, and hijackCIDR completed. */
export function defaultSpiderCoordinator(object: SpiderCoordinator): SpiderCoordinator {
  const spec: Record<string, unknown> = { ...object.spec };
  for (const [field, value] of Object.entries(COORDINATOR_SPEC_DEFAULTS)) {
    if (spec[field] === undefined || spec[field] === null) spec[field] = value;
  }
  if (Array.isArray(spec.hijackCIDR)) spec.hijackCIDR = spec.hijackCIDR.map((c: unknown) => (typeof c === 'string' ? completeCidr(c) : c));
  return { ...object, spec };
}

/** Fields of other Spiderpool releases that are not SpiderCoordinator v2beta1 fields any more, and what replaced them. */
const RENAMED_FIELDS: Record<string, string> = {
  tuneMode: 'it is spec.mode since Spiderpool 0.8 (auto, underlay, overlay, disabled)',
  extraCIDR: 'it is spec.hijackCIDR since Spiderpool 0.8',
};

const KNOWN_FIELDS = new Set(Object.keys(SpiderCoordinatorSpec.shape));

const LINK_LOCAL_V4 = (() => {
  const parsed = parseCidr('169.254.0.0/16');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
})();

const show = (value: unknown) => JSON.stringify(value);
const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);

/** Problems of one spec, and warnings for what is accepted but has no effect. */
export function reviewCoordinatorSpec(spec: SpiderCoordinatorSpec): { problems: FieldProblem[]; warnings: string[] } {
  const problems: FieldProblem[] = [];
  const warnings: string[] = [];
  const oneOf = (field: keyof SpiderCoordinatorSpec, allowed: readonly string[]) => {
    const value = spec[field];
    if (value === undefined || value === null) return;
    if (typeof value !== 'string' || !allowed.includes(value)) {
      problems.push(problem(`spec.${field}`, `is ${show(value)}; write one of ${allowed.map((a) => show(a)).join(', ')}`));
    }
  };
  const boolean = (field: keyof SpiderCoordinatorSpec) => {
    const value = spec[field];
    if (value !== undefined && value !== null && typeof value !== 'boolean') problems.push(problem(`spec.${field}`, `is ${show(value)}; write true or false`));
  };
  oneOf('mode', COORDINATOR_MODES);
  oneOf('podCIDRType', POD_CIDR_TYPES);
  boolean('tunePodRoutes');
  boolean('detectIPConflict');
  boolean('detectGateway');

  const hijack = spec.hijackCIDR;
  if (hijack !== undefined && hijack !== null) {
    if (!Array.isArray(hijack)) {
      problems.push(problem('spec.hijackCIDR', `is ${show(hijack)}; write a list of CIDRs, e.g. ["169.254.20.10/32"]`));
    } else {
      hijack.forEach((entry: unknown, index) => {
        const field = `spec.hijackCIDR[${index}]`;
        if (typeof entry !== 'string') return problems.push(problem(field, `is ${show(entry)}; write a CIDR such as "169.254.20.10/32"`));
        if (!entry.includes('/') && parseAddress(entry).ok) return;
        const parsed = parseCidr(entry);
        if (!parsed.ok) problems.push(problem(field, parsed.error));
      });
    }
  }

  const mac = spec.podMACPrefix;
  if (mac !== undefined && mac !== null && mac !== '') {
    const match = typeof mac === 'string' ? /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/.exec(mac) : null;
    if (!match) {
      problems.push(problem('spec.podMACPrefix', `is ${show(mac)}; write two bytes in hex separated by a colon, e.g. "0a:1b" (or "" for none)`));
    } else {
      const first = Number.parseInt(match[1]!, 16);
      if ((first & 1) === 1) {
        const fixed = (first & 0xfe).toString(16).padStart(2, '0');
        problems.push(problem('spec.podMACPrefix', `is ${show(mac)}, a multicast prefix (the lowest bit of the first byte is 1); a pod needs a unicast MAC, e.g. "${fixed}:${match[2]}"`));
      } else if ((first & 2) === 0) {
        warnings.push(`spec.podMACPrefix ${show(mac)} is universally administered (second-lowest bit of the first byte is 0): pods' MACs may collide with real hardware; a locally administered prefix such as "${((first | 2) & 0xfe).toString(16).padStart(2, '0')}:${match[2]}" cannot`);
      }
    }
  }

  const nic = spec.podDefaultRouteNIC;
  if (nic !== undefined && nic !== null && nic !== '') {
    if (typeof nic !== 'string' || nic.length > 15 || /[\s/:]/.test(nic) || nic === '.' || nic === '..') {
      problems.push(problem('spec.podDefaultRouteNIC', `is ${show(nic)}; write the name of a pod NIC, e.g. "eth0" or "net1" (at most 15 characters, no spaces, "/" or ":"), or "" for the first NIC`));
    }
  }

  const table = spec.hostRuleTable;
  if (table !== undefined && table !== null) {
    if (!isInteger(table) || table < 1 || table > 0xfffffffe) {
      problems.push(problem('spec.hostRuleTable', `is ${show(table)}; write a routing table number from 1 to 4294967294, e.g. 500`));
    } else if (table === 253 || table === 254 || table === 255) {
      const name = { 253: 'default', 254: 'main', 255: 'local' }[table];
      problems.push(problem('spec.hostRuleTable', `is ${table}, the kernel's ${name} table; pick a table of its own, e.g. 500`));
    }
  }

  const rpFilter = (field: 'podRPFilter' | 'hostRPFilter') => {
    const value = spec[field];
    if (value === undefined || value === null) return;
    if (!isInteger(value) || value > 2) problems.push(problem(`spec.${field}`, `is ${show(value)}; write 0 (off), 1 (strict), 2 (loose), or a negative number to leave it as it is`));
  };
  rpFilter('podRPFilter');
  rpFilter('hostRPFilter');
  if (isInteger(spec.hostRPFilter) && spec.hostRPFilter > 0) {
    warnings.push(`spec.hostRPFilter ${spec.hostRPFilter} has no effect: Underpin's coordinator never changes the node's sysctls (they are the node operator's; upstream deprecates the field too)`);
  }

  const queue = spec.txQueueLen;
  if (queue !== undefined && queue !== null) {
    if (!isInteger(queue) || queue < 0) problems.push(problem('spec.txQueueLen', `is ${show(queue)}; write a whole number of packets, or 0 to leave it as it is`));
    else if (queue > 0) warnings.push(`spec.txQueueLen ${queue} is accepted but not applied: Underpin's coordinator leaves tx_queue_len as the main plugin set it`);
  }

  const mtu = spec.vethMTU;
  if (mtu !== undefined && mtu !== null) {
    if (!isInteger(mtu) || mtu < 68 || mtu > 65535) problems.push(problem('spec.vethMTU', `is ${show(mtu)}; write an MTU from 68 to 65535, e.g. 1500, or leave it out`));
    else warnings.push(`spec.vethMTU ${mtu} is accepted but not applied: Underpin's veth pair keeps the kernel's default MTU`);
  }

  const link = spec.vethLinkAddress;
  if (link !== undefined && link !== null && link !== '') {
    const address = typeof link === 'string' ? parseAddress(link, 4) : undefined;
    if (!address?.ok || !cidrContains(LINK_LOCAL_V4, address.value)) {
      problems.push(problem('spec.vethLinkAddress', `is ${show(link)}; write an IPv4 link-local address (169.254.0.0/16), e.g. "169.254.100.1", or "" for none`));
    }
  }

  for (const field of Object.keys(spec)) {
    if (KNOWN_FIELDS.has(field)) continue;
    const replaced = RENAMED_FIELDS[field];
    warnings.push(`spec.${field} is not a SpiderCoordinator v2beta1 field and is ignored${replaced ? `: ${replaced}` : ''}`);
  }
  return { problems, warnings };
}

export type CoordinatorVerdict = { allowed: true; warnings: string[] } | { allowed: false; problems: FieldProblem[] };

/**
 * The webhook's judgement. Creating any SpiderCoordinator but `default` is refused:
 * the plugin reads that one only, and a second would be a set of defaults nothing
 * follows. Objects made before the webhook ran may still be edited and deleted.
 */
export function reviewSpiderCoordinator(operation: 'CREATE' | 'UPDATE' | 'DELETE', object: unknown): CoordinatorVerdict {
  if (operation === 'DELETE') return { allowed: true, warnings: [] };
  const parsed = SpiderCoordinator.safeParse(object);
  if (!parsed.success) return { allowed: false, problems: [problem('(object)', 'is not a SpiderCoordinator (kind, metadata or spec malformed)')] };
  const name = parsed.data.metadata.name ?? '';
  const problems: FieldProblem[] = [];
  if (operation === 'CREATE' && name !== SPIDER_COORDINATOR_NAME) {
    problems.push(
      problem(
        'metadata.name',
        `is ${show(name || parsed.data.metadata.generateName || '')}; the cluster has one SpiderCoordinator, named "${SPIDER_COORDINATOR_NAME}", whose spec every coordinator network follows: edit SpiderCoordinator ${SPIDER_COORDINATOR_NAME} (kubectl edit scc ${SPIDER_COORDINATOR_NAME}) instead of creating another`,
      ),
    );
  }
  const review = reviewCoordinatorSpec(parsed.data.spec);
  problems.push(...review.problems);
  return problems.length > 0 ? { allowed: false, problems } : { allowed: true, warnings: review.warnings };
}

/**
 * The plugin's view of an object read from the API: the spec with upstream's
 * defaults, or undefined with the reason when it does not pass review (written past
 * the webhook), in which case the plugin keeps its built-in defaults.
 */
export function coordinatorDefaultsOf(object: SpiderCoordinator): { ok: true; value: CoordinatorDefaults } | { ok: false; reason: string } {
  const spec = defaultSpiderCoordinator(object).spec as Record<string, unknown>;
  const review = reviewCoordinatorSpec(spec);
  if (review.problems.length > 0) return { ok: false, reason: review.problems.map((p) => `${p.field}: ${p.message}`).join('; ') };
  const mtu = spec.vethMTU;
  return {
    ok: true,
    value: {
      mode: spec.mode as CoordinatorMode,
      podCIDRType: spec.podCIDRType as PodCIDRType,
      hijackCIDR: ((spec.hijackCIDR as string[] | undefined) ?? []).map(completeCidr),
      podMACPrefix: (spec.podMACPrefix as string | undefined) ?? '',
      tunePodRoutes: spec.tunePodRoutes as boolean,
      podDefaultRouteNIC: (spec.podDefaultRouteNIC as string | undefined) ?? '',
      hostRuleTable: spec.hostRuleTable as number,
      podRPFilter: spec.podRPFilter as number,
      txQueueLen: spec.txQueueLen as number,
      vethLinkAddress: (spec.vethLinkAddress as string | undefined) ?? '',
      ...(isInteger(mtu) ? { vethMTU: mtu } : {}),
      detectIPConflict: spec.detectIPConflict as boolean,
      detectGateway: spec.detectGateway as boolean,
    },
  };
}
