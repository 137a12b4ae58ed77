// Admission for the Spider* resources an administrator writes (SpiderSubnet,
// SpiderIPPool, SpiderReservedIP, SpiderCoordinator; SpiderMultusConfig in multus-configs.ts):
// defaulting on the mutating path, every rule of ipam/ on the validating path. Thin:
// parse, ask ipam/, answer.
import type { FastifyInstance } from 'fastify';
import { isDeepStrictEqual } from 'node:util';
import jsonPatch from 'fast-json-patch';
import type { AddressInUse } from '../ipam/address-conflicts.js';
import type { PendingHolder } from '../kube/pending-holders.js';
import { canonicalCidr } from '../ipam/cidr.js';
import { formatProblems } from '../ipam/field-problem.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { SpiderCoordinator, defaultSpiderCoordinator, reviewSpiderCoordinator } from '../ipam/spider-coordinator.js';
import { SpiderReservedIP } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';
import type { RangeSet } from '../ipam/range-set.js';
import {
  addressesLeavingPool,
  reviewSpiderIPPool,
  reviewSpiderReservedIP,
  reviewSpiderSubnet,
  type Operation,
  type UnderlayContext,
  type Verdict,
} from '../ipam/underlay-admission.js';
import { defaultSpiderIPPool, defaultSpiderReservedIP, defaultSpiderSubnet, type SubnetForDefaults } from '../ipam/underlay-defaults.js';
import { allow, deny, type AdmissionDecision, type AdmissionRequest, type PatchOperation } from './admission-review.js';
import { registerAdmissionRoute } from './admission-route.js';
import type { WebhookMetrics } from './metrics.js';
import { ISOLATED_MULTUS_STATE, mutateMultusConfig, validateMultusConfig, type MultusConfigAdmissionState } from './multus-configs.js';

export const SPIDER_MUTATE_PATH = '/mutate/spider-resources';
export const SPIDER_VALIDATE_PATH = '/validate/spider-resources';

/** What the Spider* handlers need to know of the cluster (informers in production, a fixture in tests). */
export interface UnderlayAdmissionState {
  readonly hasSynced: boolean;
  context(pending?: readonly PendingHolder[]): UnderlayContext;
  /**
   * The context with pools and subnets read from the API now. A denial is confirmed on
   * it: the cache may still show a pool deleted a moment ago, and the ledger an entry
   * whose object is gone.
   */
  contextFromAPI(): Promise<(pending: readonly PendingHolder[]) => UnderlayContext>;
  /** Subnets for defaulting a pool; `cidr` is the pool's, so a state can look harder for its subnet. */
  subnetsForDefaults(cidr?: string): Promise<SubnetForDefaults[]>;
  /** Judge and record atomically with respect to other webhook replicas. */
  admit(decide: (pending: PendingHolder[]) => Verdict, options: { dryRun?: boolean; uid?: string }): Promise<Verdict>;
  /**
   * Fence the addresses a pool update removes, then say which of them pods hold.
   *
   * A pod's webhook may be claiming one of them right now, from a cache that still
   * shows the old pool; the pool's review, from a cache that does not show the claim
   * yet, would admit the update and leave the claim outside its pool. So both sides
   * write first and read the API after: the fence is recorded, then the pool's claims
   * are listed; the pod's claim is created, then the fences are read
   * (PodAdmissionState.isLeavingPool). Whichever write comes first, the other side's
   * read sees it: the update is denied (address in use) or the pod takes another.
   * Dry runs record no fence. `lift` withdraws the fence of an update that is denied.
   */
  fenceRemoval(request: { id: string; pool: string; removed: RangeSet; dryRun: boolean }): Promise<{ inUse: AddressInUse[]; lift(): Promise<void> }>;
}

const NOT_SYNCED = deny('the Underpin webhook is still loading the cluster state; retry in a few seconds', 503, 'ServiceUnavailable');

function displayName(request: AdmissionRequest): string {
  return `${request.kind.kind} ${request.name || '(generated name)'}`;
}

function patchTo(original: unknown, mutated: object): PatchOperation[] {
  return jsonPatch.compare(original as object, mutated) as PatchOperation[];
}

/**
 * Defaulting runs on CREATE and on updates that change the spec. An update of
 * labels or finalizers (the reconciler releasing a deleted pool) passes untouched:
 * defaulting it could change the spec the validator then refuses, and a pool could
 * never finish deleting.
 */
function specChanged(request: AdmissionRequest): boolean {
  if (request.operation !== 'UPDATE') return true;
  const spec = (o: unknown) => (o as { spec?: unknown } | null)?.spec;
  return !isDeepStrictEqual(spec(request.object), spec(request.oldObject));
}

