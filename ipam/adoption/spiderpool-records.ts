// What a running Spiderpool recorded about the addresses it handed out, read from
// the three places it writes them: a pool's `status.allocatedIPs` (its allocation
// lock, a JSON string), a SpiderEndpoint's `status.current` (per pod, with the
// interface), and the pod annotation `ipam.spidernet.io/assigned-<nic>` (older
// agents). Pure: objects in, records and the problems of each object out, so that
// one malformed object is reported and the rest still read.
import { z } from 'zod';
import { parseAddress, type Address, type IPFamily } from '../address.js';
import { LEGACY_SPIDERPOOL_FINALIZER, type ObjectMeta } from '../object-meta.js';

/** Where a record was read. */
export type RecordSource = 'pool-status' | 'endpoint' | 'pod-annotation';

/** One address Spiderpool gave one pod. */
export interface SpiderpoolRecord {
  address: Address;
  pool: string;
  namespace: string;
  podName: string;
  /** Absent from pod annotations (they are the pod's own) and from old pool entries. */
  podUID?: string;
  /** Absent from pool entries of Spiderpool ≥ 0.8 (`{pod, podUid}` only). */
  interface?: string;
  source: RecordSource;
  /** Per-interface details the endpoint and annotations carry, for the binding. */
  vlan?: number;
  cleanGateway?: boolean;
  routes?: { dst: string; gw: string }[];
}

export interface RecordsRead {
  records: SpiderpoolRecord[];
  /** What could not be read, each naming the object, the field and why. */
  problems: string[];
}

/** Set by adoption on each pool and subnet it released from Spiderpool, with when. */
export const ADOPTED_ANNOTATION = 'underpin.dev/adopted-from-spiderpool';

/**
 * An object Spiderpool still holds: it carries Spiderpool's finalizer (its
 * controller puts it on every pool, subnet and endpoint) and adoption has not
 * released it. Until then its records count as in use and Underpin leaves its status
 * alone. Adoption marks the release with ADOPTED_ANNOTATION and swaps the finalizer
 * for Underpin's; a terminating pool keeps Spiderpool's (none may be added to it),
 * which Underpin then removes as its own once no claim is left.
 */
export function heldBySpiderpool(metadata: Pick<ObjectMeta, 'finalizers' | 'annotations'>): boolean {
  return (metadata.finalizers ?? []).includes(LEGACY_SPIDERPOOL_FINALIZER) && metadata.annotations?.[ADOPTED_ANNOTATION] === undefined;
}

const PoolAllocation = z.looseObject({
  pod: z.string().min(1),
  podUid: z.string().nullish(),
  interface: z.string().nullish(),
});
const PoolAllocations = z.record(z.string(), PoolAllocation);

function splitPodName(text: string): { namespace: string; podName: string } | undefined {
  const parts = text.split('/');
  return parts.length === 2 && parts[0] && parts[1] ? { namespace: parts[0], podName: parts[1] } : undefined;
}

/** `10.6.0.5`, or `10.6.0.5/16` as endpoints and annotations write it. */
function readAddress(text: string, family?: IPFamily) {
  return parseAddress(text.split('/')[0] ?? '', family);
}

/** A pool's `status.allocatedIPs`: address → `{pod: "namespace/name", podUid, interface?}`. */
export function readPoolAllocations(pool: string, allocatedIPs: string | null | undefined): RecordsRead {
  if (!allocatedIPs) return { records: [], problems: [] };
  const where = `SpiderIPPool ${pool} status.allocatedIPs`;
  let json: unknown;
  try {
    json = JSON.parse(allocatedIPs);
  } catch (error) {
    return { records: [], problems: [`${where} is not JSON (${(error as Error).message}); none of its entries can be read`] };
  }
  const parsed = PoolAllocations.safeParse(json);
  if (!parsed.success) {
    return { records: [], problems: [`${where} is not a map of address to {"pod": "namespace/name", "podUid": "…"}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`] };
  }
  const records: SpiderpoolRecord[] = [];
  const problems: string[] = [];
  for (const [text, entry] of Object.entries(parsed.data)) {
    const address = readAddress(text);
    const pod = splitPodName(entry.pod);
    if (!address.ok) problems.push(`${where}: key ${JSON.stringify(text)} is not an IP address`);
    else if (!pod) problems.push(`${where}[${text}].pod: ${JSON.stringify(entry.pod)} is not "namespace/name"`);
    else
      records.push({
        address: address.value,
        pool,
        ...pod,
        ...(entry.podUid ? { podUID: entry.podUid } : {}),
        ...(entry.interface ? { interface: entry.interface } : {}),
        source: 'pool-status',
      });
  }
  return { records, problems };
}

