// A StatefulSet pod gets its ordinal's addresses back: the ordinal keeps one binding
// id across its pods, and each NIC and family takes the address its earlier pod's
// claim still holds, while the pool still has it.
import { createHash, randomBytes } from 'node:crypto';
import type { Address, IPFamily } from './address.js';
import type { PoolView } from './pool-candidates.js';

/** A claim of the ordinal's earlier pod, as retention reads it. */
export interface OrdinalClaim {
  spec: { interface: string; pool: string };
  inUse: { address: Address };
}

/** A StatefulSet ordinal keeps one binding id across its pods, so its retained claims match; any other pod gets a random one. */
export function podBindingID(namespace: string, ordinal?: { statefulSet: string; ordinal: number }): string {
  if (!ordinal) return randomBytes(12).toString('hex');
  return `s${createHash('sha256').update(`${namespace}/${ordinal.statefulSet}/${ordinal.ordinal}`).digest('hex').slice(0, 23)}`;
}

/**
 * The address the ordinal keeps for this NIC and family: its earlier claim's, when
 * that claim's pool is among the NIC's candidates and still holds the address.
 */
export function retainedAddress(
  retained: readonly OrdinalClaim[],
  nic: { interface: string; family: IPFamily; candidates: readonly PoolView[] },
): { pool: PoolView; address: Address } | undefined {
  const kept = retained.find((c) => c.spec.interface === nic.interface && c.inUse.address.family === nic.family && nic.candidates.some((p) => p.name === c.spec.pool));
  if (!kept) return undefined;
  const pool = nic.candidates.find((p) => p.name === kept.spec.pool)!;
  return pool.block.usable.containsAddress(kept.inUse.address) ? { pool, address: kept.inUse.address } : undefined;
}
