// Controller: adopts a running Spiderpool cluster (ipam/adoption/adoption-plan.ts
// decides). While any pool or subnet is still held by Spiderpool it passes every few
// seconds: it lists pods and Spiderpool's SpiderEndpoints, creates the IPClaims of
// each live pod Spiderpool addressed, writes the pod's binding and label (this
// process's identity is the one the pod webhook trusts with them), lets Spiderpool's
// record of an adopted pod go, and releases each pool whose live pods are all
// adopted: annotation underpin.dev/adopted-from-spiderpool, Underpin's finalizer on,
// Spiderpool's off. Whatever cannot be adopted is a Warning Event naming the pod,
// the address and the fix; its pools stay held, so their recorded addresses stay in
// use. Once nothing is held a pass is a look at the cache. Runs in the leader only.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { planAdoption, type AdoptionFinding, type AdoptionPlan, type AdoptionPod, type PodAdoption } from '../ipam/adoption/adoption-plan.js';
import { ADOPTED_ANNOTATION, heldBySpiderpool, SpiderpoolEndpoint } from '../ipam/adoption/spiderpool-records.js';
import { formatAddress } from '../ipam/address.js';
import { BINDING_ID_LABEL, bindingPatch, pointerToken } from '../ipam/binding.js';
import type { ClaimRequest } from '../ipam/claim-store.js';
import { APIClaimStore } from '../kube/api-claim-store.js';
import { ADDRESSES_IN_USE_FINALIZER, LEGACY_SPIDERPOOL_FINALIZER, OwnerReference } from '../ipam/object-meta.js';
import { apiStatus } from '../kube/api-status.js';
import { customObject, SPIDER_ENDPOINT, SPIDER_IPPOOL, SPIDER_SUBNET, type ResourceKind } from '../kube/resources.js';
import type { UnderlayCache } from '../kube/underlay-cache.js';
import { z } from 'zod';
import { EventThrottle, type EventToRecord } from './events.js';
import { removeFinalizersPatch } from './finalizer-patch.js';

export interface SpiderpoolAdoptionOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  underlay: UnderlayCache;
  recordEvent: (event: EventToRecord) => Promise<void>;
  /** How often a pass runs while anything is held (default 5 s). */
  intervalMs?: number;
}

export const ADOPTED_REASON = 'AdoptedFromSpiderpool';
export const NOT_ADOPTED_REASON = 'SpiderpoolAdoptionBlocked';
export const UNREADABLE_REASON = 'SpiderpoolRecordUnreadable';


/** The part of a pod adoption reads, validated at the edge. */
const AdoptionPodObject = z.looseObject({
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1),
    uid: z.string().min(1),
    labels: z.record(z.string(), z.string()).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
    ownerReferences: z.array(OwnerReference).nullish(),
  }),
  spec: z.looseObject({ hostNetwork: z.boolean().nullish() }).nullish(),
  status: z.looseObject({ phase: z.string().nullish() }).nullish(),
});

/** A pass's outcome, for the log and the tests. */
export interface AdoptionProgress {
  held: number;
  adoptedPods: number;
  releasedPools: string[];
  waiting: AdoptionPlan['waiting'];
  findings: AdoptionFinding[];
}

export class SpiderpoolAdoptionController {
  private readonly core: CoreV1Api;
  private readonly api: CustomObjectsApi;
  private readonly claims: APIClaimStore;
  private readonly log: Logger;
  private readonly throttle = new EventThrottle(10 * 60_000);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The last pass's outcome. */
  progress: AdoptionProgress | undefined;

  constructor(private readonly options: SpiderpoolAdoptionOptions) {
    this.log = options.log.child({ controller: 'spiderpool-adoption' });
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.claims = new APIClaimStore(options.kubeConfig);
  }

