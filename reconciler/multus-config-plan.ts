// What the SpiderMultusConfig controller does for one smc, decided from the smc and
// the NetworkAttachmentDefinition of its network name as cached. Pure, so every case
// is unit-tested: create, repair drift, leave alone, wait for a terminating NAD, and
// replace a NAD left by an earlier smc of the same name.
import { z } from 'zod';
import { OwnerReference } from '../ipam/object-meta.js';
import { renderNetwork, type RenderedNetwork } from '../ipam/multus-config/multus-config-render.js';
import { reviewSpiderMultusConfig } from '../ipam/multus-config/multus-config-review.js';
import { CR_NAME_ANNOTATION, SpiderMultusConfig } from '../ipam/multus-config/spider-multus-config.js';
import { apiVersionOf, SPIDER_MULTUS_CONFIG } from '../kube/resources.js';

const Meta = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1),
  uid: z.string().min(1),
  resourceVersion: z.string().optional(),
  deletionTimestamp: z.string().nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
  ownerReferences: z.array(OwnerReference).nullish(),
});

/**
 * An smc as cached: sound metadata, the rest as it is. The spec is judged at
 * reconcile (a malformed one is reported, and its NAD left alone), not by the cache,
 * which would make a malformed smc look deleted and its NAD go with it.
 */
export const MultusConfigRecord = z.looseObject({ metadata: Meta, spec: z.unknown() });
export type MultusConfigRecord = z.infer<typeof MultusConfigRecord>;

export const NetworkRecord = z.looseObject({
  metadata: Meta,
  spec: z.looseObject({ config: z.string().nullish() }).nullish(),
});
export type NetworkRecord = z.infer<typeof NetworkRecord>;

/** The smc (by name) that is a NAD's controller, if any. */
export function controllingMultusConfig(nad: NetworkRecord): OwnerReference | undefined {
  return nad.metadata.ownerReferences?.find((ref) => ref.controller === true && ref.kind === SPIDER_MULTUS_CONFIG.kind && ref.apiVersion.startsWith(`${SPIDER_MULTUS_CONFIG.group}/`));
}

export interface NetworkBody {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations: Record<string, string>; ownerReferences: OwnerReference[] };
  spec: { config?: string };
}

export type NetworkPlan =
  | { action: 'none' }
  | { action: 'create'; body: NetworkBody }
  | { action: 'update'; uid: string; resourceVersion?: string; annotations: Record<string, string>; spec: { config?: string } }
  /** The NAD is being deleted (the GC, or a user): look again shortly. */
  | { action: 'wait'; reason: string }
  /** Left by an earlier smc of this name (its owner is gone): delete it, then create. */
  | { action: 'replace-stale'; uid: string }
  /** Not Underpin's to change: say so on the smc. */
  | { action: 'foreign'; reason: string; message: string }
  /** The smc itself cannot be rendered (written past the webhook). */
  | { action: 'invalid'; message: string };

function desiredSpec(rendered: RenderedNetwork): { config?: string } {
  return rendered.config === undefined ? {} : { config: rendered.config };
}

function sameAnnotations(a: Record<string, string> | null | undefined, b: Record<string, string>): boolean {
  const left = a ?? {};
  const keys = Object.keys(left);
  return keys.length === Object.keys(b).length && keys.every((k) => left[k] === b[k]);
}

/**
 * `liveOwner(uid)`: does an smc with this uid exist (in the cache)? A NAD controlled by
 * an smc that is gone is a leftover the garbage collector has not reached yet.
 */
export function planNetwork(record: MultusConfigRecord, existing: NetworkRecord | undefined, liveOwner: (uid: string) => boolean): NetworkPlan {
  const { name, namespace, uid } = record.metadata;
  const parsed = SpiderMultusConfig.safeParse(record);
  const verdict = parsed.success ? reviewSpiderMultusConfig('CREATE', record, undefined, { siblings: [], poolFamily: () => undefined }) : undefined;
  if (!parsed.success || !verdict?.allowed) {
    const problems = parsed.success ? (verdict && !verdict.allowed ? verdict.problems : []) : parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    return { action: 'invalid', message: `SpiderMultusConfig ${namespace}/${name} cannot be rendered: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}; fix it (kubectl edit smc -n ${namespace} ${name}), the webhook says what is wrong` };
  }
  const rendered = renderNetwork(parsed.data);
  const owner: OwnerReference = { apiVersion: apiVersionOf(SPIDER_MULTUS_CONFIG), kind: SPIDER_MULTUS_CONFIG.kind, name, uid, controller: true, blockOwnerDeletion: true };
  const body: NetworkBody = {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: rendered.name, namespace, annotations: rendered.annotations, ownerReferences: [owner] },
    spec: desiredSpec(rendered),
  };
  if (!existing) return { action: 'create', body };
  const nad = `NetworkAttachmentDefinition ${namespace}/${rendered.name}`;
  if (existing.metadata.deletionTimestamp) return { action: 'wait', reason: `${nad} is being deleted` };
  const controller = controllingMultusConfig(existing);
  if (controller?.uid === uid) {
    const upToDate = (existing.spec?.config ?? undefined) === rendered.config && sameAnnotations(existing.metadata.annotations, rendered.annotations);
    return upToDate ? { action: 'none' } : { action: 'update', uid: existing.metadata.uid, ...(existing.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}), annotations: rendered.annotations, spec: desiredSpec(rendered) };
  }
  if (controller && controller.name === name && !liveOwner(controller.uid)) return { action: 'replace-stale', uid: existing.metadata.uid };
  const fix = `delete it (kubectl delete net-attach-def -n ${namespace} ${rendered.name}) to have Underpin render it from this SpiderMultusConfig, or re-create this SpiderMultusConfig with annotation ${CR_NAME_ANNOTATION} naming another NetworkAttachmentDefinition`;
  if (controller) {
    return { action: 'foreign', reason: 'NetworkAttachmentDefinitionOwnedElsewhere', message: `${nad} is rendered from SpiderMultusConfig ${namespace}/${controller.name}, not from this one, and is left as it is; ${fix}` };
  }
  return { action: 'foreign', reason: 'NetworkAttachmentDefinitionNotOwned', message: `${nad} exists and was not made from this SpiderMultusConfig (it has no controller reference to it), so Underpin leaves it as it is; ${fix}` };
}
