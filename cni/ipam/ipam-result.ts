// From a pod's binding to the CNI result of one interface. Pure.
import type { Binding, InterfaceBinding } from '../../ipam/binding.js';
import type { CniResult, ResultDNS, ResultIP, ResultRoute } from '../skel/cni-result.js';

/** The interface that keeps the default route: the binding's choice when it names one of its NICs, else the first. */
export function defaultRouteInterface(binding: Binding): string {
  const named = binding.defaultRouteInterface;
  if (named !== undefined && binding.interfaces.some((i) => i.interface === named)) return named;
  return binding.interfaces[0]!.interface;
}

export function ipamResult(binding: Binding, entry: InterfaceBinding, options: { cleanGateway: boolean; dns?: ResultDNS }): CniResult {
  const clean = options.cleanGateway || entry.cleanGateway === true;
  const ips: ResultIP[] = [];
  const routes: ResultRoute[] = [];
  const carriesDefault = !clean && defaultRouteInterface(binding) === entry.interface;
  for (const [family, bound] of [
    [4, entry.ipv4],
    [6, entry.ipv6],
  ] as const) {
    if (bound === undefined) continue;
    ips.push({ address: bound.address, ...(bound.gateway !== undefined && !clean ? { gateway: bound.gateway } : {}) });
    if (carriesDefault && bound.gateway !== undefined) routes.push({ dst: family === 4 ? '0.0.0.0/0' : '::/0', gw: bound.gateway });
  }
  for (const route of entry.routes) routes.push({ dst: route.dst, gw: route.gw });
  return { ips, routes, ...(options.dns ? { dns: options.dns } : {}) };
}
