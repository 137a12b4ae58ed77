// Pod admission: decide a pod's addresses, lock them with IPClaims, and write the
// binding into the pod — or deny with the reason. The decisions are ipam/'s; this
// file orders them and does the I/O (claims), and undoes its claims on any failure.
import { randomBytes, createHash } from 'node:crypto';
import { familyName, formatAddress, type Address, type IPFamily } from '../ipam/address.js';
import { BINDING_ANNOTATION, BINDING_ID_LABEL, IGNORE_LABEL, bindingAddresses, decodeBinding, encodeBinding, type Binding, type InterfaceBinding } from '../ipam/binding.js';
import { chooseFreeAddress } from '../ipam/choose-address.js';
import { readMultusNetworks } from '../ipam/multus-networks.js';
import { constrainPod, nodeNameAllowed, PodPlacementSpec, poolNodeRequirements } from '../ipam/node-placement.js';
import { ANNOTATION, RoutesAnnotation, readJsonAnnotation } from '../ipam/pod-annotations.js';
import { assignPodRoutes } from '../ipam/pod-routes.js';
import type { RouteSpec } from '../ipam/underlay-block.js';
import { resolveInterfaceRequests, type InterfaceRequest, type PodNic } from '../ipam/pod-network-request.js';
import { poolCandidates, type CandidateContext, type PoolView } from '../ipam/pool-candidates.js';
import { Pod, podApplications, podController, statefulSetOrdinal } from '../ipam/pod.js';
import { findAutoPool } from '../ipam/auto-pool.js';
import { readAutoPoolRequest } from '../ipam/workload.js';
import { err, ok, type Result } from '../ipam/result.js';
import type { RangeSet } from '../ipam/range-set.js';
import { allow, deny, type AdmissionDecision, type AdmissionRequest, type PatchOperation } from './admission-review.js';
import type { ClaimRequest, ClaimStore, ReservedClaim } from './claim-store.js';
import type { ClaimView } from '../kube/underlay-cache.js';
import type { NamespaceView, NetworkView } from '../kube/pod-context-cache.js';

/** What pod admission needs to know of the cluster (informers in production, a fixture in tests). */
export interface PodAdmissionState {
  readonly hasSynced: boolean;
  poolViews(): ReadonlyMap<string, PoolView>;
  /** Namespaces and NetworkAttachmentDefinitions: cached, or read from the API when the cache has not seen them yet. */
  namespace(name: string): Promise<NamespaceView | undefined>;
  network(key: string): Promise<NetworkView | undefined>;
  /** Every pool, read from the API now: asked before denying for want of a pool, which may have been created a moment ago. */
  poolsFromAPI(): Promise<PoolView[]>;
  reservedSet(family: IPFamily): RangeSet;
  isClaimed(address: Address): boolean;
  claimsInPool(pool: string): number;
  claimsOfOrdinal(namespace: string, statefulSet: string, ordinal: number): ClaimView[];
  /** Auto pools of a namespace's applications, read from the API (the cache may lag a pool created a moment ago). */
  autoPoolsFromAPI(namespace: string): Promise<PoolView[]>;
  /** A node's labels, or undefined when there is no such node. (Asked of the API, only for pods that set spec.nodeName.) */
  nodeLabels(name: string): Promise<Record<string, string> | undefined>;
  /**
   * The addresses of `family` that updates of `pool` in flight are removing. Asked of
   * the API after an address was claimed, so it sees every removal recorded before the
   * claim (see UnderlayAdmissionState.fenceRemoval).
   */
  addressesLeavingPool(pool: string, family: IPFamily): Promise<RangeSet>;
  /** Does a pod carrying this binding id exist already? (Asked of the API, not a cache.) */
  podExistsWithBindingID(namespace: string, bindingID: string): Promise<boolean>;
  readonly claimStore: ClaimStore;
}

