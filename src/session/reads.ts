import type { AnyRepository } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import type { Key } from "../types.js";

/** What a reader asks of its repository: live entries, or expired ones too. */
type ReadOptions = { readonly includeExpired: boolean };

/**
 * The reads of one repository, one at a time: reads that arrive while one is under way wait, and
 * then go together in one bulk read (one statement, one transaction). Concurrent hits share the
 * fixed cost of a read; a read on its own goes straight through.
 */
export class Reader {
  readonly #repository: AnyRepository;
  readonly #options: ReadOptions;
  #busy = false;
  #queued: ReadBatch | undefined;

  /**
   * @param includeExpired read expired entries that the backend still holds too (in the
   * `"expire"` policy, an expired entry is validated rather than fetched whole: one read finds
   * either).
   */
  constructor(repository: AnyRepository, includeExpired = false) {
    this.#repository = repository;
    this.#options = { includeExpired };
  }

  /** The entry for a key (live, or expired too where the reader includes them), or `undefined`. */
  read(key: Key): Promise<CacheEntry | undefined> {
    if (this.#busy) {
      this.#queued ??= new ReadBatch();
      return this.#queued.add(key);
    }
    this.#busy = true;
    let read: Promise<CacheEntry | undefined>;
    try {
      read = this.#repository.getEntry(key, this.#options);
    } catch (error) {
      read = Promise.reject(error);
    }
    read.then(this.#drain, this.#drain);
    return read;
  }

  readonly #drain = (): void => {
    const batch = this.#queued;
    if (batch === undefined) {
      this.#busy = false;
      return;
    }
    this.#queued = undefined;
    batch.run(this.#repository, this.#options).then(this.#drain);
  };
}

/** Reads that queued while another read of the same repository was under way. */
class ReadBatch {
  readonly #keys: Key[] = [];
  readonly #waiters: { resolve(entry: CacheEntry | undefined): void; reject(error: unknown): void }[] = [];

  add(key: Key): Promise<CacheEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.#keys.push(key);
      this.#waiters.push({ resolve, reject });
    });
  }

  /** Reads every queued key in one bulk read; each reader gets its entry, or the read's error. */
  async run(repository: AnyRepository, options: ReadOptions): Promise<void> {
    const waiters = this.#waiters;
    try {
      const entries = await repository.getEntries(this.#keys, options);
      for (let i = 0; i < waiters.length; i++) waiters[i]?.resolve(entries[i]);
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
