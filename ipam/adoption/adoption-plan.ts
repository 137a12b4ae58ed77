// Adoption of a running Spiderpool cluster, pure: from Spiderpool's records (pool
// status, SpiderEndpoints, pod annotations), the live pods and Underpin's claims,
// which pods to adopt (their binding and claims), what cannot be adopted and why,
// and which pools Spiderpool no longer needs to hold.
//
// The rules, each for "never a second owner, never a lost address":
// - A record counts only for a live pod: the pod of that name exists, has the
//   record's uid (when the record names one) and has not finished.
// - A pod is adopted whole or not at all: every address its records give, each in
//   the pool that record names and inside it, one address per interface and family.
// - Two live pods recorded for one address: the pod the pool's own status names
//   keeps it (that entry was Spiderpool's allocation lock); the other is not adopted.
// - An address Underpin already claimed for another binding is that binding's.
// - A pool Spiderpool holds is released once every live pod it records is adopted;
//   while one is not, the pool stays held and its recorded addresses stay in use.
import { createHash } from 'node:crypto';
import { formatAddress, type Address } from '../address.js';
import type { Binding, InterfaceBinding } from '../binding.js';
import type { ClaimRequest } from '../claim-store.js';
import type { OwnerReference } from '../object-meta.js';
import type { PoolView } from '../pool-candidates.js';
import { podController, statefulSetOrdinal, type Pod } from '../pod.js';
import { podBindingID } from '../statefulset-retention.js';
import { readAssignedAnnotations, readEndpointRecords, readPoolAllocations, type SpiderpoolEndpoint, type SpiderpoolRecord } from './spiderpool-records.js';

export interface AdoptionPod {
  namespace: string;
  name: string;
  uid: string;
  phase?: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  ownerReferences: readonly OwnerReference[];
  /** The pod's `underpin.dev/binding-id` label, when Underpin bound it already. */
  bindingID?: string;
}

/** Underpin's claim on an address, as adoption reads it. */
export interface ClaimHolder {
  namespace: string;
  bindingID: string;
}

export interface PoolStatusSource {
  name: string;
  /** Still carries Spiderpool's finalizer. */
  held: boolean;
  allocatedIPs?: string | null;
}

export interface AdoptionInputs {
  /** Every pool that parses, by name. */
  pools: ReadonlyMap<string, PoolView>;
  poolStatus: readonly PoolStatusSource[];
  /** SpiderEndpoints Spiderpool wrote (not Underpin's own). */
  endpoints: readonly SpiderpoolEndpoint[];
  /** Pods by `namespace/name`. */
  pods: ReadonlyMap<string, AdoptionPod>;
  claimAt: (address: Address) => ClaimHolder | undefined;
  /** The SpiderReservedIP holding the address, if any. */
  reservedBy: (address: Address) => string | undefined;
}

export interface PodAdoption {
  pod: AdoptionPod;
  bindingID: string;
  binding: Binding;
  claims: ClaimRequest[];
  /** What is still to write: claims missing, and whether the pod needs its binding. */
  missingClaims: ClaimRequest[];
  needsBinding: boolean;
}

export type FindingKind = 'pod-gone' | 'unreadable' | 'outside-pool' | 'reserved' | 'no-interface' | 'records-disagree' | 'conflict' | 'bound-by-underpin';

export interface AdoptionFinding {
  kind: FindingKind;
  message: string;
  pool?: string;
  pod?: { namespace: string; name: string; uid?: string };
  /** True when it keeps a live pod from adoption (and its pools held). */
  blocking: boolean;
}

export interface AdoptionPlan {
  adopt: PodAdoption[];
  findings: AdoptionFinding[];
  /** Held pools whose live pods are all adopted: Spiderpool's finalizer may go. */
  releasable: string[];
  /** Held pools that stay held for now, each with why; `blocked` when a pod cannot be adopted (else it is being adopted). */
  waiting: { pool: string; reason: string; blocked: boolean }[];
}

