// The production UnderlayAdmissionState: informer caches for what exists, the
// admission ledger for what other replicas are admitting right now.
import type { BlockHolder } from '../ipam/address-conflicts.js';
import { canonicalCidr } from '../ipam/cidr.js';
import type { Verdict } from '../ipam/underlay-admission.js';
import type { AdmissionLedger } from './admission-ledger.js';
import type { UnderlayAdmissionState } from './spider-resources.js';
import type { UnderlayCache } from './underlay-cache.js';

export class ClusterUnderlayState implements UnderlayAdmissionState {
  constructor(
    private readonly cache: UnderlayCache,
    private readonly ledger: AdmissionLedger,
  ) {}

  get hasSynced(): boolean {
    return this.cache.hasSynced;
  }

  context(pending: readonly BlockHolder[] = []) {
    return this.cache.context(pending);
  }

  async subnetsForDefaults(cidr?: string) {
    const cached = this.cache.subnetsForDefaults();
    // A subnet applied in the same kubectl apply as its pools may not be cached yet.
    if (cidr && !cached.some((s) => canonicalCidr(s.spec.subnet) === cidr)) return this.cache.subnetsFromAPI();
    return cached;
  }

  admit(decide: (pending: BlockHolder[]) => Verdict, options: { dryRun?: boolean }): Promise<Verdict> {
    return this.ledger.admit(decide, options);
  }
}
