// The binding: what the webhook decided for a pod, written into the pod as the
// `underpin.dev/binding` annotation and read by the CNI plugin on the node.
// One schema, used on both sides.
import { z } from 'zod';
import { parseAddress, type Address } from './address.js';
import { RouteSpec } from './underlay-block.js';

export const BINDING_ANNOTATION = 'underpin.dev/binding';
/** Label carrying the binding id, so claims can find their pod (pods admitted with generateName have no name yet). */
export const BINDING_ID_LABEL = 'underpin.dev/binding-id';
/** Label by which a pod (or a namespace) opts out of Underpin entirely. */
export const IGNORE_LABEL = 'underpin.dev/ignore';

export const AddressBinding = z.object({
  /** Address with the prefix length of its pool's subnet, e.g. `10.6.0.5/16`. */
  address: z.string(),
  pool: z.string(),
  gateway: z.string().optional(),
  vlan: z.number().int().optional(),
});
export type AddressBinding = z.infer<typeof AddressBinding>;

export const InterfaceBinding = z.object({
  interface: z.string(),
  ipv4: AddressBinding.optional(),
  ipv6: AddressBinding.optional(),
  routes: z.array(RouteSpec).default([]),
  /** Do not install a default route through this NIC's gateway (annotation `cleangateway`). */
  cleanGateway: z.boolean().optional(),
  /** The NetworkAttachmentDefinition (`namespace/name`) the NIC comes from, when Multus attaches it. */
  network: z.string().optional(),
});
export type InterfaceBinding = z.infer<typeof InterfaceBinding>;

export const Binding = z.object({
  version: z.literal(1),
  id: z.string().min(1),
  interfaces: z.array(InterfaceBinding).min(1),
  /** The NIC that keeps the default route (annotation `default-route-nic`, else the first). */
  defaultRouteInterface: z.string().optional(),
});
export type Binding = z.infer<typeof Binding>;

export function encodeBinding(binding: Binding): string {
  return JSON.stringify(binding);
}

export function decodeBinding(text: string): Binding | undefined {
  try {
    const parsed = Binding.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every address the binding gives, without prefix length; undefined when one of them is not an address. */
export function bindingAddresses(binding: Binding): Address[] | undefined {
  const out: Address[] = [];
  for (const nic of binding.interfaces) {
    for (const entry of [nic.ipv4, nic.ipv6]) {
      if (!entry) continue;
      const parsed = parseAddress(entry.address.split('/')[0] ?? '');
      if (!parsed.ok) return undefined;
      out.push(parsed.value);
    }
  }
  return out;
}
