// Addresses this replica is claiming right now or just claimed: taken until the
// informer shows them. Only to avoid racing ourselves until the cache shows the
// claim (milliseconds on a healthy cluster); correctness rests on the claim's name.
import type { Address } from '../ipam/address.js';
import type { ClaimRequest, ClaimStore, ReservedClaim } from '../ipam/claim-store.js';

const key = (address: Address) => `${address.family}/${address.value}`;

/** A ClaimStore that remembers, for a moment, what it is asked to reserve. */
export class RecentClaims implements ClaimStore {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly store: ClaimStore,
    private readonly holdMs = 3_000,
  ) {}

  reserve(claim: ClaimRequest): Promise<ReservedClaim | undefined> {
    // Marked before the write: a parallel job of this replica must not pick it meanwhile.
    this.until.set(key(claim.address), Date.now() + this.holdMs);
    return this.store.reserve(claim);
  }

  release(address: Address, uid?: string): Promise<void> {
    this.until.delete(key(address));
    return this.store.release(address, uid);
  }

  get(address: Address) {
    return this.store.get(address);
  }

  has(address: Address): boolean {
    const until = this.until.get(key(address));
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.until.delete(key(address));
      return false;
    }
    return true;
  }
}