const podKey = (namespace: string, name: string) => `${namespace}/${name}`;
const addressKey = (a: Address) => `${a.family}/${a.value}`;
const describe = (r: SpiderpoolRecord) => `${formatAddress(r.address)} (pool ${r.pool}, from ${r.source === 'pool-status' ? 'the pool status' : r.source === 'endpoint' ? 'SpiderEndpoint' : 'the assigned- annotation'})`;

/** The binding id an adopted pod gets: a StatefulSet ordinal's own (so retention matches), else one derived from the pod's uid (so a retry writes the same). */
export function adoptedBindingID(pod: AdoptionPod): string {
  const ordinal = statefulSetOrdinal(asPod(pod));
  if (ordinal) return podBindingID(pod.namespace, ordinal);
  return `a${createHash('sha256').update(pod.uid).digest('hex').slice(0, 23)}`;
}

function asPod(pod: AdoptionPod): Pod {
  return { metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels }, ownerReferences: [...pod.ownerReferences] }, spec: {} };
}

function isLive(pod: AdoptionPod | undefined, record: SpiderpoolRecord): pod is AdoptionPod {
  if (!pod) return false;
  if (record.podUID && record.podUID !== pod.uid) return false;
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** Interfaces in the order pods name them: eth0 (the default network) first. */
function nicOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'eth0') return -1;
  if (b === 'eth0') return 1;
  return a < b ? -1 : 1;
}

export function planAdoption(inputs: AdoptionInputs): AdoptionPlan {
  const findings: AdoptionFinding[] = [];
  const all: SpiderpoolRecord[] = [];
  const read = (result: { records: SpiderpoolRecord[]; problems: string[] }, pool?: string) => {
    all.push(...result.records);
    for (const message of result.problems) findings.push({ kind: 'unreadable', message, ...(pool ? { pool } : {}), blocking: false });
  };
  for (const pool of inputs.poolStatus) if (pool.held) read(readPoolAllocations(pool.name, pool.allocatedIPs), pool.name);
  for (const endpoint of inputs.endpoints) read(readEndpointRecords(endpoint));
  for (const pod of inputs.pods.values()) read(readAssignedAnnotations(pod));

  // Live records by pod; records of pods that are gone are only reported.
  const byPod = new Map<string, { pod: AdoptionPod; records: SpiderpoolRecord[] }>();
  const reportedGone = new Set<string>();
  for (const record of all) {
    const pod = inputs.pods.get(podKey(record.namespace, record.podName));
    if (!isLive(pod, record)) {
      const key = `${addressKey(record.address)}|${record.namespace}/${record.podName}`;
      if (!reportedGone.has(key)) {
        reportedGone.add(key);
        findings.push({
          kind: 'pod-gone',
          message: `${describe(record)} is recorded for pod ${record.namespace}/${record.podName}${record.podUID ? ` (uid ${record.podUID})` : ''}, which is gone or finished: not adopted, the address is free once its pool is adopted`,
          pool: record.pool,
          pod: { namespace: record.namespace, name: record.podName, ...(record.podUID ? { uid: record.podUID } : {}) },
          blocking: false,
        });
      }
      continue;
    }
    const entry = byPod.get(pod.uid) ?? { pod, records: [] };
    entry.records.push(record);
    byPod.set(pod.uid, entry);
  }

  // Which live pods each address is recorded for, and who its pool's status names.
  const holders = new Map<string, Set<string>>();
  const poolStatusHolder = new Map<string, string>();
  for (const [uid, { records }] of byPod) {
    for (const r of records) {
      const key = addressKey(r.address);
      holders.set(key, (holders.get(key) ?? new Set()).add(uid));
      if (r.source === 'pool-status') poolStatusHolder.set(key, uid);
    }
  }

  const adopt: PodAdoption[] = [];
  const blockedPools = new Map<string, string>();
  const block = (pool: string, reason: string) => blockedPools.has(pool) || blockedPools.set(pool, reason);

  for (const [uid, { pod, records }] of byPod) {
    const who = `pod ${pod.namespace}/${pod.name}`;
    const refuse = (kind: FindingKind, message: string, pool?: string) => {
      findings.push({ kind, message: `${who}: ${message}`, ...(pool ? { pool } : {}), pod: { namespace: pod.namespace, name: pod.name, uid }, blocking: kind !== 'bound-by-underpin' });
      if (kind !== 'bound-by-underpin') for (const r of records) block(r.pool, `${who} is not adopted: ${message}`);
    };
    const bindingID = adoptedBindingID(pod);
    if (pod.bindingID !== undefined && pod.bindingID !== bindingID) {
      refuse('bound-by-underpin', `already has an Underpin binding (${pod.bindingID}); its Spiderpool records are not used`);
      continue;
    }
    const result = podEntries(pod, records, inputs, holders, poolStatusHolder, bindingID);
    if (!result.ok) {
      refuse(result.kind, result.message, result.pool);
      continue;
    }
    const claims = result.entries.map((e): ClaimRequest => claimRequest(pod, bindingID, e));
    const missingClaims = claims.filter((c) => !inputs.claimAt(c.address));
    adopt.push({ pod, bindingID, binding: bindingOf(bindingID, result.entries), claims, missingClaims, needsBinding: pod.bindingID === undefined });
  }

  const pending = new Map<string, string>();
  for (const a of adopt) {
    if (a.missingClaims.length === 0 && !a.needsBinding) continue;
    for (const c of a.claims) if (!pending.has(c.pool)) pending.set(c.pool, `pod ${a.pod.namespace}/${a.pod.name} is being adopted`);
  }
  const releasable: string[] = [];
  const waiting: AdoptionPlan['waiting'] = [];
  for (const pool of inputs.poolStatus) {
    if (!pool.held) continue;
    const blocked = blockedPools.get(pool.name);
    const reason = blocked ?? pending.get(pool.name);
    if (reason) waiting.push({ pool: pool.name, reason, blocked: blocked !== undefined });
    else releasable.push(pool.name);
  }
  return { adopt, findings, releasable, waiting };
}

