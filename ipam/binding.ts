// The binding: what the webhook decided for a pod, written into the pod as the
// `underpin.dev/binding` annotation and read by the reconciler and the CNI plugin.
// One schema and one decoder, used on every side.
import { z } from 'zod';
import { parseAddress, type Address } from './address.js';
import { err, ok, type Result } from './result.js';
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

/** The one decoder of the annotation: the binding, or why the text is not one (JSON error, or each field's problem). */
export function readBinding(text: string): Result<Binding, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return err((error as Error).message);
  }
  const parsed = Binding.safeParse(json);
  if (!parsed.success) return err(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return ok(parsed.data);
}

/** The binding, or undefined when the text is not one. */
export function decodeBinding(text: string): Binding | undefined {
  const read = readBinding(text);
  return read.ok ? read.value : undefined;
}

/** A pod's binding, read from its annotations; undefined when it has none. */
export function readPodBinding(annotations: Readonly<Record<string, string>> | null | undefined): Result<Binding, string> | undefined {
  const text = annotations?.[BINDING_ANNOTATION];
  return text === undefined ? undefined : readBinding(text);
}

/** The address of a binding entry, without its prefix length. */
export function entryAddress(entry: AddressBinding): Result<Address, string> {
  return parseAddress(entry.address.split('/')[0] ?? '');
}

/** Every address the binding gives, without prefix length; undefined when one of them is not an address. */
export function bindingAddresses(binding: Binding): Address[] | undefined {
  const out: Address[] = [];
  for (const nic of binding.interfaces) {
    for (const entry of [nic.ipv4, nic.ipv6]) {
      if (!entry) continue;
      const parsed = entryAddress(entry);
      if (!parsed.ok) return undefined;
      out.push(parsed.value);
    }
  }
  return out;
}

/**
 * The NIC that keeps the default route: `preferred` (the coordinator's
 * podDefaultRouteNic), else the binding's choice, when it is one of the binding's
 * NICs; else the first NIC.
 */
export function defaultRouteInterface(binding: Binding, preferred?: string): string {
  const named = preferred ?? binding.defaultRouteInterface;
  if (named !== undefined && binding.interfaces.some((i) => i.interface === named)) return named;
  return binding.interfaces[0]!.interface;
}

/** A metadata key as one JSON Pointer token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The JSON patch that writes a binding onto a pod: the annotation and the binding-id
 * label, creating the maps when the pod has none. The webhook's admission and the
 * reconciler's adoption of Spiderpool's pods write it alike.
 */
export function bindingPatch(
  metadata: { annotations?: Readonly<Record<string, string>> | null; labels?: Readonly<Record<string, string>> | null },
  binding: Binding,
): { op: 'add'; path: string; value: unknown }[] {
  return [
    ...(metadata.annotations ? [] : [{ op: 'add' as const, path: '/metadata/annotations', value: {} }]),
    { op: 'add', path: `/metadata/annotations/${pointerToken(BINDING_ANNOTATION)}`, value: encodeBinding(binding) },
    ...(metadata.labels ? [] : [{ op: 'add' as const, path: '/metadata/labels', value: {} }]),
    { op: 'add', path: `/metadata/labels/${pointerToken(BINDING_ID_LABEL)}`, value: binding.id },
  ];
}
