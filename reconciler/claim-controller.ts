// Controller: binds IPClaims to their pods and releases the claims nobody needs any
// more. The decisions are claim-binding.ts's and claim-release.ts's; this file feeds
// them from the shared caches and carries them out.
//
// A claim is looked at when it changes, when a pod carrying its binding id changes,
// when its StatefulSet changes, when its orphan TTL runs out, and on every claim at
// start-up and every resync period — so a pod deleted while no reconciler ran is
// noticed. A release is never decided on the caches alone: the claim, its pods and
// its StatefulSet are read again from the API and judged again, and the delete
// carries the claim's uid and resourceVersion as preconditions, so a cache that lags
// behind a new pod, or a claim changed meanwhile, never loses a live pod its address.
import { ResyncLoop } from './resync-loop.js';
import { ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { BINDING_ID_LABEL } from '../ipam/binding.js';
import { decideClaimStatus, holderOf, isStatefulSetClaim, podState, type ClaimStatus, type PodState } from './claim-binding.js';
import { judgeClaimRelease, releaseEvent, statefulSetState, type ReleaseVerdict, type StatefulSetState } from './claim-release.js';
import type { ClusterCaches } from './cluster-caches.js';
import type { EventToRecord } from './events.js';
import type { ReconcilerMetrics } from './metrics.js';
import { IPClaim } from '../ipam/ip-claim.js';
import { NodeRecord, PodRecord, StatefulSetRecord } from './resources.js';
import { IP_CLAIM } from '../kube/resources.js';
import { WorkQueue } from './work-queue.js';
import { DEFAULT_NODE_LOSS_POLICY, nodeState, type NodeLossPolicy, type NodeState } from './node-loss.js';
import { apiStatus, foundOrUndefined } from '../kube/api-status.js';

export interface ClaimControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  caches: ClusterCaches;
  metrics: ReconcilerMetrics;
  recordEvent: (event: EventToRecord) => Promise<void>;
  resyncMs: number;
  orphanTtlMs: number;
  /** When a terminating pod's address may go without its kubelet's word (node-loss.ts). */
  nodeLoss?: NodeLossPolicy;
  now?: () => number;
}

const CLAIM_WORKERS = 8;

/** A label value the API accepts in a selector; a binding id that is not one can be on no pod. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;


/**
 * A guarded patch refused because the object changed: 409, or 422 without field
 * causes (what the API server answers to a failed JSON-patch `test`). A 422 that
 * names fields is a real validation error.
 */
export function isStaleWrite(error: unknown): boolean {
  if (!(error instanceof ApiException)) return false;
  if (error.code === 409) return true;
  if (error.code !== 422) return false;
  try {
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { details?: { causes?: unknown[] } } | undefined;
    return !body?.details?.causes?.length;
  } catch {
    return false;
  }
}

export class ClaimController {
  private readonly api: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly now: () => number;
  private readonly loop: ResyncLoop;
  /**
   * Claims whose status we wrote, with the resourceVersion we wrote over: while the
   * cache still shows that version, our write is on its way and a second one would
   * only fail its resourceVersion test.
   */
  private readonly wroteOver = new Map<string, string>();
  /** `namespace/bindingID` of pods seen deleted, until the orphan TTL would have freed their claims anyway. */
  private readonly deletedBindings = new Map<string, number>();
  /** When this process first saw each terminating pod (by uid), on its own clock. */
  private readonly terminatingSince = new Map<string, number>();
  /** When this process first judged each claim that had no pod yet (by name), on its own clock. */
  private readonly orphanSince = new Map<string, number>();

  constructor(private readonly options: ClaimControllerOptions) {
    this.log = options.log.child({ controller: 'claims' });
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.apps = options.kubeConfig.makeApiClient(AppsV1Api);
    this.now = options.now ?? Date.now;
    this.queue = new WorkQueue((name) => options.metrics.time('claims', () => this.reconcile(name)), {
      // Releases take three API calls each; a mass delete of pods must not queue up behind one.
      workers: CLAIM_WORKERS,
      onError: (key, error, retryInMs) => this.log.warn({ claim: key, err: error, retryInMs }, `reconciling IPClaim ${key} failed; retrying`),
    });
    this.loop = new ResyncLoop(this.queue, options.resyncMs, () => this.enqueueAll());
    const { caches } = options;
    caches.claims.onChange((key, current) => {
      if (!current) {
        this.wroteOver.delete(key);
        this.orphanSince.delete(key);
      }
      if (this.loop.synced) this.queue.add(key);
    });
    caches.pods.onChange((_, current, previous) => {
      const pod = current ?? previous;
      if (pod && !current) this.terminatingSince.delete(pod.metadata.uid);
      const id = pod?.metadata.labels?.[BINDING_ID_LABEL];
      if (!pod || !id) return;
      if (!current) this.rememberDeleted(`${pod.metadata.namespace}/${id}`);
      if (!this.loop.synced) return;
      for (const claim of caches.claimsWithBinding(pod.metadata.namespace, id)) this.queue.add(claim.metadata.name);
    });
    // A node lost or back, or tainted out-of-service: its terminating pods' claims are judged again.
    caches.nodes.onChange((key, current, previous) => {
      if (!this.loop.synced) return;
      const [now, before] = [current && nodeState(current), previous && nodeState(previous)];
      if (JSON.stringify(now) === JSON.stringify(before)) return;
      for (const pod of caches.podsOnNode(key)) {
        const id = pod.metadata.labels?.[BINDING_ID_LABEL];
        if (id && pod.metadata.deletionTimestamp) for (const claim of caches.claimsWithBinding(pod.metadata.namespace, id)) this.queue.add(claim.metadata.name);
      }
    });
    caches.statefulSets.onChange((_, current, previous) => {
      const set = current ?? previous;
      if (!this.loop.synced || !set) return;
      for (const claim of caches.claimsOfStatefulSet(set.metadata.namespace, set.metadata.name)) this.queue.add(claim.metadata.name);
    });
  }

