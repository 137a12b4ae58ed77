// Serialises the admission of pools and subnets across webhook replicas.
//
// Two replicas judging conflicting pools at the same instant would each see a
// cluster without the other and admit both. So before admitting a pool or subnet,
// a replica records the addresses it will hold in one ConfigMap, written with
// optimistic concurrency (resourceVersion): of two concurrent admissions one
// write fails with 409, and that replica judges again seeing the other's entry.
// Entries only need to outlive the gap between admission and the object reaching
// every replica's informer, so they expire after a grace period and are pruned on
// the next write.
import { ApiException, CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import type { BlockHolder } from '../ipam/address-conflicts.js';
import { parseCidr } from '../ipam/cidr.js';
import { parseRangeList, RangeSet } from '../ipam/range-set.js';
import type { Verdict } from '../ipam/underlay-admission.js';

export const LEDGER_NAME = 'underpin-admission-ledger';
const MAX_ATTEMPTS = 20;

const LedgerEntry = z.object({
  kind: z.enum(['SpiderIPPool', 'SpiderSubnet']),
  name: z.string(),
  cidr: z.string(),
  usable: z.array(z.string()),
  recordedAt: z.number(),
});
type LedgerEntry = z.infer<typeof LedgerEntry>;

function toHolder(entry: LedgerEntry): BlockHolder | undefined {
  const cidr = parseCidr(entry.cidr);
  if (!cidr.ok) return undefined;
  let usable = RangeSet.empty(cidr.value.family);
  if (entry.usable.length > 0) {
    const parsed = parseRangeList(entry.usable, cidr.value.family);
    if (!parsed.ok) return undefined;
    usable = parsed.value.set;
  }
  return { kind: entry.kind, name: entry.name, cidr: cidr.value, usable };
}

function entryKey(holder: { kind: string; name: string }): string {
  return `${holder.kind}.${holder.name}`;
}

function status(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export class AdmissionLedger {
  private readonly api: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly graceMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  /**
   * Judge with `decide` (given the holders admitted recently elsewhere) and, when
   * it admits something that holds addresses, record that atomically. Dry runs
   * judge the same way but record nothing.
   */
  async admit(decide: (pending: BlockHolder[]) => Verdict, options: { dryRun?: boolean } = {}): Promise<Verdict> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read();
      const live = this.liveEntries(current);
      const verdict = decide(live.flatMap((e) => toHolder(e) ?? []));
      if (!verdict.allowed || !verdict.holder || options.dryRun) return verdict;

      const h = verdict.holder;
      const entry: LedgerEntry = { kind: h.kind, name: h.name, cidr: h.cidr.text, usable: h.usable.toStrings(), recordedAt: this.now() };
      const data: Record<string, string> = {};
      for (const e of live) data[entryKey(e)] = JSON.stringify(e);
      data[entryKey(h)] = JSON.stringify(entry);
      try {
        await this.write(current, data);
        return verdict;
      } catch (error) {
        if (status(error) === 409) continue; // another replica recorded first: judge again
        throw error;
      }
    }
    throw new Error('too many concurrent admissions of pools and subnets; retry the request');
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api.readNamespacedConfigMap({ name: LEDGER_NAME, namespace: this.namespace });
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
  }

  private liveEntries(configMap: V1ConfigMap | undefined): LedgerEntry[] {
    const horizon = this.now() - this.graceMs;
    const entries: LedgerEntry[] = [];
    for (const text of Object.values(configMap?.data ?? {})) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        continue; // unreadable entries are dropped on the next write
      }
      const parsed = LedgerEntry.safeParse(json);
      if (parsed.success && parsed.data.recordedAt >= horizon) entries.push(parsed.data);
    }
    return entries;
  }

  private async write(current: V1ConfigMap | undefined, data: Record<string, string>): Promise<void> {
    if (!current) {
      // Creating races the same way: AlreadyExists means someone else went first.
      try {
        await this.api.createNamespacedConfigMap({
          namespace: this.namespace,
          body: { metadata: { name: LEDGER_NAME, namespace: this.namespace, labels: { 'app.kubernetes.io/name': 'underpin' } }, data },
        });
      } catch (error) {
        if (status(error) === 409) throw error;
        if (status(error) === 404) throw new Error(`namespace ${this.namespace} does not exist; create it or start the webhook with --namespace`);
        throw error;
      }
      return;
    }
    await this.api.replaceNamespacedConfigMap({
      name: LEDGER_NAME,
      namespace: this.namespace,
      body: { ...current, data },
    });
  }
}
