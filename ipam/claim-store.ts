// Where the allocator's locks live, as an interface: the allocator never knows
// whether a reservation is an IPClaim in the API (webhook/claim-store.ts), a record
// of what a dry run would reserve, or a map in a unit test.
import { addressToClaimName, formatAddress, type Address } from './address.js';
import { IPCLAIM_API_VERSION, type IPClaim } from './ip-claim.js';

export interface ClaimRequest {
  address: Address;
  pool: string;
  interface: string;
  namespace: string;
  bindingID: string;
  /** The pod's name when known at admission (not for generateName pods). */
  podName?: string;
  owner?: { apiVersion?: string; kind: string; name: string; uid?: string };
  statefulSetOrdinal?: number;
}

/** A claim this request created: `uid` makes sure a release deletes this claim, never a later one of the same address. */
export interface ReservedClaim {
  address: Address;
  uid: string | undefined;
}

export interface ClaimStore {
  /** Create the claim; undefined when the address is claimed already. */
  reserve(claim: ClaimRequest): Promise<ReservedClaim | undefined>;
  /** Delete the claim if it exists (and, given a uid, only if it is still that one). */
  release(address: Address, uid?: string): Promise<void>;
  get(address: Address): Promise<IPClaim | undefined>;
}

/** The IPClaim object a request stands for (name, spec); the API store adds its labels. */
export function claimObject(claim: ClaimRequest) {
  return {
    apiVersion: IPCLAIM_API_VERSION,
    kind: 'IPClaim' as const,
    metadata: { name: addressToClaimName(claim.address) },
    spec: {
      address: formatAddress(claim.address),
      family: claim.address.family,
      pool: claim.pool,
      interface: claim.interface,
      namespace: claim.namespace,
      bindingID: claim.bindingID,
      ...(claim.owner ? { owner: claim.owner } : {}),
      ...(claim.statefulSetOrdinal !== undefined ? { statefulSetOrdinal: claim.statefulSetOrdinal } : {}),
    },
  };
}

/**
 * Claims held in memory, refused by name as the API refuses a second object of one
 * name. The dry-run backend: it records what an admission would reserve and writes
 * nothing anywhere; and the store of unit tests.
 */
export class MemoryClaimStore implements ClaimStore {
  private readonly claims = new Map<string, { uid: string; claim: ClaimRequest }>();
  private nextUID = 0;

  async reserve(claim: ClaimRequest): Promise<ReservedClaim | undefined> {
    const name = addressToClaimName(claim.address);
    if (this.claims.has(name)) return undefined;
    const uid = `memory-${++this.nextUID}`;
    this.claims.set(name, { uid, claim });
    return { address: claim.address, uid };
  }

  async release(address: Address, uid?: string): Promise<void> {
    const name = addressToClaimName(address);
    if (uid === undefined || this.claims.get(name)?.uid === uid) this.claims.delete(name);
  }

  async get(address: Address): Promise<IPClaim | undefined> {
    const held = this.claims.get(addressToClaimName(address));
    if (!held) return undefined;
    const object = claimObject(held.claim);
    return { ...object, metadata: { ...object.metadata, uid: held.uid } };
  }

  /** What is held now, by claim name. */
  held(): ClaimRequest[] {
    return [...this.claims.values()].map((h) => h.claim);
  }
}