export interface PodAdmissionOptions {
  /** Users allowed to change a pod's binding after creation (Underpin's own service account). */
  trustedUsers: readonly string[];
  /** Pools (globs allowed) for pods that name none, from the settings; tried before pools with spec.default: true. */
  clusterDefaultPools?: { ipv4: readonly string[]; ipv6: readonly string[] };
  /** False when eth0 of the cluster network is another CNI's (setting clusterNetworkIPAM: other). Default true. */
  clusterNetworkIsUnderpin?: boolean;
}

/** How long after its claims were made a pod's own binding may come back to us (webhook reinvocation). */
const REINVOCATION_WINDOW_MS = 30_000;

const FAMILIES = [
  [4, 'ipv4'],
  [6, 'ipv6'],
] as const;

/** Addresses this replica is claiming right now or just claimed: taken until the informer shows them. */
class RecentClaims {
  private readonly until = new Map<string, number>();
  // Only to avoid racing ourselves until the informer shows the claim (milliseconds on a
  // healthy cluster); correctness rests on the claim's name, not on this.
  constructor(private readonly holdMs = 3_000) {}
  add(address: Address): void {
    this.until.set(`${address.family}/${address.value}`, Date.now() + this.holdMs);
  }
  delete(address: Address): void {
    this.until.delete(`${address.family}/${address.value}`);
  }
  has(address: Address): boolean {
    const key = `${address.family}/${address.value}`;
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.until.delete(key);
      return false;
    }
    return true;
  }
}

/**
 * This replica's answers to recent pod creations, by AdmissionReview uid. The API
 * server retries a webhook call that failed in transit (connection reset, EOF) with
 * the same review; had the first call already claimed addresses, answering the retry
 * afresh would claim a second set and leave the first to the orphan TTL. A retry
 * while the first call still runs waits for it. Only answers that bind are kept: a
 * denial or an error is worth deciding again.
 */
class RecentAnswers {
  private readonly answers = new Map<string, { until: number; answer: Promise<AdmissionDecision> }>();
  // The API server retries within one call's timeout (10 s at most for our webhooks).
  constructor(private readonly holdMs = 15_000) {}

  answer(uid: string, decide: () => Promise<AdmissionDecision>): Promise<AdmissionDecision> {
    const now = Date.now();
    // Entries expire in insertion order: drop the stale ones from the front.
    for (const [key, entry] of this.answers) {
      if (entry.until >= now) break;
      this.answers.delete(key);
    }
    const known = this.answers.get(uid);
    if (known) return known.answer;
    const answer = decide();
    this.answers.set(uid, { until: now + this.holdMs, answer });
    const forget = () => this.answers.delete(uid);
    answer.then((decision) => {
      if (!decision.allowed || !decision.patch?.length) forget();
    }, forget);
    return answer;
  }
}

const escapePath = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function podDisplayName(pod: Pod, namespace: string): string {
  return `pod ${namespace}/${pod.metadata.name || `${pod.metadata.generateName ?? ''}<generated>`}`;
}

interface Allocation {
  nic: InterfaceRequest;
  family: IPFamily;
  pool: PoolView;
  address: Address;
  /** A StatefulSet claim kept from the ordinal's previous pod: not created now, not rolled back. */
  retained: boolean;
}

class Denial extends Error {}

export class PodAdmission {
  private readonly recent = new RecentClaims();
  private readonly answers = new RecentAnswers();

  constructor(
    private readonly state: PodAdmissionState,
    private readonly options: PodAdmissionOptions,
  ) {}

  mutate(request: AdmissionRequest): Promise<AdmissionDecision> {
    if (request.operation !== 'CREATE') return Promise.resolve(allow());
    return this.answers.answer(request.uid, () => this.admit(request));
  }

