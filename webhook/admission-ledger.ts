// Serialises the admission of pools and subnets across webhook replicas, and fences
// the addresses a pool update gives up against pods claiming them.
//
// Two replicas judging conflicting pools at the same instant would each see a
// cluster without the other and admit both. So before admitting a pool or subnet,
// a replica records the addresses it will hold in one ConfigMap, written with
// optimistic concurrency (resourceVersion): of two concurrent admissions one
// write fails with 409, and that replica judges again seeing the other's entry.
//
// The same ConfigMap carries pool removals (the fence described at
// UnderlayAdmissionState.fenceRemoval in spider-resources.ts): "these addresses are
// leaving pool P", written before the pool update is judged and read by pod admission
// after it claims an address.
//
// Entries only need to outlive the gap between admission and the object reaching
// every replica's informer, so they expire after a grace period and are pruned on
// the next write.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import type { IPFamily } from '../ipam/address.js';
import type { BlockHolder } from '../ipam/address-conflicts.js';
import { parseCidr } from '../ipam/cidr.js';
import { parseRangeList, RangeSet } from '../ipam/range-set.js';
import type { Verdict } from '../ipam/underlay-admission.js';
import { FreshRead } from '../kube/fresh-read.js';
import { apiStatus, foundOrUndefined } from '../kube/api-status.js';
import type { PendingHolder } from '../kube/pending-holders.js';

export const LEDGER_NAME = 'underpin-admission-ledger';
const MAX_ATTEMPTS = 20;

const HolderEntry = z.object({
  kind: z.enum(['SpiderIPPool', 'SpiderSubnet']),
  name: z.string(),
  cidr: z.string(),
  usable: z.array(z.string()),
  /** The object's uid at admission (set for creates too: validation runs after the API server assigns it). */
  uid: z.string().optional(),
  recordedAt: z.number(),
});
type HolderEntry = z.infer<typeof HolderEntry>;

/** Addresses leaving a pool: an update of the pool is being admitted (keyed by its request uid). */
const RemovalEntry = z.object({
  kind: z.literal('PoolRemoval'),
  id: z.string(),
  pool: z.string(),
  family: z.union([z.literal(4), z.literal(6)]),
  removed: z.array(z.string()),
  recordedAt: z.number(),
});
type RemovalEntry = z.infer<typeof RemovalEntry>;

const LedgerEntry = z.discriminatedUnion('kind', [HolderEntry, RemovalEntry]);
type LedgerEntry = z.infer<typeof LedgerEntry>;

/** A pool update in flight that removes `removed` from `pool`. */
export interface PoolRemoval {
  pool: string;
  removed: RangeSet;
}

function toHolder(entry: HolderEntry): PendingHolder | undefined {
  const cidr = parseCidr(entry.cidr);
  if (!cidr.ok) return undefined;
  let usable = RangeSet.empty(cidr.value.family);
  if (entry.usable.length > 0) {
    const parsed = parseRangeList(entry.usable, cidr.value.family);
    if (!parsed.ok) return undefined;
    usable = parsed.value.set;
  }
  return { kind: entry.kind, name: entry.name, cidr: cidr.value, usable, ...(entry.uid ? { uid: entry.uid } : {}), recordedAt: entry.recordedAt };
}

function toRemoval(entry: RemovalEntry): PoolRemoval | undefined {
  const parsed = parseRangeList(entry.removed, entry.family);
  return parsed.ok ? { pool: entry.pool, removed: parsed.value.set } : undefined;
}

function entryKey(entry: LedgerEntry | BlockHolder): string {
  return entry.kind === 'PoolRemoval' ? `removal.${entry.id}` : `${entry.kind}.${entry.name}`;
}


/** What a change to the ledger decided: write these entries, or leave it as it is. */
type LedgerChange<T> = { write: LedgerEntry[]; result: T } | { keep: true; result: T };

