// Pod-level routes (annotation `ipam.spidernet.io/routes`): each goes to the NIC whose
// subnet holds its next hop. Checked at admission, so a route the node could never
// install is refused at `kubectl apply` instead of failing in the CNI plugin later.
import { formatAddress, parseAddress } from './address.js';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import { formatProblems, type FieldProblem } from './field-problem.js';
import { err, ok, type Result } from './result.js';
import type { RouteSpec } from './underlay-block.js';

/** A NIC of the pod and the subnets its addresses are in (one per family). */
export interface RoutedInterface {
  interface: string;
  subnets: readonly Cidr[];
}

/**
 * The routes of each NIC, keyed by interface name, in the written order; or every
 * problem at once, one line each, naming the route by its index in `field`.
 */
export function assignPodRoutes(field: string, routes: readonly RouteSpec[], nics: readonly RoutedInterface[]): Result<Map<string, RouteSpec[]>, string> {
  const byNic = new Map<string, RouteSpec[]>(nics.map((nic) => [nic.interface, []]));
  const problems: FieldProblem[] = [];
  const subnets = nics.flatMap((nic) => nic.subnets.map((subnet) => `${nic.interface} ${subnet.text}`)).join(', ');
  routes.forEach((route, i) => {
    const at = `${field}[${i}]`;
    const dst = parseCidr(route.dst);
    const gw = parseAddress(route.gw);
    if (!dst.ok) problems.push({ field: `${at}.dst`, message: dst.error });
    if (!gw.ok) problems.push({ field: `${at}.gw`, message: `${gw.error}; write the next hop's address, e.g. "10.6.0.1"` });
    if (!dst.ok || !gw.ok) return;
    if (dst.value.family !== gw.value.family) {
      problems.push({ field: at, message: `dst ${dst.value.text} and gw ${formatAddress(gw.value)} are of different IP families` });
      return;
    }
    if (dst.value.prefixLength === 0) {
      problems.push({ field: `${at}.dst`, message: `${dst.value.text} is a default route; choose the NIC of the default route with ipam.spidernet.io/default-route-nic instead` });
      return;
    }
    const nic = nics.find((n) => n.subnets.some((subnet) => cidrContains(subnet, gw.value)));
    if (!nic) {
      problems.push({ field: `${at}.gw`, message: `${formatAddress(gw.value)} is in none of the pod's subnets (${subnets || 'none'}); use a next hop on one of them` });
      return;
    }
    byNic.get(nic.interface)!.push({ dst: dst.value.text, gw: formatAddress(gw.value) });
  });
  return problems.length > 0 ? err(formatProblems(problems)) : ok(byNic);
}
