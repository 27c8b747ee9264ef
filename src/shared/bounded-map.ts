/**
 * A Map with a size cap and least-recently-used eviction, for every in-process cache whose keys come
 * from requests (tokens, hub names, template bodies). A cache keyed by what a client sends must never
 * grow with what clients send: at the cap, the entry used longest ago goes. Optionally also bounded by
 * a weight (e.g. characters of text) summed over the entries. Dependency-free, like the rest of shared/.
 */
export interface BoundedMapOptions<V> {
  /** Entries kept at most. */
  maxEntries: number;
  /** The total weight kept at most (with `weigh`); an entry heavier than this is not kept at all. */
  maxWeight?: number;
  weigh?: (value: V, key: string) => number;
}

export class BoundedMap<V> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, V>();
  private weight = 0;

  constructor(private readonly opts: BoundedMapOptions<V>) {
    if (!(opts.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The total weight of what is kept (0 without `weigh`). */
  get totalWeight(): number {
    return this.weight;
  }

  /** The value, marked as just used. */
  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: V): this {
    this.delete(key);
    const w = this.opts.weigh?.(value, key) ?? 0;
    if (this.opts.maxWeight !== undefined && w > this.opts.maxWeight) return this;
    this.entries.set(key, value);
    this.weight += w;
    while (this.entries.size > this.opts.maxEntries || (this.opts.maxWeight !== undefined && this.weight > this.opts.maxWeight)) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
    return this;
  }

  delete(key: string): boolean {
    const v = this.entries.get(key);
    if (v === undefined && !this.entries.has(key)) return false;
    this.entries.delete(key);
    if (v !== undefined) this.weight -= this.opts.weigh?.(v, key) ?? 0;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }
}
