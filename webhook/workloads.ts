// Admission of applications (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob) and their scale subresource, in the validating webhook (which sees the
// UID). The application's pod template is judged as pod admission will judge its
// pods (ipam/workload-judgement.ts) on the auto pools its admission plans: what would
// refuse every pod refuses the application at `kubectl apply`, what would refuse some
// is a warning. Only an application admitted gets its auto pools created or resized,
// BEFORE it is, so its first pods find them (ipam/auto-pool-sizer.ts).
import { AutoPoolSizer, recordingWrites, type AutoPoolState, type SizingRefusal } from '../ipam/auto-pool-sizer.js';
import type { PodBindingPolicy } from '../ipam/bind-pod.js';
import type { Result } from '../ipam/result.js';
import { judgeWorkload, withPlannedPools, type WorkloadFinding, type WorkloadJudgeSource } from '../ipam/workload-judgement.js';
import { desiredReplicas, partOfParentApplication, podTemplate, templateNetworking, Workload, workloadReplicas } from '../ipam/workload.js';
import { allow, deny, withFindings, type AdmissionDecision, type AdmissionRequest } from './admission-review.js';

/** The object a scale subresource request scales (its template is in the parent). */
export type ReadWorkload = (resource: string, namespace: string, name: string) => Promise<unknown>;

export interface WorkloadAdmissionOptions {
  /** N of the default `+N` when `ippool-ip-number` is absent. */
  defaultExtraAddresses: number;
  /** The pod webhook's pool defaults: a template is judged as its pods will be. */
  policy: PodBindingPolicy;
}

export interface WorkloadAdmissionState {
  /** What auto pool sizing reads and writes. */
  pools: AutoPoolState;
  /** What pod admission reads, and who holds each pool's addresses. */
  pods: WorkloadJudgeSource & { readonly hasSynced: boolean };
  readWorkload: ReadWorkload;
}

const SIZING_REASON = 'auto-pool-sizing';

export class WorkloadAdmission {
  private readonly sizer: AutoPoolSizer;

  constructor(
    private readonly state: WorkloadAdmissionState,
    private readonly options: WorkloadAdmissionOptions,
  ) {
    this.sizer = new AutoPoolSizer(state.pools, options);
  }

  async validate(request: AdmissionRequest): Promise<AdmissionDecision> {
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow();
    const namespace = request.namespace ?? '';
    const scale = request.subResource === 'scale';
    let object: unknown = request.object;
    let replicasOverride: number | undefined;
    if (scale) {
      // kubectl scale / HPA: the new size is in the Scale object, the template in the parent.
      replicasOverride = (request.object as { spec?: { replicas?: number } } | null)?.spec?.replicas ?? undefined;
      object = await this.state.readWorkload(request.resource.resource, namespace, request.name ?? '');
    }
    const parsed = Workload.safeParse(object);
    if (!parsed.success) return allow(); // not an application we judge; the API server validates it
    const workload = parsed.data;
    if (partOfParentApplication(workload)) return allow();
    const before = request.operation === 'UPDATE' && !scale ? Workload.safeParse(request.oldObject) : undefined;
    const old = before?.success ? before.data : undefined;
    // An update that leaves the template's networking alone (an image bump, a scale)
    // is never refused for a problem that was there before it: it is warned of.
    const networkingKept = scale || (old !== undefined && templateNetworking(old) === templateNetworking(workload));
    if (!this.state.pools.hasSynced || !this.state.pods.hasSynced) {
      return deny('the Underpin webhook is still loading the cluster state; retry in a few seconds', 503, 'ServiceUnavailable');
    }

    const display = `${workload.kind} ${namespace}/${workload.metadata.name ?? ''}`;
    const replicas = await workloadReplicas(workload, (selector) => this.state.pools.countNodes(selector), replicasOverride);
    const findings: Finding[] = [];
    let sizable = true;
    let sizingWarnings: string[] = [];
    // Nothing its pods depend on changed (its labels, its status): keep its pools in step, judge nothing new.
    if (!(old && podsUnchanged(old, workload))) {
      // The auto pools this admission would write, and the template judged on them.
      const planned = recordingWrites(this.state.pools);
      const sizing = await new AutoPoolSizer(planned.state, this.options).size(workload, namespace, replicas);
      if (!sizing.ok && sizing.error.code) return ourFault(display, sizing.error, sizing.error.code);
      const judged = await judgeWorkload({ workload, namespace, replicas, policy: this.options.policy }, withPlannedPools(this.state.pods, planned.pools()));
      sizable = sizing.ok;
      if (sizing.ok) sizingWarnings = sizing.value;
      const denial = refusal(judged.denial, sizing);
      if (denial && !networkingKept) {
        // As for a pod: what does not read is Invalid, what cannot be given Forbidden.
        const refused = denial.reason === 'invalid-request' ? deny(`${display}: ${denial.message}`) : deny(`${display}: ${denial.message}`, 403, 'Forbidden');
        return withFindings(refused, [{ verdict: 'denied', reason: denial.reason }]);
      }
      if (denial) findings.push({ reason: denial.reason, message: `${denial.message} (admitted: this update leaves the pod template's networking as it was, but its new pods will be refused until this is fixed)` });
      findings.push(...judged.warnings);
    }
    if (sizable && request.dryRun !== true) {
      const sized = await this.sizer.size(workload, namespace, replicas);
      if (!sized.ok) {
        if (sized.error.code) return ourFault(display, sized.error, sized.error.code);
        // Judged above on this state a moment ago; what fails now is a race (another
        // application took the subnet's last addresses) or an old problem.
        if (!networkingKept) return withFindings(deny(`${display}: ${sized.error.message}`, 403, 'Forbidden'), [{ verdict: 'denied', reason: SIZING_REASON }]);
        findings.push({ reason: SIZING_REASON, message: sized.error.message });
      } else {
        sizingWarnings = sized.value;
      }
    }
    findings.push(...sizingWarnings.map((message) => ({ reason: 'auto-pool-kept-larger', message })));
    const warned = findings.map((f) => ({ verdict: 'warned' as const, reason: f.reason }));
    return withFindings(allow(undefined, unique(findings.map((f) => `${display}: ${f.message}`))), warned);
  }
}

interface Finding {
  reason: string;
  message: string;
}

const unique = (messages: string[]) => [...new Set(messages)];

/** Sizing failed on our side (500: no uid, 503: still loading), not the application's. */
const ourFault = (display: string, error: SizingRefusal, code: 500 | 503) => deny(`${display}: ${error.message}`, code, code === 503 ? 'ServiceUnavailable' : 'InternalError');

/** Neither its pod template, its size nor its update strategy changed: its pods are as they were. */
function podsUnchanged(old: Workload, workload: Workload): boolean {
  const forPods = (w: Workload) => JSON.stringify([podTemplate(w), desiredReplicas(w, 0), w.spec.strategy, w.spec.updateStrategy]);
  return forPods(old) === forPods(workload);
}

/**
 * What refuses the application, if anything: the template's own denial first (a pod
 * would say the same), but where it says only that the auto pool is missing, why the
 * pool could not be planned (no such subnet, no room in it).
 */
function refusal(denial: WorkloadFinding | undefined, sizing: Result<string[], SizingRefusal>): { reason: string; message: string } | undefined {
  if (!sizing.ok && (!denial || denial.reason === 'no-auto-pool')) return { reason: SIZING_REASON, message: sizing.error.message };
  return denial;
}
