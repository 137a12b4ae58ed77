// Admission for SpiderMultusConfig, on the Spider* routes: defaulting on the mutating
// path, ipam/multus-config's review on the validating path. Thin: parse, ask the
// domain, answer. What the review needs of the cluster (the namespace's other smcs,
// the pools' families) comes from a MultusConfigAdmissionState.
import jsonPatch from 'fast-json-patch';
import { formatProblems } from '../ipam/field-problem.js';
import { defaultSpiderMultusConfig } from '../ipam/multus-config/multus-config-defaults.js';
import { reviewSpiderMultusConfig, type MultusConfigContext, type MultusOperation } from '../ipam/multus-config/multus-config-review.js';
import { SpiderMultusConfig } from '../ipam/multus-config/spider-multus-config.js';
import { allow, deny, type AdmissionDecision, type AdmissionRequest, type PatchOperation } from './admission-review.js';

export interface MultusConfigAdmissionState {
  /** The cluster as an smc of `namespace` is judged against (`name`: the smc itself, left out of its siblings). */
  context(namespace: string, name: string): Promise<MultusConfigContext>;
}

/** No cluster to compare with (unit tests of other kinds): no siblings, no pool known. */
export const ISOLATED_MULTUS_STATE: MultusConfigAdmissionState = {
  context: async () => ({ siblings: [], poolFamily: () => undefined }),
};

export function mutateMultusConfig(request: AdmissionRequest): AdmissionDecision {
  const parsed = SpiderMultusConfig.safeParse(request.object);
  // An object that does not parse is left alone: validation denies it with the details.
  if (!parsed.success) return allow();
  const patch = jsonPatch.compare(request.object as object, defaultSpiderMultusConfig(parsed.data)) as PatchOperation[];
  return allow(patch);
}

export async function validateMultusConfig(request: AdmissionRequest, state: MultusConfigAdmissionState): Promise<AdmissionDecision> {
  if (request.operation === 'DELETE') return allow();
  const namespace = request.namespace ?? '';
  const name = request.name || ((request.object as { metadata?: { name?: string } } | null)?.metadata?.name ?? '');
  const context = await state.context(namespace, name);
  const verdict = reviewSpiderMultusConfig(request.operation as MultusOperation, request.object, request.oldObject, context);
  if (!verdict.allowed) {
    return deny(`SpiderMultusConfig ${namespace}/${name || '(generated name)'} is invalid:\n${formatProblems(verdict.problems)}`);
  }
  return allow(undefined, verdict.warnings);
}