  private async admit(request: AdmissionRequest): Promise<AdmissionDecision> {
    const parsed = Pod.safeParse(request.object);
    if (!parsed.success) return allow(); // not ours to judge: the API server validates pods
    const pod = parsed.data;
    const namespace = request.namespace ?? pod.metadata.namespace ?? 'default';
    const labels = pod.metadata.labels ?? {};
    const annotations = pod.metadata.annotations ?? {};
    if (labels[IGNORE_LABEL] === 'true') return allow();
    // Not sent when matchConditions work (NOT_HOST_NETWORK); never bound either way:
    // the node's network is not Underpin's to address.
    if (pod.spec.hostNetwork === true) return allow(this.stripForgedBinding(pod));
    if (!this.state.hasSynced) return deny('the Underpin webhook is still loading the cluster state; retry in a few seconds', 503, 'ServiceUnavailable');

    // A binding already on the pod is ours only when this is a reinvocation of the
    // same admission: its claims carry its id, in its namespace, bound to no pod yet.
    const existing = annotations[BINDING_ANNOTATION];
    if (existing !== undefined && (await this.isOwnPendingBinding(existing, labels[BINDING_ID_LABEL], namespace))) return allow();
    const strip = this.stripForgedBinding(pod);

    const nics = await this.podNics(annotations, namespace);
    if (!nics.ok) return deny(`${podDisplayName(pod, namespace)}: ${nics.error}`);
    const nsView = await this.state.namespace(namespace);
    // Auto pools (subnet annotations) come first in the selection order and decide
    // their NICs; the other sources apply to the remaining NICs.
    const auto = await this.autoPoolRequests(pod, namespace, nics.value);
    if (!auto.ok) return deny(`${podDisplayName(pod, namespace)}: ${auto.error}`);
    const requests = resolveInterfaceRequests({
      podAnnotations: annotations,
      namespaceAnnotations: nsView?.annotations ?? {},
      nics: nics.value,
      clusterDefaults: this.clusterDefaults(),
      decidedElsewhere: new Set(auto.value.requests.map((r) => r.interface)),
      clusterNetworkIsUnderpin: this.options.clusterNetworkIsUnderpin ?? true,
    });
    if (!requests.ok) return deny(`${podDisplayName(pod, namespace)}: ${requests.error}`);
    const allRequests = [...auto.value.requests, ...requests.value];
    if (allRequests.length === 0) return allow(strip);

    const sts = statefulSetOrdinal(pod);
    const bindingID = sts ? stableBindingID(namespace, sts.statefulSet, sts.ordinal) : randomBytes(12).toString('hex');
    const created: ReservedClaim[] = [];
    try {
      const allocations = await this.allocate(pod, namespace, allRequests, bindingID, nsView, created, request.dryRun === true, auto.value.pools);
      const placementSpec = PodPlacementSpec.safeParse(pod.spec);
      if (!placementSpec.success) throw new Denial(`spec.affinity: ${placementSpec.error.issues[0]?.message ?? 'malformed'}`);
      const placement = constrainPod(placementSpec.data, allocations.map((a) => ({ pool: a.pool.name, ...poolNodeRequirements(a.pool.spec) })));
      if (!placement.ok) throw new Denial(placement.error);
      await this.checkNamedNode(placementSpec.data.nodeName ?? undefined, allocations);
      const binding = this.bindingOf(bindingID, allRequests, allocations, annotations);
      if (!binding.ok) throw new Denial(binding.error);
      return allow([...strip, ...this.bindingPatch(pod, binding.value), ...placement.value.patch]);
    } catch (error) {
      await Promise.allSettled(created.map((reserved) => this.release(reserved)));
      if (error instanceof Denial) return deny(`${podDisplayName(pod, namespace)}: ${error.message}`, 403, 'Forbidden');
      throw error;
    }
  }

