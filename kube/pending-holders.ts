// Which holders in the admission ledger (webhook/admission-ledger.ts) still hold their
// addresses. An entry only bridges the moment between a replica admitting a pool or
// subnet and the object reaching every cache, but it used to outlive the object: a
// pool deleted and re-created with the same addresses was refused for the ledger's
// grace period, naming a pool that no longer existed. An entry stops counting once
// its object is known to be gone or replaced.
import type { BlockHolder } from '../ipam/address-conflicts.js';

/** A pool or subnet another replica admitted, maybe not in this replica's cache yet. */
export interface PendingHolder extends BlockHolder {
  /** The object's uid at admission; absent in entries written by older replicas. */
  uid?: string;
  /** When it was recorded, by the recording replica's clock. */
  recordedAt: number;
}

/**
 * How long a recorded create may take to appear in the API: the webhook's timeout
 * (timeoutSeconds 10). An entry older than that whose object a fresh read does not
 * show was denied later in the chain, or deleted since.
 */
export const CREATE_SETTLE_MS = 10_000;

export const holderKey = (holder: Pick<BlockHolder, 'kind' | 'name'>) => `${holder.kind}/${holder.name}`;

export interface KnownHolders {
  /** The pools and subnets a read shows, by holderKey, with their uids. */
  uids: ReadonlyMap<string, string | undefined>;
  /** Uids of objects this process saw deleted. */
  gone: ReadonlySet<string>;
  /** True when `uids` was read from the API just now, not from a cache that may lag. */
  fresh: boolean;
  now: number;
}

/** Whether a ledger entry still holds its addresses, given what is known of the objects. */
export function stillPending(entry: PendingHolder, known: KnownHolders): boolean {
  if (entry.uid !== undefined && known.gone.has(entry.uid)) return false;
  const key = holderKey(entry);
  if (known.uids.has(key)) {
    const uid = known.uids.get(key);
    // Same name, another object: the entry's object was deleted and replaced.
    return entry.uid === undefined || uid === undefined || uid === entry.uid;
  }
  // Not there: a cache may not have it yet; the API has it unless the create is still in flight.
  return !known.fresh || known.now - entry.recordedAt < CREATE_SETTLE_MS;
}