const Route = z.looseObject({ dst: z.string(), gw: z.string() });

/** One interface as SpiderEndpoint `status.current.ips[]` and the assigned-<nic> annotation write it. */
const InterfaceRecord = z.looseObject({
  interface: z.string().min(1),
  ipv4: z.string().nullish(),
  ipv6: z.string().nullish(),
  ipv4Pool: z.string().nullish(),
  ipv6Pool: z.string().nullish(),
  // The annotation's spelling.
  ipv4pool: z.string().nullish(),
  ipv6pool: z.string().nullish(),
  vlan: z.number().int().nullish(),
  cleanGateway: z.boolean().nullish(),
  routes: z.array(Route).nullish(),
});
type InterfaceRecord = z.infer<typeof InterfaceRecord>;

export const SpiderpoolEndpoint = z.looseObject({
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().min(1), uid: z.string().optional(), finalizers: z.array(z.string()).nullish(), labels: z.record(z.string(), z.string()).nullish() }),
  status: z
    .looseObject({
      current: z.looseObject({ uid: z.string().nullish(), node: z.string().nullish(), ips: z.array(z.unknown()).nullish() }).nullish(),
    })
    .nullish(),
});
export type SpiderpoolEndpoint = z.infer<typeof SpiderpoolEndpoint>;

function interfaceRecords(where: string, nic: InterfaceRecord, base: Omit<SpiderpoolRecord, 'address' | 'pool' | 'source'>, source: RecordSource): RecordsRead {
  const records: SpiderpoolRecord[] = [];
  const problems: string[] = [];
  for (const family of [4, 6] as const) {
    const text = family === 4 ? nic.ipv4 : nic.ipv6;
    if (!text) continue;
    const pool = (family === 4 ? (nic.ipv4Pool ?? nic.ipv4pool) : (nic.ipv6Pool ?? nic.ipv6pool)) ?? undefined;
    const field = `ipv${family}`;
    const address = readAddress(text, family);
    if (!address.ok) problems.push(`${where}.${field}: ${JSON.stringify(text)} is not an IPv${family} address`);
    else if (!pool) problems.push(`${where}.${field}Pool: missing, so ${text} names no pool`);
    else
      records.push({
        ...base,
        address: address.value,
        pool,
        interface: nic.interface,
        source,
        ...(nic.vlan != null ? { vlan: nic.vlan } : {}),
        ...(nic.cleanGateway != null ? { cleanGateway: nic.cleanGateway } : {}),
        ...(nic.routes ? { routes: nic.routes.map((r) => ({ dst: r.dst, gw: r.gw })) } : {}),
      });
  }
  return { records, problems };
}

function merge(reads: RecordsRead[]): RecordsRead {
  return { records: reads.flatMap((r) => r.records), problems: reads.flatMap((r) => r.problems) };
}

/** A SpiderEndpoint's `status.current.ips`, each interface's addresses with their pools. */
export function readEndpointRecords(endpoint: SpiderpoolEndpoint): RecordsRead {
  const { namespace, name } = endpoint.metadata;
  const current = endpoint.status?.current;
  if (!current?.ips) return { records: [], problems: [] };
  const base = { namespace, podName: name, ...(current.uid ? { podUID: current.uid } : {}) };
  return merge(
    current.ips.map((raw, index) => {
      const where = `SpiderEndpoint ${namespace}/${name} status.current.ips[${index}]`;
      const nic = InterfaceRecord.safeParse(raw);
      if (!nic.success) return { records: [], problems: [`${where}: ${nic.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`] };
      return interfaceRecords(where, nic.data, base, 'endpoint');
    }),
  );
}

export const ASSIGNED_ANNOTATION_PREFIX = 'ipam.spidernet.io/assigned-';

/** The pod's `ipam.spidernet.io/assigned-<nic>` annotations (written by Spiderpool's agent before v0.8). */
export function readAssignedAnnotations(pod: { namespace: string; name: string; uid: string; annotations: Readonly<Record<string, string>> }): RecordsRead {
  const base = { namespace: pod.namespace, podName: pod.name, podUID: pod.uid };
  return merge(
    Object.entries(pod.annotations)
      .filter(([key]) => key.startsWith(ASSIGNED_ANNOTATION_PREFIX))
      .map(([key, text]) => {
        const where = `pod ${pod.namespace}/${pod.name} annotation ${key}`;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (error) {
          return { records: [], problems: [`${where} is not JSON (${(error as Error).message})`] };
        }
        const nic = InterfaceRecord.safeParse(json);
        if (!nic.success) return { records: [], problems: [`${where}: ${nic.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`] };
        return interfaceRecords(where, nic.data, base, 'pod-annotation');
      }),
  );
}
