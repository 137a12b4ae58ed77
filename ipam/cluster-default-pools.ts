// The cluster default pools, for NICs nothing else names pools for: the ones the
// settings list (clusterDefaultIPv4IPPool/clusterDefaultIPv6IPPool) in their order,
// then the pools marked spec.default: true, by name.
import type { PoolView } from './pool-candidates.js';

export interface ConfiguredDefaultPools {
  ipv4: readonly string[];
  ipv6: readonly string[];
}

export function clusterDefaultPools(configured: ConfiguredDefaultPools | undefined, pools: Iterable<PoolView>): { ipv4: string[]; ipv6: string[] } {
  const marked = { ipv4: [] as string[], ipv6: [] as string[] };
  for (const pool of pools) {
    if (pool.spec.default) marked[pool.block.family === 4 ? 'ipv4' : 'ipv6'].push(pool.name);
  }
  const first = configured ?? { ipv4: [], ipv6: [] };
  const merge = (listed: readonly string[], then: string[]) => [...listed, ...then.sort().filter((name) => !listed.includes(name))];
  return { ipv4: merge(first.ipv4, marked.ipv4), ipv6: merge(first.ipv6, marked.ipv6) };
}