  /** The caches are synced: look at every claim now and every resync period. */
  run(): void {
    this.loop.run();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** For tests: resolves when nothing is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private rememberDeleted(binding: string): void {
    const now = this.now();
    if (this.deletedBindings.size > 10_000) {
      for (const [key, until] of this.deletedBindings) if (until <= now) this.deletedBindings.delete(key);
    }
    this.deletedBindings.set(binding, now + this.options.orphanTtlMs);
  }

  private podSeenDeleted(claim: IPClaim): boolean {
    const key = `${claim.spec.namespace}/${claim.spec.bindingID}`;
    const until = this.deletedBindings.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.deletedBindings.delete(key);
    return false;
  }

  private enqueueAll(): void {
    for (const name of this.options.caches.claims.keys()) this.queue.add(name);
  }

  private async reconcile(name: string): Promise<void> {
    const { caches } = this.options;
    const claim = caches.claims.get(name);
    if (!claim) return;
    const pods = caches.podsWithBinding(claim.spec.namespace, claim.spec.bindingID).map(podState);
    const owner = claim.spec.owner;
    const set = isStatefulSetClaim(claim) && owner ? caches.statefulSet(claim.spec.namespace, owner.name) : undefined;
    const verdict = this.judge(claim, pods, set && statefulSetState(set), (node) => {
      const record = caches.nodes.get(node);
      return record && nodeState(record);
    });
    if (verdict.action === 'release') return this.release(claim);
    if (verdict.recheckInMs !== undefined) this.queue.addAfter(name, verdict.recheckInMs + 100);

    const pending = this.wroteOver.get(name);
    if (pending !== undefined && pending === claim.metadata.resourceVersion) return; // the cache has not seen our write yet
    this.wroteOver.delete(name);
    const decision = decideClaimStatus(claim, holderOf(claim, pods), this.now());
    if (decision.kind === 'later') this.queue.addAfter(name, decision.inMs + 100);
    if (decision.kind === 'write') await this.writeStatus(claim, decision.status);
  }

  private judge(claim: IPClaim, pods: PodState[], statefulSet: StatefulSetState | undefined, node: (name: string) => NodeState | undefined): ReleaseVerdict {
    return judgeClaimRelease({
      claim,
      pods,
      statefulSet,
      podSeenDeleted: this.podSeenDeleted(claim),
      nowMs: this.now(),
      orphanTtlMs: this.options.orphanTtlMs,
      nodeLoss: { policy: this.options.nodeLoss ?? DEFAULT_NODE_LOSS_POLICY, node, terminatingForMs: (pod) => this.terminatingFor(pod) },
      claimSeenForMs: () => this.seenFor(this.orphanSince, claim.metadata.name),
    });
  }

  private seenFor(since: Map<string, number>, key: string): number {
    const now = this.now();
    const first = since.get(key);
    if (first === undefined) since.set(key, now);
    return first === undefined ? 0 : now - first;
  }

  private terminatingFor(pod: PodState): number {
    return this.seenFor(this.terminatingSince, pod.uid);
  }

  // ---- writes ----

  private async writeStatus(claim: IPClaim, desired: ClaimStatus): Promise<void> {
    const { name, uid, resourceVersion } = claim.metadata;
    // Guarded: never over a newer status, nor onto a new claim of the same name.
    const patch = [
      ...(uid ? [{ op: 'test', path: '/metadata/uid', value: uid }] : []),
      ...(resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }] : []),
      { op: 'add', path: '/status', value: desired },
    ];
    try {
      await this.api.patchClusterCustomObjectStatus(
        { group: IP_CLAIM.group, version: IP_CLAIM.version, plural: IP_CLAIM.plural, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      if (resourceVersion) this.wroteOver.set(name, resourceVersion);
      this.log.debug({ claim: name, status: desired }, desired.phase === 'Bound' ? 'claim bound' : 'claim reserved');
    } catch (error) {
      if (apiStatus(error) === 404) return; // released meanwhile
      if (isStaleWrite(error)) {
        // A failed test: our copy was stale. The newer version reaches the cache, and
        // its event queues the claim again.
        this.log.debug({ claim: name, resourceVersion }, 'claim changed since it was read; judging again on the newer version');
        return;
      }
      throw new Error(`writing the status of IPClaim ${name}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Judge again on fresh reads; delete only if the verdict stands. */
  private async release(cached: IPClaim): Promise<void> {
    const name = cached.metadata.name;
    const claim = await this.readClaim(name);
    if (!claim || claim.metadata.uid !== cached.metadata.uid) return; // gone, or another claim now
    const owner = claim.spec.owner;
    const [pods, set] = await Promise.all([
      this.readPods(claim.spec.namespace, claim.spec.bindingID),
      isStatefulSetClaim(claim) && owner ? this.readStatefulSet(claim.spec.namespace, owner.name) : Promise.resolve(undefined),
    ]);
    const nodes = await this.readNodes(pods);
    const verdict = this.judge(claim, pods, set, (node) => nodes.get(node));
    if (verdict.action !== 'release') {
      this.log.debug({ claim: name, why: verdict.why }, 'the cache lagged: the API shows a reason to keep the claim');
      if (verdict.recheckInMs !== undefined) this.queue.addAfter(name, verdict.recheckInMs + 100);
      return;
    }
    try {
      await this.api.deleteClusterCustomObject({
        group: IP_CLAIM.group,
        version: IP_CLAIM.version,
        plural: IP_CLAIM.plural,
        name,
        body: { preconditions: { ...(claim.metadata.uid ? { uid: claim.metadata.uid } : {}), ...(claim.metadata.resourceVersion ? { resourceVersion: claim.metadata.resourceVersion } : {}) } },
      });
    } catch (error) {
      if (apiStatus(error) === 404) return;
      // 409: changed since we read it; judge again on the next try.
      throw new Error(`releasing IPClaim ${name}: ${(error as Error).message}`, { cause: error });
    }
    this.options.metrics.released(verdict.reason);
    this.log.info({ claim: name, address: claim.spec.address, pool: claim.spec.pool, reason: verdict.reason, pod: verdict.pod }, verdict.message);
    const event = releaseEvent(claim, verdict);
    if (!event) return;
    try {
      await this.options.recordEvent(event);
    } catch (error) {
      // An Event is advice; failing to write it must not undo or repeat the release.
      this.log.warn({ claim: name, err: error }, 'could not record the AddressReleased event');
    }
  }

  // ---- fresh reads ----

  private async readClaim(name: string): Promise<IPClaim | undefined> {
    const raw = await foundOrUndefined(this.api.getClusterCustomObject({ group: IP_CLAIM.group, version: IP_CLAIM.version, plural: IP_CLAIM.plural, name }));
    const parsed = IPClaim.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }

  private async readPods(namespace: string, bindingID: string): Promise<PodState[]> {
    if (bindingID.length > 63 || !LABEL_VALUE.test(bindingID)) return [];
    const list = await this.core.listNamespacedPod({ namespace, labelSelector: `${BINDING_ID_LABEL}=${bindingID}` });
    return list.items.map((raw) => {
      const parsed = PodRecord.safeParse(raw);
      if (parsed.success) return podState(parsed.data);
      // Unreadable, but there: it counts as a live pod, so its claim stays.
      this.log.warn({ namespace, bindingID, issues: parsed.error.issues.slice(0, 3) }, 'a pod with this binding id is malformed; treating it as live');
      return { namespace, name: raw.metadata?.name ?? '(unnamed)', uid: raw.metadata?.uid ?? '', terminating: false, finished: false, containersStopped: false };
    });
  }

  /** The nodes of the terminating pods, read now: a node judged lost must be lost in the API, not in a lagging cache. */
  private async readNodes(pods: readonly PodState[]): Promise<Map<string, NodeState>> {
    const names = [...new Set(pods.flatMap((pod) => (pod.terminating && pod.node ? [pod.node] : [])))];
    const nodes = new Map<string, NodeState>();
    await Promise.all(
      names.map(async (name) => {
        const raw = await foundOrUndefined(this.core.readNode({ name }));
        if (!raw) return; // gone
        const parsed = NodeRecord.safeParse(raw);
        // Unreadable, but there: taken as Ready, so nothing is released for it.
        nodes.set(name, parsed.success ? nodeState(parsed.data) : { name, ready: 'True', outOfService: false });
      }),
    );
    return nodes;
  }

  private async readStatefulSet(namespace: string, name: string): Promise<StatefulSetState | undefined> {
    try {
      const parsed = StatefulSetRecord.safeParse(await this.apps.readNamespacedStatefulSet({ namespace, name }));
      if (parsed.success) return statefulSetState(parsed.data);
      // Unreadable, but there: assume it still wants every ordinal, so nothing is released.
      this.log.warn({ statefulSet: `${namespace}/${name}`, issues: parsed.error.issues.slice(0, 3) }, 'StatefulSet is malformed; keeping its claims');
      return { namespace, name, replicas: Number.MAX_SAFE_INTEGER, ordinalStart: 0, deleting: false };
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }
}
