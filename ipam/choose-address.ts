// Choosing a free address in a pool: pure, given what is taken. Each request
// starts at a different point of the pool (derived from its binding id), so
// concurrent admissions on several webhook replicas rarely race for one address.
import { createHash } from 'node:crypto';
import type { Address } from './address.js';
import type { RangeSet } from './range-set.js';

/** The start offset for a request: stable for one binding id, spread across ids. */
export function startOffset(seed: string, size: bigint): bigint {
  if (size <= 0n) return 0n;
  const digest = createHash('sha256').update(seed).digest();
  return digest.readBigUInt64BE(0) % size;
}

/** The address at `index` (0-based) of `set`, walking ranges without expanding them. */
function addressAt(set: RangeSet, index: bigint): Address | undefined {
  let remaining = index;
  for (const range of set.ranges) {
    const size = range.last - range.first + 1n;
    if (remaining < size) return { family: set.family, value: range.first + remaining };
    remaining -= size;
  }
  return undefined;
}

/**
 * The first address of `available` at or after `start` (wrapping around) that
 * `isTaken` does not reject. Visits each address at most once.
 */
export function chooseFreeAddress(available: RangeSet, isTaken: (address: Address) => boolean, seed: string): Address | undefined {
  const size = available.count();
  if (size === 0n) return undefined;
  const start = startOffset(seed, size);
  // Walk [start, end) then [0, start): two lazy passes over the ranges.
  for (const [from, to] of [
    [start, size],
    [0n, start],
  ] as const) {
    for (let i = from; i < to; i++) {
      const address = addressAt(available, i);
      if (address && !isTaken(address)) return address;
    }
  }
  return undefined;
}
