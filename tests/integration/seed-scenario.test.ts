// The seed scenario of DESIGN.md on the real control plane: two SpiderSubnets, a
// Deployment with two NICs and ippool-ip-number '+1', auto pools of replicas+1
// addresses that follow kubectl scale, and everything gone with the Deployment.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { decodeBinding } from '../../ipam/binding.js';
import { eventually } from '../../hack/processes.js';
import { repoPath } from '../../hack/repo-paths.js';
import { checkConverged } from './consistency.js';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t);
const kubectl = cluster.kubectl;
const json = async (args: string[]) => {
  const r = await kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};

interface PoolSummary {
  name: string;
  ips: string[];
  size: number;
}
async function autoPools(): Promise<PoolSummary[]> {
  const list = await json(['get', 'spiderippools', '-l', 'ipam.spidernet.io/owner-application-name=test-app']);
  return list.items
    .map((p: { metadata: { name: string }; spec: { ips?: string[] } }) => ({
      name: p.metadata.name,
      ips: p.spec.ips ?? [],
      size: (p.spec.ips ?? []).reduce((n: number, r: string) => {
        const [a, b = a] = r.split('-');
        return n + Number(b!.split('.').at(-1)) - Number(a!.split('.').at(-1)) + 1;
      }, 0),
    }))
    .sort((a: PoolSummary, b: PoolSummary) => a.name.localeCompare(b.name));
}
async function livePods() {
  const list = await json(['get', 'pods', '-l', 'app=test-app']);
  return list.items.filter((p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp);
}
const sizesAre = (n: number) => async () => {
  const pools = await autoPools();
  return pools.length === 2 && pools.every((p) => p.size === n) ? pools : undefined;
};

t.test('seed scenario', async (t) => {
  const manifests = readFileSync(repoPath('hack', 'dev', 'demo', 'seed.yaml'), 'utf8');
  const applied = await kubectl(['apply', '-f', '-'], manifests);
  t.equal(applied.code, 0, applied.stderr);

  const pools = await eventually('two auto pools of 3', sizesAre(3));
  t.match(pools[0]!.name, /^auto4-test-app-eth0-[0-9a-f]{5}$/);
  t.match(pools[1]!.name, /^auto4-test-app-net1-[0-9a-f]{5}$/);
  // As upstream: a subnet's ALLOCATED-IP-COUNT is what it handed to pools (2 replicas + 1).
  const subnets = await eventually('subnets count their pools', async () => {
    const r = await kubectl(['get', 'ss', '--no-headers']);
    return /^subnet-10-6\s+4\s+10\.6\.0\.0\/16\s+3\s+191\s*$/m.test(r.stdout) && /^subnet-10-7\s+4\s+10\.7\.0\.0\/16\s+3\s+191\s*$/m.test(r.stdout) ? r.stdout : undefined;
  });
  t.pass(`kubectl get ss:\n${subnets}`);

  const checkPods = async (count: number) => {
    const pods = await eventually(`${count} bound pods`, async () => {
      const pods = await livePods();
      return pods.length === count && pods.every((p: { metadata: { annotations?: Record<string, string> } }) => p.metadata.annotations?.['underpin.dev/binding']) ? pods : undefined;
    });
    const current = await autoPools();
    const seen = new Set<string>();
    for (const pod of pods) {
      const binding = decodeBinding(pod.metadata.annotations['underpin.dev/binding'])!;
      for (const [nic, pool] of [['eth0', current[0]!], ['net1', current[1]!]] as const) {
        const address = binding.interfaces.find((i) => i.interface === nic)?.ipv4;
        t.equal(address?.pool, pool.name, `${pod.metadata.name} ${nic} from ${pool.name}`);
        seen.add(address!.address);
      }
    }
    t.equal(seen.size, count * 2, 'no address shared');
  };
  await checkPods(2);
  // The reconciler has bound every claim to its pod (so it knows the pods' UIDs).
  await eventually('claims bound', async () => {
    const claims = await json(['get', 'ipclaims']);
    return claims.items.length === 4 && claims.items.every((c: { status?: { phase?: string } }) => c.status?.phase === 'Bound');
  });

  // Pods deleted: replacements bound inside the same pools.
  const before = (await livePods()).map((p: { metadata: { name: string } }) => p.metadata.name);
  t.equal((await kubectl(['delete', 'pod', ...before, '--grace-period=0', '--force'])).code, 0);
  await eventually('replacements', async () => {
    const pods = await livePods();
    return pods.length === 2 && pods.every((p: { metadata: { name: string } }) => !before.includes(p.metadata.name)) ? pods : undefined;
  });
  await checkPods(2);

  t.equal((await kubectl(['scale', 'deployment', 'test-app', '--replicas', '3'])).code, 0);
  await eventually('pools of 4', sizesAre(4));
  await checkPods(3);

  t.equal((await kubectl(['scale', 'deployment', 'test-app', '--replicas', '1'])).code, 0);
  // Scaled-down pods are deleted; force them away as a kubelet would.
  await eventually('one pod left', async () => {
    const pods = await json(['get', 'pods', '-l', 'app=test-app']);
    const terminating = pods.items.filter((p: { metadata: { deletionTimestamp?: string } }) => p.metadata.deletionTimestamp).map((p: { metadata: { name: string } }) => p.metadata.name);
    if (terminating.length > 0) await kubectl(['delete', 'pod', ...terminating, '--grace-period=0', '--force']);
    return (await livePods()).length === 1;
  });
  await eventually('pools of 2', sizesAre(2));
  await checkConverged(cluster);
  t.pass('underpin check: no breach, no drift');

  t.equal((await kubectl(['delete', 'deployment', 'test-app'])).code, 0);
  await eventually('pods gone', async () => {
    const pods = await json(['get', 'pods', '-l', 'app=test-app']);
    if (pods.items.length > 0) await kubectl(['delete', 'pod', '-l', 'app=test-app', '--grace-period=0', '--force']);
    return pods.items.length === 0;
  });
  await eventually('pools and claims gone', async () => {
    const pools = await autoPools();
    const claims = await json(['get', 'ipclaims']);
    return pools.length === 0 && claims.items.length === 0;
  });
});
