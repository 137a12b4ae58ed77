// `underpin check`'s output: text for people (one block per finding: what, where to
// look, what to do; a summary line last), JSON for scripts.
import type { Finding } from './consistency.js';

export interface CheckReport {
  /** What was read. */
  counted: { pods: number; claims: number; pools: number; subnets: number; reservedIPs: number; statefulSets: number };
  unreadable: Record<string, number>;
  findings: Finding[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function summary(report: CheckReport): string {
  const breaches = report.findings.filter((f) => f.severity === 'breach').length;
  const drifts = report.findings.length - breaches;
  if (report.findings.length === 0) return 'no breach, no drift';
  return `${plural(breaches, 'breach', 'breaches')}, ${plural(drifts, 'drift')}`;
}

export function renderText(report: CheckReport): string {
  const c = report.counted;
  const lines = [
    `checked ${plural(c.pods, 'pod')} with a binding, ${plural(c.claims, 'IPClaim')}, ${plural(c.pools, 'SpiderIPPool')}, ${plural(c.subnets, 'SpiderSubnet')}, ${plural(c.reservedIPs, 'SpiderReservedIP')}, ${plural(c.statefulSets, 'StatefulSet')}`,
  ];
  for (const [resource, count] of Object.entries(report.unreadable)) lines.push(`skipped ${count} ${resource} that do not read (not judged)`);
  for (const f of report.findings) {
    lines.push('', `${f.severity.toUpperCase()} ${f.check}: ${f.message}`, `  look at: ${f.objects.join(', ')}`, `  fix: ${f.fix}`);
  }
  lines.push('', summary(report));
  return `${lines.join('\n')}\n`;
}

export function renderJson(report: CheckReport): string {
  const breaches = report.findings.filter((f) => f.severity === 'breach').length;
  return `${JSON.stringify({ ...report, breaches, drifts: report.findings.length - breaches }, null, 2)}\n`;
}
