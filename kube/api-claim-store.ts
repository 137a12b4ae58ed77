// IPClaims as a store of address reservations. Creating the claim is the lock:
// the API server refuses a second object of the same name, so two webhook
// replicas can never hand out one address.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { addressToClaimName, type Address } from '../ipam/address.js';
import { claimObject, type ClaimRequest, type ClaimStore, type ReservedClaim } from '../ipam/claim-store.js';
import { IPClaim } from '../ipam/ip-claim.js';
import { customObject, IP_CLAIM } from './resources.js';
import { apiStatus, foundOrUndefined } from './api-status.js';

export type { ClaimRequest, ClaimStore, ReservedClaim } from '../ipam/claim-store.js';

/** Claims carry their pool as a label too, for `kubectl get ipclaims -l` and for listing one pool's claims. */
export const POOL_LABEL = 'underpin.dev/pool';

/** Pool names are DNS subdomains of up to 253 characters; a label value holds 63. */
function poolFitsLabel(pool: string): boolean {
  return pool.length <= 63;
}

export class APIClaimStore implements ClaimStore {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async reserve(claim: ClaimRequest): Promise<ReservedClaim | undefined> {
    const object = claimObject(claim);
    const body = { ...object, metadata: { ...object.metadata, ...(poolFitsLabel(claim.pool) ? { labels: { [POOL_LABEL]: claim.pool } } : {}) } };
    try {
      const created = (await this.api.createClusterCustomObject({ ...customObject(IP_CLAIM), body })) as { metadata?: { uid?: string } };
      return { address: claim.address, uid: created.metadata?.uid };
    } catch (error) {
      if (apiStatus(error) === 409) return undefined;
      throw new Error(`creating IPClaim ${body.metadata.name}: ${(error as Error).message}`, { cause: error });
    }
  }

  async release(address: Address, uid?: string): Promise<void> {
    try {
      await this.api.deleteClusterCustomObject({ ...customObject(IP_CLAIM), name: addressToClaimName(address), ...(uid ? { body: { preconditions: { uid } } } : {}) });
    } catch (error) {
      // 404: gone already; 409 with a uid: the name now belongs to another claim, not ours to delete.
      if (apiStatus(error) === 404 || (uid && apiStatus(error) === 409)) return;
      throw error;
    }
  }

  /** A pool's claims, read from the API now (not from a cache). */
  async claimsOfPool(pool: string): Promise<IPClaim[]> {
    const list = (await this.api.listClusterCustomObject({ ...customObject(IP_CLAIM), ...(poolFitsLabel(pool) ? { labelSelector: `${POOL_LABEL}=${pool}` } : {}) })) as { items?: unknown[] };
    return (list.items ?? []).flatMap((item) => {
      const parsed = IPClaim.safeParse(item);
      return parsed.success && parsed.data.spec.pool === pool ? [parsed.data] : [];
    });
  }

  async get(address: Address): Promise<IPClaim | undefined> {
    const raw = await foundOrUndefined(this.api.getClusterCustomObject({ ...customObject(IP_CLAIM), name: addressToClaimName(address) }));
    const parsed = IPClaim.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }
}