const SOURCE_RANK: Record<SpiderpoolRecord['source'], number> = { endpoint: 0, 'pod-annotation': 1, 'pool-status': 2 };

interface Entry {
  interface: string;
  address: Address;
  pool: PoolView;
  record: SpiderpoolRecord;
}

type EntriesResult = { ok: true; entries: Entry[] } | { ok: false; kind: FindingKind; message: string; pool?: string };

/** One address per interface and family, each checked against its pool, the other records and Underpin's claims. */
function podEntries(
  pod: AdoptionPod,
  records: readonly SpiderpoolRecord[],
  inputs: AdoptionInputs,
  holders: ReadonlyMap<string, ReadonlySet<string>>,
  poolStatusHolder: ReadonlyMap<string, string>,
  bindingID: string,
): EntriesResult {
  // The per-pod records first (they carry interface, routes, cleanGateway); a pool entry joins the record of its address.
  const sorted = [...records].sort((a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source]);
  const byNic = new Map<string, Entry>();
  const byAddress = new Map<string, Entry>();
  for (const record of sorted) {
    const aKey = addressKey(record.address);
    const known = byAddress.get(aKey);
    if (known) {
      if (known.pool.name !== record.pool) return { ok: false, kind: 'records-disagree', message: `${formatAddress(record.address)} is recorded in pool ${known.pool.name} and in pool ${record.pool}`, pool: record.pool };
      if (record.interface !== undefined && record.interface !== known.interface) {
        return { ok: false, kind: 'records-disagree', message: `${formatAddress(record.address)} is recorded on interface ${known.interface} and on ${record.interface}`, pool: record.pool };
      }
      continue;
    }
    if (record.interface === undefined) {
      return { ok: false, kind: 'no-interface', message: `${describe(record)} names no interface, and no SpiderEndpoint or assigned- annotation of the pod does; recreate the pod (its controller gives it an address through Underpin)`, pool: record.pool };
    }
    const pool = inputs.pools.get(record.pool);
    if (!pool || pool.block.family !== record.address.family || !pool.block.usable.containsAddress(record.address)) {
      const why = !pool ? `pool ${record.pool} does not exist` : `pool ${record.pool} does not hold it (spec.ips − spec.excludeIPs)`;
      return { ok: false, kind: 'outside-pool', message: `${describe(record)} is outside any pool: ${why}; add the address to a pool, or recreate the pod`, pool: record.pool };
    }
    const reserved = inputs.reservedBy(record.address);
    if (reserved) return { ok: false, kind: 'reserved', message: `${describe(record)} is reserved by SpiderReservedIP ${reserved}; remove it from there, or recreate the pod`, pool: record.pool };
    const nicKey = `${record.interface}/${record.address.family}`;
    const other = byNic.get(nicKey);
    if (other) {
      return { ok: false, kind: 'records-disagree', message: `interface ${record.interface} is recorded with IPv${record.address.family} ${formatAddress(other.address)} and ${formatAddress(record.address)}`, pool: record.pool };
    }
    const pods = holders.get(aKey) ?? new Set();
    if (pods.size > 1) {
      const keeper = poolStatusHolder.get(aKey);
      if (keeper !== pod.uid) {
        const names = [...pods].filter((uid) => uid !== pod.uid).map((uid) => [...inputs.pods.values()].find((p) => p.uid === uid)).map((p) => (p ? `${p.namespace}/${p.name}` : '?'));
        const rest = keeper && pods.has(keeper) ? 'pool status names the other pod, which keeps it' : 'no pool status entry says which pod holds it, so neither is adopted';
        return { ok: false, kind: 'conflict', message: `${formatAddress(record.address)} is recorded for this pod and for ${names.join(', ')}: the ${rest}; delete this pod so its controller recreates it with a fresh address`, pool: record.pool };
      }
    }
    const claim = inputs.claimAt(record.address);
    if (claim && (claim.bindingID !== bindingID || claim.namespace !== pod.namespace)) {
      return { ok: false, kind: 'conflict', message: `${formatAddress(record.address)} is already claimed by Underpin for another pod (ipclaim binding ${claim.namespace}/${claim.bindingID}); delete this pod so its controller recreates it with a fresh address`, pool: record.pool };
    }
    const entry: Entry = { interface: record.interface, address: record.address, pool, record };
    byNic.set(nicKey, entry);
    byAddress.set(aKey, entry);
  }
  return { ok: true, entries: [...byNic.values()].sort((a, b) => nicOrder(a.interface, b.interface) || a.address.family - b.address.family) };
}

