import type { CacheEntry } from "../../entry.js";

/** One entry held in memory, with what eviction needs to know. */
export interface MemoryItem {
  readonly id: string;
  readonly entry: CacheEntry;
  readonly size: number;
  readonly table: Map<string, MemoryItem>;
}

/** The budget that every repository of one memory cache shares, with least-recently-used eviction. */
export class MemoryStore {
  readonly maxEntries: number;
  readonly maxBytes: number;
  #bytes = 0;
  /** Every item, least recently used first (a Set keeps insertion order). */
  readonly #lru = new Set<MemoryItem>();

  constructor(maxEntries: number, maxBytes: number) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Marks an item as just used. */
  touch(item: MemoryItem): void {
    this.#lru.delete(item);
    this.#lru.add(item);
  }

  /** Puts an item in its table, replacing one with the same id, then evicts down to the budget. */
  put(item: MemoryItem): void {
    const previous = item.table.get(item.id);
    if (previous !== undefined) this.remove(previous);
    item.table.set(item.id, item);
    this.#lru.add(item);
    this.#bytes += item.size;
  }

  remove(item: MemoryItem): void {
    if (!this.#lru.delete(item)) return;
    item.table.delete(item.id);
    this.#bytes -= item.size;
  }

  /** Evicts least-recently-used items until both limits hold. */
  evict(): void {
    // Checked before iterating: a Set's iterator walks past the slots of deleted items, which
    // touching leaves at the front until the Set is rebuilt.
    if (this.#lru.size <= this.maxEntries && this.#bytes <= this.maxBytes) return;
    for (const item of this.#lru) {
      if (this.#lru.size <= this.maxEntries && this.#bytes <= this.maxBytes) return;
      this.remove(item);
    }
  }
}
