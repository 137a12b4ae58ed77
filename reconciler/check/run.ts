// One run of `underpin check`: read, judge, and confirm breaches on a second read.
import { loadKubeConfig } from '../../kube/kube-config.js';
import { checkConsistency, type Finding } from './consistency.js';
import type { CheckReport } from './report.js';
import { readSnapshot, type Snapshot } from './snapshot.js';

export interface RunCheckOptions {
  kubeconfig?: string | undefined;
  orphanClaimTtlSeconds: number;
}

const identity = (f: Finding) => `${f.check} ${f.objects.join(' ')}`;

function report(snapshot: Snapshot, findings: Finding[]): CheckReport {
  return {
    counted: {
      pods: snapshot.pods.length,
      claims: snapshot.claims.length,
      pools: snapshot.pools.length,
      subnets: snapshot.subnets.length,
      reservedIPs: snapshot.reserved.length,
      statefulSets: snapshot.statefulSets.length,
    },
    unreadable: snapshot.unreadable,
    findings,
  };
}

/** Breaches are confirmed on a second snapshot: one seen only in the first was a pod and its address moving between two lists. */
export async function runCheck(options: RunCheckOptions): Promise<CheckReport> {
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const checkOptions = { orphanTtlMs: options.orphanClaimTtlSeconds * 1000 };
  const first = await readSnapshot(kubeConfig);
  let findings = checkConsistency(first, checkOptions);
  if (findings.some((f) => f.severity === 'breach')) {
    const again = new Set(checkConsistency(await readSnapshot(kubeConfig), checkOptions).map(identity));
    findings = findings.filter((f) => f.severity !== 'breach' || again.has(identity(f)));
  }
  return report(first, findings);
}

