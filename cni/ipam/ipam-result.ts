// From a pod's binding to the CNI result of one interface. Pure.
import { defaultRouteInterface, type Binding, type InterfaceBinding } from '../../ipam/binding.js';
import type { CniResult, ResultDNS, ResultIP, ResultRoute } from '../skel/cni-result.js';

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
