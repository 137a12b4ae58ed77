// The production UnderlayAdmissionState: informer caches for what exists, the
// admission ledger for what other replicas are admitting right now.
import type { BlockHolder } from '../ipam/address-conflicts.js';
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

  subnetsForDefaults() {
    return this.cache.subnetsForDefaults();
  }

  admit(decide: (pending: BlockHolder[]) => Verdict, options: { dryRun?: boolean }): Promise<Verdict> {
    return this.ledger.admit(decide, options);
  }
}