function claimRequest(pod: AdoptionPod, bindingID: string, entry: Entry): ClaimRequest {
  const view = asPod(pod);
  const owner = podController(view);
  const ordinal = statefulSetOrdinal(view);
  return {
    address: entry.address,
    pool: entry.pool.name,
    interface: entry.interface,
    namespace: pod.namespace,
    bindingID,
    podName: pod.name,
    ...(owner ? { owner: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid } } : {}),
    ...(ordinal ? { statefulSetOrdinal: ordinal.ordinal } : {}),
  };
}

/** The binding Underpin would have written: each address with its pool's prefix, gateway and VLAN; the routes Spiderpool recorded, else the pool's. */
function bindingOf(id: string, entries: readonly Entry[]): Binding {
  const nics = [...new Set(entries.map((e) => e.interface))].sort(nicOrder);
  const interfaces = nics.map((name): InterfaceBinding => {
    const mine = entries.filter((e) => e.interface === name);
    const nic: InterfaceBinding = { interface: name, routes: [] };
    for (const e of mine) {
      const block = e.pool.block;
      const vlan = block.vlan ?? e.record.vlan;
      nic[e.address.family === 4 ? 'ipv4' : 'ipv6'] = {
        address: `${formatAddress(e.address)}/${block.cidr.prefixLength}`,
        pool: e.pool.name,
        ...(block.gateway ? { gateway: formatAddress(block.gateway) } : {}),
        ...(vlan !== undefined ? { vlan } : {}),
      };
      const routes = e.record.routes ?? block.routes.map((r) => ({ dst: r.dst.text, gw: formatAddress(r.gw) }));
      for (const route of routes) if (!nic.routes.some((r) => r.dst === route.dst && r.gw === route.gw)) nic.routes.push(route);
      if (e.record.cleanGateway !== undefined) nic.cleanGateway = e.record.cleanGateway;
    }
    return nic;
  });
  return { version: 1, id, interfaces };
}
