// Filling pools with IPClaims the way the webhook creates them (APIClaimStore.reserve),
// for benchmarks that need a cluster holding tens or hundreds of thousands of claims.
// Their pods never exist: a reconciler next to them needs a long orphan TTL.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Address } from '../../ipam/address.js';
import { APIClaimStore } from '../../kube/api-claim-store.js';
import { inBatches } from './load.js';

export interface ClaimFill {
  pool: string;
  count: number;
  /** The address of claim `i` (0-based). */
  address: (i: number) => Address;
  /** Creates in flight (default 48). */
  concurrency?: number;
  /** Called after every `progressEvery` claims (default 20,000) with how many exist. */
  progress?: (created: number) => void;
  progressEvery?: number;
}

/**
 * Creates `count` claims in `pool`, as ten-replica ReplicaSets' pods would hold them;
 * returns how many were created (a claim already there is not counted).
 */
export async function fillClaims(kubeConfig: KubeConfig, fill: ClaimFill): Promise<number> {
  const store = new APIClaimStore(kubeConfig);
  const every = fill.progressEvery ?? 20_000;
  let created = 0;
  let done = 0;
  await inBatches(fill.count, fill.concurrency ?? 48, async (i) => {
    const app = Math.floor(i / 10);
    const reserved = await store.reserve({
      address: fill.address(i),
      pool: fill.pool,
      interface: 'eth0',
      namespace: 'bench',
      bindingID: `${fill.pool}-app-${app}-${i % 10}`,
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${fill.pool}-app-${app}-5d8c7b9f4d`, uid: `00000000-0000-4000-8000-${String(app).padStart(12, '0')}` },
    });
    if (reserved) created++;
    if (++done % every === 0) fill.progress?.(done);
  });
  return created;
}

/** The `offset`-th IPv4 address after `base` (a dotted quad), for filling a pool in order. */
export function ipv4After(base: string, offset: number): Address {
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  const value = BigInt((((a << 24) >>> 0) + (b << 16) + (c << 8) + d + offset) >>> 0);
  return { family: 4, value };
}

/** Dotted quad of an IPv4 address value. */
export function ipv4Text(address: Address): string {
  const v = Number(address.value);
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}
