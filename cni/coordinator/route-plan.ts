// What the coordinator changes in a pod's network namespace for one NIC, as `ip`
// commands with their undo. Pure: the observed routes go in, commands come out.
//
// For a NIC that gets its own table T (the second and later NICs, and the first when
// another NIC keeps the default route):
//   - every route of the NIC in `main` is copied to T (link-local and multicast
//     excepted), and T gets a default route through the NIC's gateway;
//   - a rule `from <address> lookup T` per address of the NIC: replies leave by the
//     NIC the request came in on, so routers with strict reverse-path filtering
//     (rp_filter=1) pass them;
//   - a default route through the NIC in `main` is removed from `main` unless the
//     NIC keeps the default route.
// The NIC's subnet and binding routes stay in `main` as well: traffic that has no
// source address yet must still reach those destinations through the NIC, and the
// main plugin's CHECK (macvlan, ipvlan …) looks for the routes of its result, and
// for the NIC's subnet, in `main` ("Failed to find Gateway …" otherwise).
// The NIC that keeps the default route (podDefaultRouteNic, else the binding's
// defaultRouteInterface, else the first NIC) keeps it in `main`, and gets one there
// through its gateway if the IPAM result gave it none.
import type { Step as RunnerStep } from './step-runner.js';

export type Family = 4 | 6;

/** Marks what the coordinator adds (routes' `proto`, rules' `protocol`), so DEL and CHECK find their own. */
export const UNDERPIN_PROTO = '85';
export const FROM_RULE_PREF = 32000;
export const FIRST_TABLE = 100;

/** A route of `ip -j route show table main dev X` (the `dev` is implied). */
export interface ObservedRoute {
  dst: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
}

export interface NicRoutingFacts {
  ifname: string;
  /** Addresses of the NIC without prefix length, per family. */
  addresses: Record<Family, string[]>;
  gateways: Partial<Record<Family, string>>;
  /** The NIC's own table, or undefined when its routes stay in main. */
  table: number | undefined;
  /** This NIC keeps the default route in main. */
  keepsDefault: boolean;
}

/** A step of the step runner whose undo is always known (route-plan steps never rely on another step's). */
export type Step = Required<RunnerStep>;

export type FamilyPlan = Record<Family, Step[]>;

/**
 * Table of the NIC at `position` (0-based, in the binding's order) among `nicCount`:
 * 100 for the second NIC, 101 for the third, …; the first NIC gets one (the next
 * number after the last) only when it does not keep the default route.
 */
export function tableFor(position: number, nicCount: number, keepsDefault: boolean): number | undefined {
  if (position > 0) return FIRST_TABLE + position - 1;
  if (!keepsDefault && nicCount > 1) return FIRST_TABLE + nicCount - 1;
  return undefined;
}

const isDefaultDst = (dst: string) => dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0';
const defaultDst = (family: Family) => (family === 4 ? '0.0.0.0/0' : '::/0');

function stays(route: ObservedRoute, family: Family): boolean {
  if (route.type !== undefined && route.type !== 'unicast') return true;
  if (family === 6 && (route.dst.startsWith('fe80:') || route.dst.startsWith('ff'))) return true;
  return false;
}

function routeSpec(route: ObservedRoute, family: Family, ifname: string): string {
  const dst = isDefaultDst(route.dst) ? defaultDst(family) : route.dst;
  const parts = [dst];
  if (route.gateway) parts.push('via', route.gateway);
  parts.push('dev', ifname);
  if (route.prefsrc) parts.push('src', route.prefsrc);
  if (route.scope && route.scope !== 'global' && route.scope !== 'universe') parts.push('scope', route.scope);
  if (route.metric !== undefined) parts.push('metric', String(route.metric));
  return parts.join(' ');
}

export function planNicRouting(facts: NicRoutingFacts, mainRoutes: Record<Family, ObservedRoute[]>): FamilyPlan {
  const plan: FamilyPlan = { 4: [], 6: [] };
  for (const family of [4, 6] as const) {
    const addresses = facts.addresses[family];
    if (addresses.length === 0) continue;
    const steps = plan[family];
    const gateway = facts.gateways[family];
    const routes = mainRoutes[family];
    const hasDefault = routes.some((r) => isDefaultDst(r.dst));

    if (facts.table !== undefined) {
      const table = facts.table;
      // Copies first, routes without a gateway before those through one (the kernel
      // checks that a gateway is reachable when a route through it is added), then
      // the rules, then the removal of a default route the NIC must not carry.
      const copies: Step[] = [];
      const removals: Step[] = [];
      const copied = routes.filter((r) => !stays(r, family)).sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
      for (const route of copied) {
        const spec = routeSpec(route, family, facts.ifname);
        copies.push({ run: `route add ${spec} proto ${UNDERPIN_PROTO} table ${table}`, undo: `route del ${spec} table ${table}` });
        if (isDefaultDst(route.dst) && !facts.keepsDefault) {
          const originalProto = route.protocol ? ` proto ${route.protocol}` : '';
          removals.push({ run: `route del ${spec} table main`, undo: `route add ${spec}${originalProto} table main` });
        }
      }
      steps.push(...copies);
      if (!hasDefault && gateway !== undefined) {
        const spec = `${defaultDst(family)} via ${gateway} dev ${facts.ifname}`;
        steps.push({ run: `route add ${spec} proto ${UNDERPIN_PROTO} table ${table}`, undo: `route del ${spec} table ${table}` });
      }
      for (const address of addresses) {
        const rule = `from ${address} lookup ${table} pref ${FROM_RULE_PREF} protocol ${UNDERPIN_PROTO}`;
        steps.push({ run: `rule add ${rule}`, undo: `rule del ${rule}` });
      }
      steps.push(...removals);
    }
    if (facts.keepsDefault && !hasDefault && gateway !== undefined) {
      const spec = `${defaultDst(family)} via ${gateway} dev ${facts.ifname}`;
      steps.push({ run: `route replace ${spec} proto ${UNDERPIN_PROTO} table main`, undo: `route del ${spec} table main` });
    }
  }
  return plan;
}

/** Observed rules (`ip -j rule show`). */
export interface ObservedRule {
  priority?: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table?: string;
  protocol?: string;
}

/** `rule del` commands for the coordinator's rules pointing at `tables`. */
export function rulesToDelete(rules: ObservedRule[], tables: Set<string>): string[] {
  return rules
    .filter((r) => r.protocol === UNDERPIN_PROTO && r.table !== undefined && tables.has(r.table))
    .map((r) => {
      const parts = ['rule del'];
      if (r.src && r.src !== 'all') parts.push('from', r.srclen !== undefined ? `${r.src}/${r.srclen}` : r.src);
      if (r.dst && r.dst !== 'all') parts.push('to', r.dstlen !== undefined ? `${r.dst}/${r.dstlen}` : r.dst);
      parts.push('lookup', r.table!);
      if (r.priority !== undefined) parts.push('pref', String(r.priority));
      return parts.join(' ');
    });
}