export async function mutateSpiderResource(request: AdmissionRequest, state: UnderlayAdmissionState): Promise<AdmissionDecision> {
  if (request.operation === 'DELETE' || request.operation === 'CONNECT' || !specChanged(request)) return allow();
  // Objects that do not parse are left alone: validation denies them with the details.
  switch (request.kind.kind) {
    case 'SpiderSubnet': {
      const parsed = SpiderSubnet.safeParse(request.object);
      return parsed.success ? allow(patchTo(parsed.data, defaultSpiderSubnet(parsed.data))) : allow();
    }
    case 'SpiderIPPool': {
      if (!state.hasSynced) return NOT_SYNCED;
      const parsed = SpiderIPPool.safeParse(request.object);
      if (!parsed.success) return allow();
      // Inheritance from the subnet is a creation default, not something to re-apply on every edit.
      const subnets = request.operation === 'CREATE' ? await state.subnetsForDefaults(canonicalCidr(parsed.data.spec.subnet)) : [];
      return allow(patchTo(parsed.data, defaultSpiderIPPool(parsed.data, subnets)));
    }
    case 'SpiderReservedIP': {
      const parsed = SpiderReservedIP.safeParse(request.object);
      return parsed.success ? allow(patchTo(parsed.data, defaultSpiderReservedIP(parsed.data))) : allow();
    }
    case 'SpiderMultusConfig':
      return mutateMultusConfig(request);
    case 'SpiderCoordinator': {
      const parsed = SpiderCoordinator.safeParse(request.object);
      return parsed.success ? allow(patchTo(request.object, defaultSpiderCoordinator(parsed.data))) : allow();
    }
    default:
      return allow();
  }
}

const REVIEWERS = {
  SpiderIPPool: reviewSpiderIPPool,
  SpiderSubnet: reviewSpiderSubnet,
  SpiderReservedIP: reviewSpiderReservedIP,
} as const;

export async function validateSpiderResource(
  request: AdmissionRequest,
  state: UnderlayAdmissionState,
  multusConfigs: MultusConfigAdmissionState = ISOLATED_MULTUS_STATE,
): Promise<AdmissionDecision> {
  const kind = request.kind.kind;
  if (kind === 'SpiderMultusConfig') {
    if (request.operation === 'CONNECT') return allow();
    // Pool families come from the underlay cache: judge only once it is loaded.
    if (!state.hasSynced) return NOT_SYNCED;
    return validateMultusConfig(request, multusConfigs);
  }
  // Needs no cluster state: a SpiderCoordinator is judged on its own.
  if (kind === 'SpiderCoordinator' && request.operation !== 'CONNECT') {
    const verdict = reviewSpiderCoordinator(request.operation, request.object);
    return verdict.allowed ? allow(undefined, verdict.warnings) : deny(`${displayName(request)} is invalid:\n${formatProblems(verdict.problems)}`);
  }
  if (!Object.hasOwn(REVIEWERS, kind) || request.operation === 'CONNECT') return allow();
  const review = REVIEWERS[kind as keyof typeof REVIEWERS];
  if (!state.hasSynced) return NOT_SYNCED;
  const operation = request.operation as Operation;
  const dryRun = request.dryRun === true;
  const leaving = kind === 'SpiderIPPool' && operation === 'UPDATE' ? addressesLeavingPool(request.object, request.oldObject) : undefined;
  const fence = leaving ? await state.fenceRemoval({ id: request.uid, ...leaving, dryRun }) : undefined;
  const judge = (context: UnderlayContext) =>
    review(operation, request.object, request.oldObject, fence && leaving ? withClaimsRead(context, leaving.pool, fence.inUse) : context);
  // Reserved IPs and deletions claim no addresses: nothing to serialise.
  const claimsAddresses = kind !== 'SpiderReservedIP' && operation !== 'DELETE';
  const uid = objectUid(request.object);
  const admit = (contextOf: (pending: readonly PendingHolder[]) => UnderlayContext) =>
    claimsAddresses ? state.admit((pending) => judge(contextOf(pending)), { dryRun, ...(uid ? { uid } : {}) }) : Promise.resolve(judge(contextOf([])));
  let verdict: Verdict;
  try {
    verdict = await admit((pending) => state.context(pending));
    // Confirm a denial on what the API holds now: a pool replaced by delete and create
    // in one script must not be refused for a pool the cache has not seen go yet.
    if (!verdict.allowed && claimsAddresses) verdict = await admit(await state.contextFromAPI());
  } catch (error) {
    await fence?.lift();
    throw error;
  }
  if (!verdict.allowed) {
    await fence?.lift();
    return deny(`${displayName(request)} is invalid:\n${formatProblems(verdict.problems)}`);
  }
  return allow(undefined, verdict.warnings);
}

function objectUid(object: unknown): string | undefined {
  const uid = (object as { metadata?: { uid?: unknown } } | null | undefined)?.metadata?.uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

/** The context with a pool's claims as just read from the API added to the cached ones. */
function withClaimsRead(context: UnderlayContext, pool: string, read: readonly AddressInUse[]): UnderlayContext {
  return {
    ...context,
    inUse: (name) => {
      const cached = context.inUse(name);
      if (name !== pool) return cached;
      const known = new Set(cached.map((u) => u.address.value));
      return [...cached, ...read.filter((u) => !known.has(u.address.value))];
    },
  };
}

export function spiderResources(state: UnderlayAdmissionState, metrics?: WebhookMetrics, multusConfigs?: MultusConfigAdmissionState) {
  return async (app: FastifyInstance): Promise<void> => {
    registerAdmissionRoute(app, SPIDER_MUTATE_PATH, (request) => mutateSpiderResource(request, state), metrics);
    registerAdmissionRoute(app, SPIDER_VALIDATE_PATH, (request) => validateSpiderResource(request, state, multusConfigs), metrics);
  };
}
