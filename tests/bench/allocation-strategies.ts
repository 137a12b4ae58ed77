// Benchmark (not a test): how fast concurrent allocations lock an address, Underpin's
// way against the way Spiderpool and Whereabouts do it, in one run on the real local
// control plane.
//   npm run bench:allocation
//
// - Underpin: one IPClaim per address, named after it; creating it is the lock
//   (AlreadyExists: take the next free address). Writers never touch a shared object.
// - Pool-object CAS (Spiderpool writes SpiderIPPool.status.allocatedIPs, Whereabouts
//   its IPPool's spec.allocations): read the pool, add the address to its allocation
//   map, write it back with the read's resourceVersion; on 409 read and try again.
//   Every allocation in a pool rewrites the one object, so concurrent writers conflict
//   and the object grows with the pool.
//
// Both lock the same number of addresses with the same concurrency, through the same
// API server, from this process (no webhook, no reconciler: the lock alone).
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { installUnderpin } from '../../hack/dev/underpin-install.js';
import { formatAddress, parseAddress, type Address } from '../../ipam/address.js';
import { chooseFreeAddress } from '../../ipam/choose-address.js';
import { parseRangeList } from '../../ipam/range-set.js';
import { APIClaimStore } from '../../kube/api-claim-store.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { customObject, SPIDER_IPPOOL } from '../../kube/resources.js';
import { inBatches, percentile } from './load.js';

const N = Number(process.env.BENCH_ALLOCATIONS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

interface RunFigures {
  perSecond: number;
  p50: number;
  p99: number;
  retries: number;
}

async function timed(lock: (i: number) => Promise<number>): Promise<RunFigures> {
  const latencies: number[] = [];
  let retries = 0;
  const start = process.hrtime.bigint();
  await inBatches(N, CONCURRENCY, async (i) => {
    const t0 = process.hrtime.bigint();
    const lost = await lock(i); // not `retries += await …`: that reads retries before the await
    retries += lost;
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  return { perSecond: N / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), retries };
}

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-alloc-'));
const plane = await LocalControlPlane.start({ dir, controllers: false });
try {
  const underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), reconcilerReplicas: 0 });
  const kubectl = (args: string[], input?: string) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
  const pool = (name: string, ips: string) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.0.0.0/8', ips: [ips] } });
  const applied = await kubectl(['apply', '-f', '-'], [pool('bench-claims', '10.1.0.0-10.1.255.255'), pool('bench-cas', '10.2.0.0-10.2.255.255')].map((o) => stringify(o)).join('---\n'));
  if (applied.code !== 0) throw new Error(applied.stderr);
  const kc = loadKubeConfig(plane.kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);

  // Underpin: claims. Each writer knows what it claimed itself; others' claims show up as AlreadyExists.
  const claimsRange = parseRangeList(['10.1.0.0-10.1.255.255'], 4);
  if (!claimsRange.ok) throw new Error('range');
  const store = new APIClaimStore(kc);
  const taken = new Set<bigint>();
  const claims = await timed(async (i) => {
    let lost = 0;
    for (;;) {
      const address = chooseFreeAddress(claimsRange.value.set, (a) => taken.has(a.value), `bench-${i}`);
      if (!address) throw new Error('claims pool full');
      taken.add(address.value);
      if (await store.reserve({ address, pool: 'bench-claims', interface: 'eth0', namespace: 'bench', bindingID: `bench-${i}` })) return lost;
      lost++;
    }
  });

  // Pool-object CAS, as Spiderpool and Whereabouts lock.
  const casRange = parseRangeList(['10.2.0.0-10.2.255.255'], 4);
  if (!casRange.ok) throw new Error('range');
  type PoolObject = { metadata: { resourceVersion: string }; status?: { allocatedIPs?: string } };
  const cas = await timed(async (i) => {
    let conflicts = 0;
    for (;;) {
      const current = (await custom.getClusterCustomObject({ ...customObject(SPIDER_IPPOOL), name: 'bench-cas' })) as PoolObject;
      const allocated = JSON.parse(current.status?.allocatedIPs ?? '{}') as Record<string, { pod: string }>;
      const inUse = new Set(Object.keys(allocated).map((text) => (parseAddress(text, 4) as { ok: true; value: Address }).value.value));
      const address = chooseFreeAddress(casRange.value.set, (a) => inUse.has(a.value), `bench-${i}`);
      if (!address) throw new Error('CAS pool full');
      allocated[formatAddress(address)] = { pod: `bench/p-${i}` };
      try {
        await custom.replaceClusterCustomObjectStatus({ ...customObject(SPIDER_IPPOOL), name: 'bench-cas', body: { ...current, status: { ...(current.status ?? {}), allocatedIPs: JSON.stringify(allocated) } } });
        return conflicts;
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) {
          conflicts++;
          continue;
        }
        throw error;
      }
    }
  });

  const line = (name: string, f: RunFigures, what: string) =>
    console.log(`  ${name}: ${f.perSecond.toFixed(0)} addresses/s, latency p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, ${f.retries} ${what}`);
  console.log(`address locking benchmark: ${N} allocations, ${CONCURRENCY} at a time, one pool each`);
  line('Underpin (one IPClaim per address)', claims, 'AlreadyExists retries');
  line('pool-object CAS (Spiderpool, Whereabouts)', cas, '409 conflicts retried');
  console.log(`  ratio Underpin / pool-object CAS: ${(claims.perSecond / cas.perSecond).toFixed(2)}× the throughput, p99 ${(cas.p99 / claims.p99).toFixed(2)}× lower`);
  await underpin.stop();
} finally {
  await plane.stop({ removeData: true });
}
