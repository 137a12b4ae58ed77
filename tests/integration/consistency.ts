// Integration tests assert the invariants through `underpin check` (what an operator
// runs): once the cluster has converged, no breach and no drift.
import { eventually } from '../../hack/processes.js';
import type { CheckReport } from '../../reconciler/check/report.js';
import { renderText } from '../../reconciler/check/report.js';
import { runCheck } from '../../reconciler/check/run.js';
import type { LocalCluster } from './local-cluster.js';

/** The check's report once it is clean; on a timeout, the error carries the last report. */
export async function checkConverged(
  cluster: LocalCluster,
  options: { orphanClaimTtlSeconds?: number; timeoutMs?: number; /** What else converged means (e.g. so many claims). */ also?: (report: CheckReport) => boolean } = {},
): Promise<CheckReport> {
  let last: CheckReport | undefined;
  try {
    return await eventually(
      'underpin check reports no breach and no drift',
      async () => {
        last = await runCheck({ kubeconfig: cluster.plane.kubeconfig, orphanClaimTtlSeconds: options.orphanClaimTtlSeconds ?? 120 });
        return last.findings.length === 0 && (options.also?.(last) ?? true) ? last : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${last ? renderText(last) : '(the check never ran)'}`, { cause: error });
  }
}
