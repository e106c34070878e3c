import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { CacheEntry } from "../../entry.js";
import { keyId } from "../../key.js";
import { type RepositoryOptions, ResponseRepository } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import type { MemoryItem, MemoryStore } from "./store.js";

const SCAN_BATCH = 256;
const ENTRY_OVERHEAD = 128;

/** A repository held in process memory, sharing its cache's size budget. */
export class MemoryRepository<K extends Key = Key, V = unknown> extends ResponseRepository<K, V> {
  readonly backend = "memory";
  readonly #store: MemoryStore;
  readonly #table = new Map<string, MemoryItem>();

  constructor(store: MemoryStore, settings: ResponseRepositorySettings<V>, options: RepositoryOptions = {}) {
    super(settings, options);
    this.#store = store;
  }

  protected async setUp(): Promise<void> {}

  protected override async tearDown(): Promise<void> {
    this.#clear(undefined);
  }

  #live(key: K, now: number): MemoryItem | undefined {
    const item = this.#table.get(keyId(key));
    if (item === undefined || item.entry.expiresAt <= now) return undefined;
    this.#store.touch(item);
    return item;
  }

  protected override async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    const payload = this.#live(key, now)?.entry.payload;
    return typeof payload === "string" || payload === undefined ? payload : payload.slice();
  }

  protected override async readEntry(key: K, now: number): Promise<CacheEntry<K> | undefined> {
    const item = this.#live(key, now);
    return item === undefined ? undefined : (copy(item.entry) as CacheEntry<K>);
  }

  protected override async hasEntry(key: K, now: number): Promise<boolean> {
    const item = this.#table.get(keyId(key));
    return item !== undefined && now < item.entry.expiresAt;
  }

  protected async readEntries(keys: readonly K[], now: number): Promise<CacheEntry<K>[]> {
    const found: CacheEntry<K>[] = [];
    for (const key of keys) {
      const item = this.#live(key, now);
      if (item !== undefined) found.push(copy(item.entry) as CacheEntry<K>);
    }
    return found;
  }

  protected async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    for (const entry of entries) {
      // Copied in and out (a shallow copy, and the bytes), so that no caller holds what is stored.
      // Freezing would do the same at many times the cost.
      const stored = copy(entry);
      const id = keyId(entry.key);
      this.#store.put({ id, entry: stored, size: sizeOf(id, stored), table: this.#table });
    }
    this.#store.evict();
  }

  protected async removeEntries(keys: readonly K[]): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      const item = this.#table.get(keyId(key));
      if (item === undefined) continue;
      this.#store.remove(item);
      removed++;
    }
    return removed;
  }

  protected async countEntries(now: number | undefined): Promise<number> {
    if (now === undefined) return this.#table.size;
    let live = 0;
    for (const item of this.#table.values()) if (now < item.entry.expiresAt) live++;
    return live;
  }

  protected async clearEntries(now: number | undefined): Promise<number> {
    return this.#clear(now);
  }

  #clear(now: number | undefined): number {
    let removed = 0;
    for (const item of [...this.#table.values()]) {
      if (now !== undefined && now < item.entry.expiresAt) continue;
      this.#store.remove(item);
      removed++;
    }
    return removed;
  }

  protected async *scanEntries(now: number): AsyncGenerator<CacheEntry<K>> {
    const snapshot = [...this.#table.values()];
    for (let start = 0; start < snapshot.length; start += SCAN_BATCH) {
      const batch: CacheEntry<K>[] = [];
      for (const { id } of snapshot.slice(start, start + SCAN_BATCH)) {
        // Each key of the snapshot once, as it is now: skipped if removed since, newest if saved again.
        const current = this.#table.get(id);
        if (current !== undefined && now < current.entry.expiresAt) batch.push(copy(current.entry) as CacheEntry<K>);
      }
      yield* batch;
    }
  }
}

/** A copy of an entry that shares nothing a caller could change with the original. */
function copy(entry: CacheEntry): CacheEntry {
  const payload = typeof entry.payload === "string" ? entry.payload : entry.payload.slice();
  return { ...entry, key: [...entry.key] as unknown as Key, payload };
}

function sizeOf(id: string, entry: CacheEntry): number {
  const payload = typeof entry.payload === "string" ? Buffer.byteLength(entry.payload) : entry.payload.byteLength;
  return (
    ENTRY_OVERHEAD +
    id.length * 2 +
    payload +
    (entry.headers?.length ?? 0) * 2 +
    (entry.url?.length ?? 0) * 2 +
    (entry.meta?.length ?? 0) * 2 +
    (entry.name?.length ?? 0) * 2
  );
}
