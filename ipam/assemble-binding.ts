// The binding of a pod from its allocations: per NIC in the pod's order, each
// family's address with its pool's prefix length, gateway and VLAN; the pools'
// routes, then the pod's own routes (annotation `routes`) on the NIC whose subnet
// holds their next hop; and the NIC that keeps the default route.
import { formatAddress } from './address.js';
import type { Allocation } from './allocator.js';
import type { Binding, InterfaceBinding } from './binding.js';
import { ANNOTATION, RoutesAnnotation, readJsonAnnotation } from './pod-annotations.js';
import type { InterfaceRequest } from './pod-network-request.js';
import { assignPodRoutes } from './pod-routes.js';
import { err, ok, type Result } from './result.js';
import type { RouteSpec } from './underlay-block.js';

export interface BindingInputs {
  id: string;
  /** The pod's Underpin NICs, in the binding's order. */
  nics: readonly InterfaceRequest[];
  allocations: readonly Pick<Allocation, 'nic' | 'family' | 'pool' | 'address'>[];
  podAnnotations: Readonly<Record<string, string>>;
}

export function assembleBinding({ id, nics, allocations, podAnnotations }: BindingInputs): Result<Binding, string> {
  let podRoutes: RouteSpec[] = [];
  const routesText = podAnnotations[ANNOTATION.routes];
  if (routesText !== undefined) {
    const parsed = readJsonAnnotation(ANNOTATION.routes, routesText, RoutesAnnotation);
    if (!parsed.ok) return parsed;
    podRoutes = parsed.value;
  }
  const nicAllocations = (nic: InterfaceRequest) => allocations.filter((a) => a.nic === nic);
  const routed = assignPodRoutes(
    `annotation ${ANNOTATION.routes}`,
    podRoutes,
    nics.map((nic) => ({ interface: nic.interface, subnets: nicAllocations(nic).map((a) => a.pool.block.cidr) })),
  );
  if (!routed.ok) return routed;
  const interfaces: InterfaceBinding[] = nics.map((nic) => {
    const entry: InterfaceBinding = { interface: nic.interface, routes: [], ...(nic.cleanGateway !== undefined ? { cleanGateway: nic.cleanGateway } : {}), ...(nic.network ? { network: nic.network } : {}) };
    for (const a of nicAllocations(nic)) {
      const block = a.pool.block;
      entry[a.family === 4 ? 'ipv4' : 'ipv6'] = {
        address: `${formatAddress(a.address)}/${block.cidr.prefixLength}`,
        pool: a.pool.name,
        ...(block.gateway ? { gateway: formatAddress(block.gateway) } : {}),
        ...(block.vlan !== undefined ? { vlan: block.vlan } : {}),
      };
      entry.routes.push(...block.routes.map((r) => ({ dst: r.dst.text, gw: formatAddress(r.gw) })));
    }
    entry.routes.push(...(routed.value.get(nic.interface) ?? []));
    return entry;
  });
  const defaultNic = podAnnotations[ANNOTATION.defaultRouteNic];
  if (defaultNic !== undefined && !interfaces.some((i) => i.interface === defaultNic)) {
    return err(`annotation ${ANNOTATION.defaultRouteNic}: "${defaultNic}" is not one of the pod's Underpin NICs (${interfaces.map((i) => i.interface).join(', ')})`);
  }
  return ok({ version: 1, id, interfaces, ...(defaultNic ? { defaultRouteInterface: defaultNic } : {}) });
}
