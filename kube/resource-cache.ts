// One resource type kept in memory from a list+watch: each object validated with zod
// once, on arrival, and kept as the record the process reads (a schema may transform
// it into a smaller view), with secondary indexes (claims by pool, pods by binding
// id…) so that callers ask typed questions in O(1). Malformed objects (written before
// Underpin, or by hand past the webhook) are logged once per version and left out,
// as if absent. The one cache of webhook and reconciler alike.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { z } from 'zod';
import { objectKey, type InformerLog, type ListWatch } from './list-watch.js';

/** Keys of an object in one index (none, one or several). */
export type Indexer<T> = (object: T) => readonly string[];

export type ChangeListener<T> = (key: string, current: T | undefined, previous: T | undefined) => void;

/** How many malformed versions are remembered as already reported. */
const REPORTED_LIMIT = 10_000;

export class ResourceCache<T> {
  private readonly objects = new Map<string, T>();
  /** Per index, value → the key of its one object, or the keys of several (most values have one: a Set each would cost more than the object). */
  private readonly indexes = new Map<string, { indexer: Indexer<T>; entries: Map<string, string | Set<string>> }>();
  private readonly listeners: ChangeListener<T>[] = [];
  private readonly reported = new Set<string>();
  private synced = false;

  /** `source` may be shared with other caches: start() and stop() are counted. */
  constructor(
    readonly source: ListWatch,
    private readonly schema: z.ZodType<T>,
    /** The kind, for the log: "IPClaim". */
    private readonly what: string,
    private readonly log: InformerLog,
  ) {
    source.onChange((event, raw) => (event === 'delete' ? this.remove(objectKey(raw)) : this.upsert(raw)));
  }

  /** Declare an index before start(). */
  addIndex(name: string, indexer: Indexer<T>): this {
    this.indexes.set(name, { indexer, entries: new Map() });
    return this;
  }

  /** Called after every change with the object's new record (undefined when deleted) and the one it replaced. */
  onChange(listener: ChangeListener<T>): void {
    this.listeners.push(listener);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  get size(): number {
    return this.objects.size;
  }

  /** Objects whose indexer gave `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.entries.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const key of typeof keys === 'string' ? [keys] : keys) {
      const object = this.objects.get(key);
      if (object !== undefined) out.push(object);
    }
    return out;
  }

  /** How many objects an index holds under `value`. */
  countByIndex(name: string, value: string): number {
    const keys = this.indexes.get(name)?.entries.get(value);
    return keys === undefined ? 0 : typeof keys === 'string' ? 1 : keys.size;
  }

  /** Distinct values of an index that have objects. */
  indexValues(name: string): IterableIterator<string> {
    return this.indexes.get(name)?.entries.keys() ?? [].values();
  }

  /**
   * The cached record, or, when the cache has not seen the object (created a moment
   * ago, the watch event still on its way), the record of the object `read` returns
   * now (undefined: it does not exist). What was read is not cached: the watch stays
   * the cache's only writer, so a read cannot bring back an object deleted since.
   */
  async getOrRead(key: string, read: () => Promise<unknown>): Promise<T | undefined> {
    const cached = this.objects.get(key);
    if (cached !== undefined) return cached;
    const object = await read();
    if (object === undefined) return undefined;
    const parsed = this.schema.safeParse(object);
    return parsed.success ? parsed.data : undefined;
  }

  /** Resolves after the first complete list (retried until the API server answers). */
  async start(): Promise<void> {
    await this.source.start();
    this.synced = true;
  }

  stop(): Promise<void> {
    return this.source.stop();
  }

  private upsert(raw: KubernetesObject): void {
    const key = objectKey(raw);
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      this.reportMalformed(key, raw, parsed.error);
      this.remove(key);
      return;
    }
    const previous = this.objects.get(key);
    if (previous !== undefined) this.unindex(key, previous);
    this.objects.set(key, parsed.data);
    this.index(key, parsed.data);
    for (const listener of this.listeners) listener(key, parsed.data, previous);
  }

  private reportMalformed(key: string, raw: KubernetesObject, error: z.ZodError): void {
    const once = `${key}@${raw.metadata?.resourceVersion}`;
    if (this.reported.has(once)) return;
    if (this.reported.size > REPORTED_LIMIT) this.reported.clear();
    this.reported.add(once);
    this.log.warn({ resource: this.what, key }, `${this.what} ${key} is malformed, skipped: ${describeIssues(error)}`);
  }

  private remove(key: string): void {
    const previous = this.objects.get(key);
    if (previous === undefined) return;
    this.objects.delete(key);
    this.unindex(key, previous);
    for (const listener of this.listeners) listener(key, undefined, previous);
  }

  private index(key: string, object: T): void {
    for (const { indexer, entries } of this.indexes.values()) {
      for (const value of indexer(object)) {
        const keys = entries.get(value);
        if (keys === undefined) entries.set(value, key);
        else if (typeof keys === 'string') {
          if (keys !== key) entries.set(value, new Set([keys, key]));
        } else keys.add(key);
      }
    }
  }

  private unindex(key: string, object: T): void {
    for (const { indexer, entries } of this.indexes.values()) {
      for (const value of indexer(object)) {
        const keys = entries.get(value);
        if (keys === undefined) continue;
        if (typeof keys === 'string') {
          if (keys === key) entries.delete(value);
          continue;
        }
        keys.delete(key);
        if (keys.size === 1) entries.set(value, keys.values().next().value!);
        else if (keys.size === 0) entries.delete(value);
      }
    }
  }
}

/** zod's issues as one line: `spec.pool: Required; metadata.name: …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(object)'}: ${issue.message}`).join('; ');
}