  /**
   * A pod that sets spec.nodeName skips the scheduler, and the kubelet refuses it when
   * its node affinity does not match the node's labels: tell at admission instead.
   * (Pools' node names are checked with the pod's affinity in constrainPod.)
   */
  private async checkNamedNode(nodeName: string | undefined, allocations: Allocation[]): Promise<void> {
    const withAffinity = allocations.filter((a) => a.pool.spec.nodeAffinity);
    if (!nodeName || withAffinity.length === 0) return;
    const labels = await this.state.nodeLabels(nodeName);
    if (!labels) return; // no such node (yet): the pod waits for it, and its affinity is checked then
    const refused = [...new Set(withAffinity.filter((a) => !nodeNameAllowed(nodeName, a.pool.spec, labels)).map((a) => a.pool.name))];
    if (refused.length > 0) {
      throw new Denial(
        `pod sets spec.nodeName: ${nodeName}, but ${refused.map((p) => `pool ${p}`).join(', ')} ${refused.length === 1 ? 'serves' : 'serve'} only nodes matching ${refused.length === 1 ? 'its' : 'their'} spec.nodeAffinity, and node ${nodeName}'s labels do not; remove spec.nodeName or use a pool that serves ${nodeName}`,
      );
    }
  }

  /** Binding annotation and label may only be changed by Underpin itself. */
  validateUpdate(request: AdmissionRequest): AdmissionDecision {
    if (request.operation !== 'UPDATE') return allow();
    const meta = (o: unknown) => (o as { metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> } } | null)?.metadata;
    const [before, after] = [meta(request.oldObject), meta(request.object)];
    const changed =
      before?.annotations?.[BINDING_ANNOTATION] !== after?.annotations?.[BINDING_ANNOTATION] ||
      before?.labels?.[BINDING_ID_LABEL] !== after?.labels?.[BINDING_ID_LABEL];
    if (!changed || this.options.trustedUsers.includes(request.userInfo.username ?? '')) return allow();
    return deny(
      `pod ${request.namespace}/${request.name}: metadata.annotations[${BINDING_ANNOTATION}] and metadata.labels[${BINDING_ID_LABEL}] are set by Underpin when the pod is created and cannot be changed; a pod keeps its addresses for life — delete and recreate it to get new ones`,
      403,
      'Forbidden',
    );
  }

  private async isOwnPendingBinding(text: string, bindingID: string | undefined, namespace: string): Promise<boolean> {
    const binding = decodeBinding(text);
    if (!binding || !bindingID || binding.id !== bindingID) return false;
    const addresses = bindingAddresses(binding);
    if (!addresses) return false;
    const claims = await Promise.all(addresses.map((address) => this.state.claimStore.get(address)));
    // A reinvocation comes within the same admission, moments after the claims were
    // made; an older unbound claim is a deleted pod's, and copying its binding must
    // not hand its address to whoever asks.
    const fresh = (c: { metadata: Record<string, unknown> }) => Date.now() - new Date(String(c.metadata.creationTimestamp ?? 0)).getTime() < REINVOCATION_WINDOW_MS;
    const claimsMatch = claims.length > 0 && claims.every((c) => c && c.spec.bindingID === bindingID && c.spec.namespace === namespace && !c.status?.podUID && fresh(c));
    // A copy of a live pod's binding matches its claims too until the reconciler binds
    // them; a reinvocation's pod, not created yet, is the only one that finds no pod.
    return claimsMatch && !(await this.state.podExistsWithBindingID(namespace, bindingID));
  }

  private stripForgedBinding(pod: Pod): PatchOperation[] {
    const ops: PatchOperation[] = [];
    if (pod.metadata.annotations?.[BINDING_ANNOTATION] !== undefined) ops.push({ op: 'remove', path: `/metadata/annotations/${escapePath(BINDING_ANNOTATION)}` });
    if (pod.metadata.labels?.[BINDING_ID_LABEL] !== undefined) ops.push({ op: 'remove', path: `/metadata/labels/${escapePath(BINDING_ID_LABEL)}` });
    return ops;
  }

  /** The NICs whose addresses come from the application's auto pools. */
  private async autoPoolRequests(pod: Pod, namespace: string, nics: PodNic[]): Promise<Result<{ requests: InterfaceRequest[]; pools: PoolView[] }, string>> {
    const auto = readAutoPoolRequest(pod.metadata.annotations ?? {});
    if (!auto.ok) return auto;
    if (!auto.value) return ok({ requests: [], pools: [] });
    const apps = podApplications(pod, namespace);
    if (apps.length === 0) {
      return err(`annotation ${ANNOTATION.subnets}: auto pools belong to applications (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob); a bare pod names its pools with ${ANNOTATION.ippools}`);
    }
    const requests: InterfaceRequest[] = [];
    const fetched: PoolView[] = [];
    for (const nic of auto.value.nics) {
      if (!nics.some((n) => n.interface === nic.interface)) {
        return err(`annotation ${ANNOTATION.subnets}: interface "${nic.interface}" is not a NIC of this pod (it has ${nics.map((n) => n.interface).join(', ')})`);
      }
      const request: InterfaceRequest = { interface: nic.interface, ipv4: [], ipv6: [], source: 'subnet', ...networkOf(nics, nic.interface) };
      for (const [family, key] of FAMILIES) {
        if (!nic[key]) continue;
        let pool = apps.map((app) => findAutoPool(this.state.poolViews().values(), app, nic.interface, family)).find(Boolean);
        if (!pool) {
          const live = await this.state.autoPoolsFromAPI(namespace);
          fetched.push(...live);
          pool = apps.map((app) => findAutoPool(live, app, nic.interface, family)).find(Boolean);
        }
        if (!pool) {
          const app = apps[0]!;
          return err(
            `no ${familyName(family)} auto pool for ${app.kind} ${namespace}/${app.name} interface ${nic.interface} (subnet ${nic[key]}): Underpin creates it when the application is applied — re-apply the ${app.kind} (it may predate Underpin)`,
          );
        }
        request[key] = [pool.name];
      }
      requests.push(request);
    }
    return ok({ requests, pools: fetched });
  }

  private async podNics(annotations: Record<string, string>, namespace: string) {
    const attachments = readMultusNetworks(annotations, namespace);
    if (!attachments.ok) return attachments;
    const nics: PodNic[] = [];
    if (!attachments.value.some((a) => a.interface === 'eth0')) nics.push({ interface: 'eth0' });
    for (const a of attachments.value) {
      const key = `${a.network.namespace}/${a.network.name}`;
      const ipam = (await this.state.network(key))?.underpinIPAM;
      nics.push({ interface: a.interface, network: key, ...(ipam ? { underpinIPAM: ipam } : {}) });
    }
    return { ok: true as const, value: nics };
  }

  /** The configured cluster defaults in their order, then pools marked spec.default: true by name. */
  private clusterDefaults() {
    const marked = { ipv4: [] as string[], ipv6: [] as string[] };
    for (const pool of this.state.poolViews().values()) {
      if (pool.spec.default) marked[pool.block.family === 4 ? 'ipv4' : 'ipv6'].push(pool.name);
    }
    const configured = this.options.clusterDefaultPools ?? { ipv4: [], ipv6: [] };
    const merge = (first: readonly string[], then: string[]) => [...first, ...then.sort().filter((name) => !first.includes(name))];
    return { ipv4: merge(configured.ipv4, marked.ipv4), ipv6: merge(configured.ipv6, marked.ipv6) };
  }

  private async allocate(
    pod: Pod,
    namespace: string,
    requests: InterfaceRequest[],
    bindingID: string,
    nsView: NamespaceView | undefined,
    created: ReservedClaim[],
    dryRun: boolean,
    extraPools: readonly PoolView[],
  ): Promise<Allocation[]> {
    const cached = this.state.poolViews();
    // Auto pools read from the API a moment ago may not be cached yet.
    const pools = extraPools.length === 0 ? cached : new Map([...cached, ...extraPools.map((p) => [p.name, p] as const)]);
    const sts = statefulSetOrdinal(pod);
    const owner = podController(pod);
    const retained = sts ? this.state.claimsOfOrdinal(namespace, sts.statefulSet, sts.ordinal) : [];
    const jobs = requests.flatMap((nic) =>
      FAMILIES.filter(([, key]) => nic[key].length > 0).map(([family, key]) => async (): Promise<Allocation> => {
        const ctx: CandidateContext = {
          namespace,
          namespaceLabels: nsView?.labels ?? {},
          podLabels: pod.metadata.labels ?? {},
          ...(nic.network ? { network: nic.network } : {}),
          ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
        };
        let candidates = poolCandidates(nic[key], family, pools, ctx);
        if (candidates.unknown.length > 0 || candidates.pools.length === 0) {
          // Applied together with the pod (one kubectl apply), a pool can reach us
          // before its watch event: look at the API before denying for want of one.
          const live = await this.state.poolsFromAPI();
          candidates = poolCandidates(nic[key], family, new Map([...pools, ...live.map((p) => [p.name, p] as const)]), ctx);
        }
        if (candidates.unknown.length > 0) {
          const which = candidates.unknown.map((n) => `"${n}"`).join(', ');
          throw new Denial(`${familyName(family)} pool ${which} for interface ${nic.interface} does not exist (named by ${sourceName(nic)}); create it or fix the name`);
        }
        // A StatefulSet pod gets its ordinal's address back while its pool still holds it.
        const kept = retained.find((c) => c.spec.interface === nic.interface && c.inUse.address.family === family && candidates.pools.some((p) => p.name === c.spec.pool));
        if (kept) {
          const pool = candidates.pools.find((p) => p.name === kept.spec.pool)!;
          if (pool.block.usable.containsAddress(kept.inUse.address)) return { nic, family, pool, address: kept.inUse.address, retained: true };
        }
        const full: string[] = [];
        for (const pool of candidates.pools) {
          const address = await this.claimIn(pool, family, {
            pool: pool.name,
            interface: nic.interface,
            namespace,
            bindingID,
            ...(pod.metadata.name ? { podName: pod.metadata.name } : {}),
            ...(owner ? { owner: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid } } : {}),
            ...(sts ? { statefulSetOrdinal: sts.ordinal } : {}),
          }, created, dryRun, `${bindingID}/${nic.interface}`);
          if (address) return { nic, family, pool, address, retained: false };
          full.push(`${pool.name} has no free ${familyName(family)} address (${this.state.claimsInPool(pool.name)} of ${this.capacity(pool, family)} in use)`);
        }
        const skipped = candidates.skipped.map((s) => `${s.pool} ${s.reason}`);
        const why = [...full, ...skipped].join('; ') || `no pool matches ${nic[key].join(', ')}`;
        throw new Denial(`no ${familyName(family)} address for interface ${nic.interface}: ${why}; ${full.length > 0 ? 'free an address or add addresses to the pool' : `fix ${sourceName(nic)}`}`);
      }),
    );
    const results = await Promise.allSettled(jobs.map((job) => job()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return results.map((r) => (r as PromiseFulfilledResult<Allocation>).value);
  }

  private capacity(pool: PoolView, family: IPFamily): string {
    return pool.block.usable.difference(this.state.reservedSet(family)).count().toString();
  }

  /** Claim a free address of `pool`; undefined when the pool is full. */
  private async claimIn(pool: PoolView, family: IPFamily, claim: Omit<ClaimRequest, 'address'>, created: ReservedClaim[], dryRun: boolean, seed: string): Promise<Address | undefined> {
    let available = pool.block.usable.difference(this.state.reservedSet(family));
    const lost = new Set<bigint>();
    for (;;) {
      const address = chooseFreeAddress(available, (a) => lost.has(a.value) || this.state.isClaimed(a) || this.recent.has(a), seed);
      if (!address) return undefined;
      if (dryRun) return address;
      this.recent.add(address);
      const reserved = await this.state.claimStore.reserve({ ...claim, address });
      if (!reserved) {
        lost.add(address.value); // another replica claimed it first: take the next
        continue;
      }
      // Recorded before the fence read, so a failure there still rolls the claim back.
      created.push(reserved);
      const leaving = await this.state.addressesLeavingPool(pool.name, family);
      if (!leaving.containsAddress(address)) return address;
      // A pool update is taking this address (and maybe more) out of the pool: give it
      // back and choose again from what stays.
      await this.release(reserved);
      created.splice(created.indexOf(reserved), 1);
      available = available.difference(leaving);
    }
  }

  private async release(reserved: ReservedClaim): Promise<void> {
    this.recent.delete(reserved.address);
    await this.state.claimStore.release(reserved.address, reserved.uid);
  }

  private bindingOf(id: string, requests: InterfaceRequest[], allocations: Allocation[], annotations: Record<string, string>) {
    let podRoutes: RouteSpec[] = [];
    const routesText = annotations[ANNOTATION.routes];
    if (routesText !== undefined) {
      const parsed = readJsonAnnotation(ANNOTATION.routes, routesText, RoutesAnnotation);
      if (!parsed.ok) return parsed;
      podRoutes = parsed.value;
    }
    const nicAllocations = (nic: InterfaceRequest) => allocations.filter((a) => a.nic === nic);
    // Pod-level routes go to the NIC whose subnet holds their next hop.
    const routed = assignPodRoutes(
      `annotation ${ANNOTATION.routes}`,
      podRoutes,
      requests.map((nic) => ({ interface: nic.interface, subnets: nicAllocations(nic).map((a) => a.pool.block.cidr) })),
    );
    if (!routed.ok) return routed;
    const interfaces: InterfaceBinding[] = requests.map((nic) => {
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
    const defaultNic = annotations[ANNOTATION.defaultRouteNic];
    if (defaultNic !== undefined && !interfaces.some((i) => i.interface === defaultNic)) {
      return { ok: false as const, error: `annotation ${ANNOTATION.defaultRouteNic}: "${defaultNic}" is not one of the pod's Underpin NICs (${interfaces.map((i) => i.interface).join(', ')})` };
    }
    const binding: Binding = { version: 1, id, interfaces, ...(defaultNic ? { defaultRouteInterface: defaultNic } : {}) };
    return { ok: true as const, value: binding };
  }

  private bindingPatch(pod: Pod, binding: Binding): PatchOperation[] {
    const ops: PatchOperation[] = [];
    if (!pod.metadata.annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: {} });
    ops.push({ op: 'add', path: `/metadata/annotations/${escapePath(BINDING_ANNOTATION)}`, value: encodeBinding(binding) });
    if (!pod.metadata.labels) ops.push({ op: 'add', path: '/metadata/labels', value: {} });
    ops.push({ op: 'add', path: `/metadata/labels/${escapePath(BINDING_ID_LABEL)}`, value: binding.id });
    return ops;
  }
}

function networkOf(nics: PodNic[], name: string): { network?: string } {
  const network = nics.find((n) => n.interface === name)?.network;
  return network ? { network } : {};
}

function sourceName(nic: InterfaceRequest): string {
  switch (nic.source) {
    case 'subnet':
      return `the application's auto pool (annotation ${ANNOTATION.subnets})`;
    case 'ippools':
      return `annotation ${ANNOTATION.ippools}`;
    case 'ippool':
      return `annotation ${ANNOTATION.ippool}`;
    case 'namespace':
      return `the namespace's ${ANNOTATION.namespaceDefaultIPv4}/${ANNOTATION.namespaceDefaultIPv6}`;
    case 'network':
      return `the IPAM config of network ${nic.network}`;
    case 'cluster-default':
      return 'the cluster default pools (settings clusterDefaultIPv4IPPool/clusterDefaultIPv6IPPool, then pools with spec.default: true)';
  }
}

/** A StatefulSet ordinal keeps one binding id across its pods, so its retained claims match. */
function stableBindingID(namespace: string, statefulSet: string, ordinal: number): string {
  return `s${createHash('sha256').update(`${namespace}/${statefulSet}/${ordinal}`).digest('hex').slice(0, 23)}`;
}

