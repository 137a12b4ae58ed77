// An informer's objects, validated with zod once on arrival and kept with secondary
// indexes (pods by binding id, claims by pool…), so controllers ask typed questions
// in O(1) instead of re-parsing the whole cache. Malformed objects are logged once per
// version and left out, as if absent.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { ListWatch } from '../kube/list-watch.js';

export interface TypedCacheLog {
  warn(obj: object, msg: string): void;
}

/** Keys of an object in one index (none, one or several). */
export type Indexer<T> = (object: T) => readonly string[];

export type ChangeListener<T> = (key: string, current: T | undefined, previous: T | undefined) => void;

/** `namespace/name` for namespaced objects, `name` otherwise. */
export function objectKey(object: { metadata?: { name?: string; namespace?: string | null } }): string {
  const { namespace, name = '' } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

export class TypedCache<T> {
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, { indexer: Indexer<T>; entries: Map<string, Set<string>> }>();
  private readonly listeners: ChangeListener<T>[] = [];
  private readonly reported = new Set<string>();

  constructor(
    readonly informer: ListWatch,
    private readonly schema: z.ZodType<T>,
    private readonly what: string,
    private readonly log: TypedCacheLog,
  ) {
    informer.onChange((event, raw) => (event === 'delete' ? this.remove(objectKey(raw)) : this.upsert(raw)));
  }

  /** Declare an index before start(). */
  addIndex(name: string, indexer: Indexer<T>): this {
    this.indexes.set(name, { indexer, entries: new Map() });
    return this;
  }

  onChange(listener: ChangeListener<T>): void {
    this.listeners.push(listener);
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
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const object = this.objects.get(key);
      if (object !== undefined) out.push(object);
    }
    return out;
  }

  /** Distinct values of an index that have objects. */
  indexValues(name: string): IterableIterator<string> {
    return this.indexes.get(name)?.entries.keys() ?? [].values();
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private upsert(raw: KubernetesObject): void {
    const key = objectKey(raw);
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      const once = `${key}@${raw.metadata?.resourceVersion}`;
      if (!this.reported.has(once)) {
        if (this.reported.size > 10_000) this.reported.clear();
        this.reported.add(once);
        const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(object)'}: ${issue.message}`).join('; ');
        this.log.warn({ resource: this.what, key }, `${this.what} ${key} is malformed, skipped: ${issues}`);
      }
      this.remove(key);
      return;
    }
    const previous = this.objects.get(key);
    if (previous !== undefined) this.unindex(key, previous);
    this.objects.set(key, parsed.data);
    this.index(key, parsed.data);
    for (const listener of this.listeners) listener(key, parsed.data, previous);
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
        let keys = entries.get(value);
        if (!keys) entries.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private unindex(key: string, object: T): void {
    for (const { indexer, entries } of this.indexes.values()) {
      for (const value of indexer(object)) {
        const keys = entries.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) entries.delete(value);
      }
    }
  }
}
