#!/usr/bin/env node
// `underpin check`: the consistency checker (as `calicoctl ipam check`). Reads pods,
// IPClaims, pools, subnets, reserved IPs and StatefulSets through the API and reports
// every breach of Underpin's invariants and every drift, with the objects to look at
// and what to do. Exit status: 0 no breach (drift is reported, not failed), 1 a breach,
// 2 the check could not run (bad flags, API unreachable).
//
//   npx underpin check [--kubeconfig FILE] [-o text|json] [--orphan-claim-ttl-seconds N]
//   kubectl -n underpin-system exec deploy/underpin-controller -c reconciler -- /nodejs/bin/node dist/reconciler/check/main.js check
import { z } from 'zod';
import { renderJson, renderText, type CheckReport } from './report.js';
import { runCheck } from './run.js';

const USAGE = `usage: underpin check [options]
  --kubeconfig FILE              API credentials (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)
  -o, --output text|json         how to report (default text)
  --orphan-claim-ttl-seconds N   the reconciler's orphanClaimTtlSeconds: a younger claim may still wait for its pod (default 120)
exit status: 0 no breach (drift is reported), 1 a breach of an invariant, 2 the check could not run`;

const CheckOptions = z.object({
  kubeconfig: z.string().min(1).optional(),
  output: z.enum(['text', 'json'], { error: 'must be text or json' }).default('text'),
  orphanClaimTtlSeconds: z.coerce.number({ error: 'must be a number of seconds' }).positive({ error: 'must be more than 0 seconds' }).default(120),
});
type CheckOptions = z.infer<typeof CheckOptions>;

const FLAGS: Record<string, keyof CheckOptions> = { '--kubeconfig': 'kubeconfig', '-o': 'output', '--output': 'output', '--orphan-claim-ttl-seconds': 'orphanClaimTtlSeconds' };

function parseArgs(argv: string[]): { ok: true; options: CheckOptions } | { ok: false; error: string } | { ok: true; help: true } {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') return { ok: true, help: true };
  if (command !== 'check') return { ok: false, error: command ? `unknown command "${command}"; the one command is "check"` : 'no command; run "underpin check"' };
  const raw: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return { ok: true, help: true };
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const field = FLAGS[flag];
    if (!field) return { ok: false, error: `unknown option ${flag}` };
    const value = inline ?? rest[++i];
    if (value === undefined) return { ok: false, error: `${flag} needs a value` };
    raw[field] = value;
  }
  const parsed = CheckOptions.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = Object.entries(FLAGS).find(([, f]) => f === issue.path[0])?.[0] ?? String(issue.path[0]);
    return { ok: false, error: `${flag}: ${issue.message}` };
  }
  return { ok: true, options: parsed.data };
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`underpin: ${parsed.error}\n${USAGE}\n`);
    return 2;
  }
  if ('help' in parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { options } = parsed;
  let result: CheckReport;
  try {
    result = await runCheck(options);
  } catch (error) {
    process.stderr.write(`underpin check: could not read the cluster: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(options.output === 'json' ? renderJson(result) : renderText(result));
  return result.findings.some((f) => f.severity === 'breach') ? 1 : 0;
}

main().then((code) => process.exit(code));
