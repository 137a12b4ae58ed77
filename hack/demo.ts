// npm run demo: Underpin on a real local control plane, step by step, with real
// kubectl output. `npm run demo -- --keep` leaves the cluster up afterwards.
import { stringify } from 'yaml';
import { devDown, devUp, type DevState } from './dev-cluster.js';
import { runKubectl } from './kubectl.js';

const keep = process.argv.includes('--keep');

function banner(line: string): void {
  console.log(`\n\x1b[1m==> ${line}\x1b[0m`);
}

async function show(state: DevState, args: string[], input?: string): Promise<{ code: number; out: string }> {
  console.log(`$ kubectl ${args.join(' ')}`);
  const result = await runKubectl(state.kubectl, state.kubeconfig, args, input);
  const out = (result.stdout + result.stderr).trimEnd();
  if (out) console.log(out);
  return { code: result.code, out };
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`demo step failed: ${what}`);
}

const pool = (name: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });

async function walkthrough(state: DevState): Promise<void> {
  banner('A real control plane: kube-apiserver, etcd, controller-manager and scheduler on loopback');
  expect((await show(state, ['version'])).code === 0, 'kubectl version');

  banner("Underpin's CRDs speak the Spiderpool API (short names sp, ss, sr, se)");
  expect((await show(state, ['api-resources', '--api-group=spiderpool.spidernet.io'])).code === 0, 'api-resources');

  banner('An administrator describes an underlay subnet as a SpiderIPPool; the webhook admits it');
  const good = await show(state, ['apply', '-f', '-'], pool('vlan100-v4', { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.20'], gateway: '10.6.0.1' }));
  expect(good.code === 0, 'valid pool admitted');
  await show(state, ['get', 'spiderippools']);

  banner('A mistake is caught at kubectl apply, with a message that names the field and the fix');
  const bad = await show(state, ['apply', '-f', '-'], pool('typo-pool', { subnet: '10.7.0.0/33' }));
  expect(bad.code !== 0 && bad.out.includes('spec.subnet'), 'bad pool denied by the webhook');
}

async function main(): Promise<void> {
  banner('Starting a local cluster with Underpin installed (the first run builds Kubernetes from source: several minutes)');
  const state = await devUp();
  let failed = false;
  try {
    await walkthrough(state);
    banner('Demo complete');
  } catch (error) {
    failed = true;
    console.error(`\n${(error as Error).message}`);
  } finally {
    if (keep) {
      console.log(`\nThe cluster is still up:\n  export KUBECONFIG=${state.kubeconfig}\n  ${state.kubectl} get spiderippools\nStop it with: npm run dev:down`);
    } else {
      banner('Cleaning up (npm run demo -- --keep leaves the cluster up)');
      await devDown();
    }
  }
  if (failed) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(`demo: ${(error as Error).message}`);
  process.exit(1);
});
