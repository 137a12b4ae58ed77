// Admission of applications (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob) and their scale subresource: an application whose pod template names
// subnets gets its auto pools created or resized BEFORE it is admitted, so its
// first pods find them. Runs in the validating webhook, which sees the UID. The
// sizing is the domain's (ipam/auto-pool-sizer.ts); this is its admission adapter.
import { AutoPoolSizer, withoutWrites, type AutoPoolState } from '../ipam/auto-pool-sizer.js';
import { Workload } from '../ipam/workload.js';
import { allow, deny, type AdmissionDecision, type AdmissionRequest } from './admission-review.js';

/** The object a scale subresource request scales (its template is in the parent). */
export type ReadWorkload = (resource: string, namespace: string, name: string) => Promise<unknown>;

export interface WorkloadAdmissionOptions {
  /** N of the default `+N` when `ippool-ip-number` is absent. */
  defaultExtraAddresses: number;
}

export class WorkloadAdmission {
  private readonly sizer: AutoPoolSizer;
  private readonly dryRunSizer: AutoPoolSizer;

  constructor(
    state: AutoPoolState,
    private readonly readWorkload: ReadWorkload,
    options: WorkloadAdmissionOptions,
  ) {
    this.sizer = new AutoPoolSizer(state, options);
    this.dryRunSizer = new AutoPoolSizer(withoutWrites(state), options);
  }

  async validate(request: AdmissionRequest): Promise<AdmissionDecision> {
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow();
    const namespace = request.namespace ?? '';
    let object: unknown = request.object;
    let replicas: number | undefined;
    if (request.subResource === 'scale') {
      // kubectl scale / HPA: the new size is in the Scale object, the template in the parent.
      replicas = (request.object as { spec?: { replicas?: number } } | null)?.spec?.replicas ?? undefined;
      object = await this.readWorkload(request.resource.resource, namespace, request.name ?? '');
    }
    const parsed = Workload.safeParse(object);
    if (!parsed.success) return allow(); // not an application we size; the API server validates it
    const sizer = request.dryRun === true ? this.dryRunSizer : this.sizer;
    const outcome = await sizer.size(parsed.data, namespace, replicas);
    if (outcome.ok) return allow(undefined, outcome.value);
    const { message, code = 403 } = outcome.error;
    return deny(message, code, code === 503 ? 'ServiceUnavailable' : 'Forbidden');
  }
}
