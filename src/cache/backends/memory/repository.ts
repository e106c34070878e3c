import { CacheError } from "../../../errors.js";
import type { StoredPayload } from "../../../payload/handler.js";
import type { Key } from "../../../types.js";
import type { CacheEntry } from "../../entry.js";
import { keyId, ownKey } from "../../key.js";
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

  /** The item for a key, if it is live at `now` (expired or not when `now` is undefined). */
  #live(key: K, now: number | undefined): MemoryItem | undefined {
    const item = this.#table.get(keyId(key));
    if (item === undefined || (now !== undefined && item.entry.expiresAt <= now)) return undefined;
    this.#store.touch(item);
    return item;
  }

  protected override async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    const payload = this.#live(key, now)?.entry.payload;
    return typeof payload === "string" || payload === undefined ? payload : payload.slice();
  }

  protected override async readEntry(key: K, now: number | undefined): Promise<CacheEntry<K> | undefined> {
    const item = this.#live(key, now);
    return item === undefined ? undefined : (copy(item.entry) as CacheEntry<K>);
  }

  protected override readPayloadEntry(key: K, now: number): CacheEntry<K> | undefined {
    const entry = this.#live(key, now)?.entry;
    if (entry === undefined) return undefined;
    const { payload } = entry;
    return {
      key: ownKey(key),
      name: null,
      cachedAt: entry.cachedAt,
      expiresAt: entry.expiresAt,
      payload: typeof payload === "string" ? payload : payload.slice(),
      status: entry.status,
      headers: null,
      url: null,
      meta: entry.meta,
    };
  }

  protected override async hasEntry(key: K, now: number): Promise<boolean> {
    const item = this.#table.get(keyId(key));
    return item !== undefined && now < item.entry.expiresAt;
  }

  protected async readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]> {
    const found: CacheEntry<K>[] = [];
    for (const key of keys) {
      const item = this.#live(key, now);
      if (item !== undefined) found.push(copy(item.entry) as CacheEntry<K>);
    }
    return found;
  }

  protected async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    // Measured first: an entry that can never fit is refused before anything is evicted or written.
    const ids = entries.map((entry) => keyId(entry.key));
    const sizes = entries.map((entry, i) => sizeOf(ids[i] as string, entry));
    for (const [i, size] of sizes.entries()) {
      if (size > this.#store.maxBytes) {
        throw new CacheError(
          `an entry of ${size} bytes (key ${ids[i]}) is larger than maxBytes (${this.#store.maxBytes}) of the ` +
            "memory cache on its own; it is not stored, and nothing was evicted for it",
        );
      }
    }
    for (const [i, entry] of entries.entries()) {
      // Copied in and out (a shallow copy, and the bytes), so that no caller holds what is stored.
      // Freezing would do the same at many times the cost.
      const stored = copy(entry);
      this.#store.put({ id: ids[i] as string, entry: stored, size: sizes[i] as number, table: this.#table });
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

/** The bytes an entry holds: its text as V8 holds it, its bytes, and a fixed overhead. */
function sizeOf(id: string, entry: CacheEntry): number {
  const payload = typeof entry.payload === "string" ? textSize(entry.payload) : entry.payload.byteLength;
  return (
    ENTRY_OVERHEAD +
    textSize(id) +
    payload +
    (entry.headers === null ? 0 : textSize(entry.headers)) +
    (entry.url === null ? 0 : textSize(entry.url)) +
    (entry.meta === null ? 0 : textSize(entry.meta)) +
    (entry.name === null ? 0 : textSize(entry.name))
  );
}

/**
 * The bytes V8 holds for text: one a character when every character is Latin-1 (U+0000 to U+00FF),
 * else two a character for the whole string.
 */
function textSize(text: string): number {
  return TWO_BYTE.test(text) ? text.length * 2 : text.length;
}

const TWO_BYTE = /[\u0100-\uffff]/;
