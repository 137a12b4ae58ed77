// Pod admission, the adapter: reads the AdmissionReview, asks ipam/ to bind the pod
// (bindPod: pools, addresses, placement, binding) and turns the outcome into an
// admission response. What it adds is admission's own: reinvocations and retries of
// one review, forged bindings, dry run (a store that writes nothing), and keeping
// the binding immutable.
import { BINDING_ANNOTATION, BINDING_ID_LABEL, IGNORE_LABEL, bindingAddresses, bindingPatch, decodeBinding, pointerToken } from '../ipam/binding.js';
import { bindPod, takesUnderpinAddresses, type PodBindingPolicy, type PodBindingSource } from '../ipam/bind-pod.js';
import { MemoryClaimStore, type ClaimStore } from '../ipam/claim-store.js';
import type { Address, IPFamily } from '../ipam/address.js';
import type { PoolView } from '../ipam/pool-candidates.js';
import type { HeldClaim } from '../ipam/workload-judgement.js';
import { Pod } from '../ipam/pod.js';
import type { RangeSet } from '../ipam/range-set.js';
import { allow, deny, withFindings, type AdmissionDecision, type AdmissionRequest, type PatchOperation } from './admission-review.js';
import { RecentAnswers } from './recent-answers.js';
import { RecentClaims } from './recent-claims.js';
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
  /** The claims on a pool's addresses: workload admission counts who holds them. */
  claimsOfPool(pool: string): readonly HeldClaim[];
  /** Does a pod carrying this binding id exist already? (Asked of the API, not a cache.) */
  podExistsWithBindingID(namespace: string, bindingID: string): Promise<boolean>;
  readonly claimStore: ClaimStore;
}

export interface PodAdmissionOptions extends PodBindingPolicy {
  /** Users allowed to change a pod's binding after creation (Underpin's own service account). */
  trustedUsers: readonly string[];
}

/** How long after its claims were made a pod's own binding may come back to us (webhook reinvocation). */
const REINVOCATION_WINDOW_MS = 30_000;

function podDisplayName(pod: Pod, namespace: string): string {
  return `pod ${namespace}/${pod.metadata.name || `${pod.metadata.generateName ?? ''}<generated>`}`;
}

export class PodAdmission {
  private readonly claims: RecentClaims;
  private readonly source: PodBindingSource;
  private readonly answers = new RecentAnswers();

  constructor(
    private readonly state: PodAdmissionState,
    private readonly options: PodAdmissionOptions,
  ) {
    this.claims = new RecentClaims(state.claimStore);
    // The state as it is, but for one answer: what this replica is claiming is taken
    // too, until the cache shows it.
    this.source = Object.assign(Object.create(state) as PodAdmissionState, {
      isClaimed: (address: Address) => state.isClaimed(address) || this.claims.has(address),
    });
  }

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
    if (!takesUnderpinAddresses(pod)) return allow(this.stripForgedBinding(pod));
    if (!this.state.hasSynced) return deny('the Underpin webhook is still loading the cluster state; retry in a few seconds', 503, 'ServiceUnavailable');

    // A binding already on the pod is ours only when this is a reinvocation of the
    // same admission: its claims carry its id, in its namespace, bound to no pod yet.
    const existing = annotations[BINDING_ANNOTATION];
    if (existing !== undefined && (await this.isOwnPendingBinding(existing, labels[BINDING_ID_LABEL], namespace))) return allow();
    const strip = this.stripForgedBinding(pod);

    // A dry run reserves in memory: the same decision, nothing written.
    const store: ClaimStore = request.dryRun === true ? new MemoryClaimStore() : this.claims;
    const outcome = await bindPod({ pod, namespace, policy: this.options }, { source: this.source, store });
    if (!outcome.ok) {
      const message = `${podDisplayName(pod, namespace)}: ${outcome.error.message}`;
      const denied = outcome.error.kind === 'forbidden' ? deny(message, 403, 'Forbidden') : deny(message);
      return withFindings(denied, [{ verdict: 'denied', reason: outcome.error.reason }]);
    }
    if (!outcome.value) return allow(strip);
    return allow([...strip, ...bindingPatch(pod.metadata, outcome.value.binding), ...outcome.value.placementPatch]);
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
    if (pod.metadata.annotations?.[BINDING_ANNOTATION] !== undefined) ops.push({ op: 'remove', path: `/metadata/annotations/${pointerToken(BINDING_ANNOTATION)}` });
    if (pod.metadata.labels?.[BINDING_ID_LABEL] !== undefined) ops.push({ op: 'remove', path: `/metadata/labels/${pointerToken(BINDING_ID_LABEL)}` });
    return ops;
  }
}
