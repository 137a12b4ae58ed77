// IPClaims as a store of address reservations. Creating the claim is the lock:
// the API server refuses a second object of the same name, so two webhook
// replicas can never hand out one address.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { addressToClaimName, formatAddress, type Address } from '../ipam/address.js';
import { IPClaim, IPCLAIM_API_VERSION } from '../ipam/ip-claim.js';
import { customObject, IP_CLAIM } from '../kube/resources.js';
import { apiStatus, foundOrUndefined } from '../kube/api-status.js';

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
    const body = {
      apiVersion: IPCLAIM_API_VERSION,
      kind: 'IPClaim',
      metadata: { name: addressToClaimName(claim.address), ...(poolFitsLabel(claim.pool) ? { labels: { [POOL_LABEL]: claim.pool } } : {}) },
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
    try {
      const created = (await this.api.createClusterCustomObject({ ...customObject(IP_CLAIM), body })) as { metadata?: { uid?: string } };
      return { address: claim.address, uid: created.metadata?.uid };
    } catch (error) {
      if (apiStatus(error) === 409) return undefined;
      throw new Error(`creating IPClaim ${body.metadata.name}: ${(error as Error).message}`);
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