export class AdmissionLedger {
  private readonly api: CoreV1Api;
  /** Reads that start after their caller asked: what pod admission needs after a claim. */
  private readonly freshRemovals = new FreshRead(() => this.readRemovals());

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
   * it admits something that holds addresses, record that atomically, with the
   * object's `uid` so the entry stops counting once that object is gone. Dry runs
   * judge the same way but record nothing.
   */
  admit(decide: (pending: PendingHolder[]) => Verdict, options: { dryRun?: boolean; uid?: string } = {}): Promise<Verdict> {
    return this.change((live) => {
      const verdict = decide(live.flatMap((e) => (e.kind === 'PoolRemoval' ? [] : (toHolder(e) ?? []))));
      if (!verdict.allowed || !verdict.holder || options.dryRun) return { keep: true, result: verdict };
      const h = verdict.holder;
      const entry: HolderEntry = { kind: h.kind, name: h.name, cidr: h.cidr.text, usable: h.usable.toStrings(), ...(options.uid ? { uid: options.uid } : {}), recordedAt: this.now() };
      return { write: [...live.filter((e) => entryKey(e) !== entryKey(entry)), entry], result: verdict };
    });
  }

  /** Record that the update `id` removes `removed` from `pool`; pods claiming one of them from now on give it back. */
  async recordRemoval(id: string, pool: string, removed: RangeSet): Promise<void> {
    const entry: RemovalEntry = { kind: 'PoolRemoval', id, pool, family: removed.family, removed: removed.toStrings(), recordedAt: this.now() };
    await this.change((live) => ({ write: [...live.filter((e) => entryKey(e) !== entryKey(entry)), entry], result: undefined }));
  }

  /** Withdraw a removal whose update was denied (until then its addresses could not be claimed). */
  async liftRemoval(id: string): Promise<void> {
    const key = entryKey({ kind: 'PoolRemoval', id } as RemovalEntry);
    await this.change((live) => (live.some((e) => entryKey(e) === key) ? { write: live.filter((e) => entryKey(e) !== key), result: undefined } : { keep: true, result: undefined }));
  }

  /** The addresses of `family` leaving `pool`. Read from the API after the call, so it sees every removal recorded before. */
  async leaving(pool: string, family: IPFamily): Promise<RangeSet> {
    let leaving = RangeSet.empty(family);
    for (const r of await this.freshRemovals.read()) if (r.pool === pool && r.removed.family === family) leaving = leaving.union(r.removed);
    return leaving;
  }

  /** The removals of the last ConfigMap read, kept parsed while its resourceVersion stays the same. */
  private parsed: { version: string | undefined; removals: { recordedAt: number; removal: PoolRemoval }[] } = { version: undefined, removals: [] };

  private async readRemovals(): Promise<PoolRemoval[]> {
    const current = await this.read();
    const version = current?.metadata?.resourceVersion;
    if (version === undefined || version !== this.parsed.version) {
      const removals = this.liveEntries(current).flatMap((e) => {
        const removal = e.kind === 'PoolRemoval' ? toRemoval(e) : undefined;
        return removal ? [{ recordedAt: e.recordedAt, removal }] : [];
      });
      this.parsed = { version, removals };
    }
    const horizon = this.now() - this.graceMs;
    return this.parsed.removals.filter((r) => r.recordedAt >= horizon).map((r) => r.removal);
  }

  /** Read, decide, and write with the read's resourceVersion; on 409 (someone wrote since) read and decide again. */
  private async change<T>(decide: (live: LedgerEntry[]) => LedgerChange<T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read();
      const outcome = decide(this.liveEntries(current));
      if ('keep' in outcome) return outcome.result;
      const data: Record<string, string> = {};
      for (const e of outcome.write) data[entryKey(e)] = JSON.stringify(e);
      try {
        await this.write(current, data);
        return outcome.result;
      } catch (error) {
        if (apiStatus(error) === 409) continue; // another replica recorded first: decide again
        throw error;
      }
    }
    throw new Error('too many concurrent admissions of pools and subnets; retry the request');
  }

  private read(): Promise<V1ConfigMap | undefined> {
    return foundOrUndefined(this.api.readNamespacedConfigMap({ name: LEDGER_NAME, namespace: this.namespace }));
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
        if (apiStatus(error) === 409) throw error;
        if (apiStatus(error) === 404) throw new Error(`namespace ${this.namespace} does not exist; create it or start the webhook with --namespace`, { cause: error });
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
