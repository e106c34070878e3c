import { describeValue } from "../../../describe.js";
import { CACHE_OPTIONS, type CacheOptions, checkOptionNames, ResponseCache, type StoreSize } from "../../cache.js";
import type { RepositoryRecord } from "../../records.js";
import type { RepositoryOptions } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import { MemoryRepository } from "./repository.js";
import { MemoryStore } from "./store.js";

/** Options of a memory cache. */
export interface MemoryCacheOptions extends CacheOptions {
  /**
   * The most entries the cache holds, across all its repositories; the least recently used go first.
   * @default 10_000
   * @example 1_000
   */
  maxEntries?: number;
  /**
   * The most bytes the cache holds (payloads, keys, headers and URLs, plus a small overhead per
   * entry), across all its repositories; the least recently used go first. Text counts as V8 holds
   * it: one byte a character, or two when any character is beyond U+00FF. An entry larger than this
   * on its own is refused with a `CacheError` before anything is evicted.
   * @default 67_108_864 (64 MiB)
   * @example 256 * 1024 * 1024
   */
  maxBytes?: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const OPTIONS = [...CACHE_OPTIONS, "maxEntries", "maxBytes"];

/**
 * A cache in process memory: nothing to run, nothing kept after exit, bounded by entry count and
 * bytes with least-recently-used eviction.
 *
 * @example
 * await using cache = await new MemoryCache({ maxEntries: 1_000 }).connect();
 */
export class MemoryCache extends ResponseCache<MemoryRepository> {
  readonly type = "memory";
  readonly #store: MemoryStore;
  readonly #records = new Map<string, RepositoryRecord>();

  constructor(options: MemoryCacheOptions = {}) {
    checkOptionNames(options, OPTIONS, "MemoryCache");
    super({ name: "memory", ...options });
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a whole number of 1 or more, got ${describeValue(maxEntries)}`);
    }
    if (!Number.isFinite(maxBytes) || maxBytes < 1) {
      throw new RangeError(`maxBytes must be a finite number of 1 or more, got ${describeValue(maxBytes)}`);
    }
    this.#store = new MemoryStore(maxEntries, maxBytes);
  }

  /** How many entries the cache holds, across its repositories. */
  get entryCount(): number {
    return this.#store.size;
  }

  /** How many bytes the cache holds, as counted against `maxBytes`. */
  get byteCount(): number {
    return this.#store.bytes;
  }

  protected override async saveRecord(record: RepositoryRecord): Promise<void> {
    this.#records.set(record.name, record);
  }

  protected override async loadRecords(): Promise<RepositoryRecord[]> {
    return [...this.#records.values()];
  }

  protected override async measureStore(): Promise<StoreSize> {
    return { bytes: this.#store.bytes, measured: "memory" };
  }

  protected async openConnection(): Promise<void> {}

  protected async closeConnection(): Promise<void> {}

  protected newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): MemoryRepository {
    return new MemoryRepository(this.#store, settings, options) as MemoryRepository;
  }
}