  async start(): Promise<void> {
    await this.options.underlay.start();
    if (this.stopped) return;
    const tick = () => {
      if (this.stopped || this.running) return;
      this.running = this.pass()
        .then(() => undefined)
        .catch((error: unknown) => this.log.warn({ err: error }, 'adoption pass failed; retrying'))
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs ?? 5000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.options.underlay.stop();
  }

  private heldCount(): number {
    const { pools, subnets } = this.options.underlay;
    let held = 0;
    for (const record of [...pools.values(), ...subnets.values()]) if (heldBySpiderpool(record.metadata)) held++;
    return held;
  }

  /** One look at the cluster, and the writes it calls for. */
  async pass(): Promise<AdoptionProgress | undefined> {
    const held = this.heldCount();
    if (held === 0) return undefined;
    const { underlay } = this.options;
    const [pods, endpoints] = await Promise.all([this.listPods(), this.listSpiderpoolEndpoints()]);
    const plan = planAdoption({
      pools: underlay.poolViews(),
      poolStatus: [...underlay.pools.values()].map((p) => ({ name: p.metadata.name, held: heldBySpiderpool(p.metadata), allocatedIPs: p.status?.allocatedIPs ?? null })),
      endpoints,
      pods,
      claimAt: (address) => {
        const claim = underlay.claimAt(address);
        return claim && { namespace: claim.spec.namespace, bindingID: claim.spec.bindingID };
      },
      reservedBy: (address) => underlay.reservedBy(address),
    });

    let adoptedPods = 0;
    for (const adoption of plan.adopt) {
      if (adoption.missingClaims.length === 0 && !adoption.needsBinding) continue;
      if (await this.adoptPod(adoption)) adoptedPods++;
    }
    // A pod adopted in an earlier pass: Spiderpool's record of it may go now.
    const complete = new Set(plan.adopt.filter((a) => a.missingClaims.length === 0 && !a.needsBinding).map((a) => `${a.pod.namespace}/${a.pod.name}`));
    const livePodKeys = new Set(pods.keys());
    for (const endpoint of endpoints) {
      const key = `${endpoint.metadata.namespace}/${endpoint.metadata.name}`;
      const gone = !livePodKeys.has(key) || (endpoint.status?.current?.uid && endpoint.status.current.uid !== pods.get(key)?.uid);
      if (complete.has(key) || gone) await this.releaseEndpoint(endpoint, Boolean(gone));
    }
    for (const pool of plan.releasable) await this.release(SPIDER_IPPOOL, pool, plan);
    this.releaseSubnets();
    await this.report(plan);

    this.progress = { held, adoptedPods, releasedPools: plan.releasable, waiting: plan.waiting, findings: plan.findings };
    this.log.info(
      { held, adoptedPods, releasedPools: plan.releasable.length, waiting: plan.waiting.length, findings: plan.findings.length },
      plan.waiting.length ? 'adopting Spiderpool: pools still held' : 'adopting Spiderpool',
    );
    return this.progress;
  }

  private async listPods(): Promise<Map<string, AdoptionPod>> {
    const pods = new Map<string, AdoptionPod>();
    let next: string | undefined;
    do {
      const page = await this.core.listPodForAllNamespaces({ limit: 500, ...(next ? { _continue: next } : {}) });
      for (const raw of page.items) {
        const parsed = AdoptionPodObject.safeParse(raw);
        if (!parsed.success || parsed.data.spec?.hostNetwork) continue;
        const { metadata, status } = parsed.data;
        pods.set(`${metadata.namespace}/${metadata.name}`, {
          namespace: metadata.namespace,
          name: metadata.name,
          uid: metadata.uid,
          ...(status?.phase ? { phase: status.phase } : {}),
          labels: metadata.labels ?? {},
          annotations: metadata.annotations ?? {},
          ownerReferences: metadata.ownerReferences ?? [],
          ...(metadata.labels?.[BINDING_ID_LABEL] ? { bindingID: metadata.labels[BINDING_ID_LABEL] } : {}),
        });
      }
      next = page.metadata?._continue || undefined;
    } while (next);
    return pods;
  }

  private async listSpiderpoolEndpoints(): Promise<SpiderpoolEndpoint[]> {
    const list = (await this.api.listClusterCustomObject(customObject(SPIDER_ENDPOINT))) as { items?: unknown[] };
    return (list.items ?? []).flatMap((raw) => {
      const parsed = SpiderpoolEndpoint.safeParse(raw);
      if (!parsed.success) {
        this.log.warn({ endpoint: (raw as { metadata?: { name?: string } })?.metadata?.name }, 'a SpiderEndpoint is malformed; skipped');
        return [];
      }
      return heldBySpiderpool(parsed.data.metadata) ? [parsed.data] : [];
    });
  }

  /** Claims first (the lock), then the pod's binding; true when the pod is adopted now. */
  private async adoptPod(adoption: PodAdoption): Promise<boolean> {
    const who = `${adoption.pod.namespace}/${adoption.pod.name}`;
    for (const claim of adoption.missingClaims) {
      if (!(await this.createClaim(claim))) {
        this.log.warn({ pod: who, address: formatAddress(claim.address) }, 'the address was claimed meanwhile; the next pass judges the pod again');
        return false;
      }
    }
    if (adoption.needsBinding) {
      const patch = [
        { op: 'test', path: '/metadata/uid', value: adoption.pod.uid },
        ...bindingPatch(
          // A pod without annotations or labels was read as empty maps: create them before the keys.
          { annotations: Object.keys(adoption.pod.annotations).length ? adoption.pod.annotations : null, labels: Object.keys(adoption.pod.labels).length ? adoption.pod.labels : null },
          adoption.binding,
        ),
      ];
      try {
        await this.core.patchNamespacedPod({ namespace: adoption.pod.namespace, name: adoption.pod.name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
      } catch (error) {
        // Gone or replaced: its claims find no pod and are released after the orphan TTL.
        if (apiStatus(error) === 404 || apiStatus(error) === 422) return false;
        throw new Error(`writing the binding of pod ${who}: ${(error as Error).message}`, { cause: error });
      }
    }
    const addresses = adoption.binding.interfaces.flatMap((nic) => [nic.ipv4, nic.ipv6].flatMap((e) => (e ? [`${nic.interface} ${e.address} (pool ${e.pool})`] : [])));
    this.log.info({ pod: who, addresses }, 'pod adopted from Spiderpool');
    await this.event({
      involved: { apiVersion: 'v1', kind: 'Pod', name: adoption.pod.name, namespace: adoption.pod.namespace, uid: adoption.pod.uid },
      type: 'Normal',
      reason: ADOPTED_REASON,
      message: `adopted from Spiderpool: ${addresses.join(', ')} now held by IPClaims; the pod's next sandbox gets them through Underpin`,
    });
    return true;
  }

  /** Create the claim; false when a claim of another binding holds the address. */
  private async createClaim(claim: ClaimRequest): Promise<boolean> {
    if (await this.claims.reserve(claim)) return true;
    const existing = await this.claims.get(claim.address);
    return existing?.spec.bindingID === claim.bindingID && existing.spec.namespace === claim.namespace;
  }

  /** Spiderpool's record of a pod that is adopted (Underpin's endpoint controller takes it over) or gone (deleted). */
  private async releaseEndpoint(endpoint: SpiderpoolEndpoint, gone: boolean): Promise<void> {
    const { namespace, name, uid } = endpoint.metadata;
    const patch = removeFinalizersPatch({ ...(uid ? { uid } : {}), finalizers: endpoint.metadata.finalizers ?? null }, [LEGACY_SPIDERPOOL_FINALIZER]);
    if (!patch) return;
    const kind = { group: SPIDER_ENDPOINT.group, version: SPIDER_ENDPOINT.version, plural: SPIDER_ENDPOINT.plural };
    try {
      await this.api.patchNamespacedCustomObject({ ...kind, namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
      if (gone) await this.api.deleteNamespacedCustomObject({ ...kind, namespace, name, ...(uid ? { body: { preconditions: { uid } } } : {}) });
    } catch (error) {
      if (apiStatus(error) === 404 || apiStatus(error) === 409 || apiStatus(error) === 422) return;
      throw new Error(`releasing SpiderEndpoint ${namespace}/${name} from Spiderpool: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Mark the object adopted; swap Spiderpool's finalizer for Underpin's unless it is terminating (none may be added then). */
  private async release(kind: ResourceKind, name: string, plan?: AdoptionPlan): Promise<void> {
    const cache = kind === SPIDER_IPPOOL ? this.options.underlay.pools : this.options.underlay.subnets;
    const record = cache.get(name);
    if (!record || !heldBySpiderpool(record.metadata)) return;
    const meta = record.metadata;
    const finalizers = meta.finalizers ?? [];
    const terminating = meta.deletionTimestamp != null;
    const kept = terminating ? finalizers : [...finalizers.filter((f) => f !== LEGACY_SPIDERPOOL_FINALIZER && f !== ADDRESSES_IN_USE_FINALIZER), ADDRESSES_IN_USE_FINALIZER];
    const patch = [
      ...(meta.uid ? [{ op: 'test', path: '/metadata/uid', value: meta.uid }] : []),
      { op: 'test', path: '/metadata/finalizers', value: finalizers },
      ...(meta.annotations ? [] : [{ op: 'add', path: '/metadata/annotations', value: {} }]),
      { op: 'add', path: `/metadata/annotations/${pointerToken(ADOPTED_ANNOTATION)}`, value: new Date().toISOString() },
      { op: 'replace', path: '/metadata/finalizers', value: kept },
    ];
    try {
      await this.api.patchClusterCustomObject({ ...customObject(kind), name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    } catch (error) {
      if (apiStatus(error) === 404 || apiStatus(error) === 422) return; // gone, or changed since read: the next pass
      throw new Error(`releasing ${kind.kind} ${name} from Spiderpool: ${(error as Error).message}`, { cause: error });
    }
    const dropped = plan?.findings.filter((f) => f.kind === 'pod-gone' && f.pool === name).length ?? 0;
    const claims = kind === SPIDER_IPPOOL ? this.options.underlay.claimCount(name) : undefined;
    this.log.info({ kind: kind.kind, name, dropped }, 'released from Spiderpool');
    await this.event({
      involved: { apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, name, ...(meta.uid ? { uid: meta.uid } : {}) },
      type: 'Normal',
      reason: ADOPTED_REASON,
      message:
        kind === SPIDER_IPPOOL
          ? `adopted from Spiderpool: every live pod it recorded is adopted (${claims ?? 0} addresses held by IPClaims)${dropped ? `; ${dropped} records of pods that are gone were dropped, their addresses are free` : ''}; Underpin keeps its status from now on`
          : 'adopted from Spiderpool: every pool of its network is adopted; Underpin keeps its status from now on',
    });
  }

  /** A subnet is released once no pool of its network is held. */
  private releaseSubnets(): void {
    const { underlay } = this.options;
    for (const subnet of underlay.subnets.values()) {
      if (!heldBySpiderpool(subnet.metadata)) continue;
      const pools = [...underlay.pools.values()].filter((p) => p.spec.subnet === subnet.spec.subnet);
      if (pools.some((p) => heldBySpiderpool(p.metadata))) continue;
      void this.release(SPIDER_SUBNET, subnet.metadata.name).catch((error: unknown) => this.log.warn({ err: error, subnet: subnet.metadata.name }, 'releasing a subnet failed; retrying'));
    }
  }

  /** Warning Events for what blocks adoption, at most one per object and message per 10 minutes. */
  private async report(plan: AdoptionPlan): Promise<void> {
    for (const finding of plan.findings) {
      if (finding.kind === 'pod-gone' || finding.kind === 'bound-by-underpin') continue;
      const pod = finding.pod;
      const involved = pod
        ? { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, ...(pod.uid ? { uid: pod.uid } : {}) }
        : { apiVersion: `${SPIDER_IPPOOL.group}/${SPIDER_IPPOOL.version}`, kind: SPIDER_IPPOOL.kind, name: finding.pool ?? '' };
      if (!involved.name) continue;
      await this.event({ involved, type: 'Warning', reason: finding.kind === 'unreadable' ? UNREADABLE_REASON : NOT_ADOPTED_REASON, message: finding.message });
    }
    for (const { pool, reason, blocked } of plan.waiting) {
      if (!blocked) continue; // being adopted: the next pass releases it
      await this.event({ involved: { apiVersion: `${SPIDER_IPPOOL.group}/${SPIDER_IPPOOL.version}`, kind: SPIDER_IPPOOL.kind, name: pool }, type: 'Warning', reason: NOT_ADOPTED_REASON, message: `still held by Spiderpool (its recorded addresses stay in use): ${reason}` });
    }
  }

  private async event(event: EventToRecord): Promise<void> {
    const key = `${event.involved.kind}/${event.involved.namespace ?? ''}/${event.involved.name}/${event.reason}/${event.message}`;
    if (!this.throttle.tryTake(key)) return;
    try {
      await this.options.recordEvent(event);
    } catch (error) {
      this.log.warn({ err: error, reason: event.reason }, 'could not record an adoption Event');
    }
  }
}
