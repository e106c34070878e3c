import type { AnyRepository } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import type { Key } from "../types.js";

/**
 * The reads of one repository, one at a time: reads that arrive while one is under way wait, and
 * then go together in one bulk read (one statement, one transaction). Concurrent hits share the
 * fixed cost of a read; a read on its own goes straight through.
 */
export class Reader {
  readonly #repository: AnyRepository;
  #busy = false;
  #queued: ReadBatch | undefined;

  constructor(repository: AnyRepository) {
    this.#repository = repository;
  }

  /** The live entry for a key, or `undefined`. */
  read(key: Key): Promise<CacheEntry | undefined> {
    if (this.#busy) {
      this.#queued ??= new ReadBatch();
      return this.#queued.add(key);
    }
    this.#busy = true;
    let read: Promise<CacheEntry | undefined>;
    try {
      read = this.#repository.getEntry(key);
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
    batch.run(this.#repository).then(this.#drain);
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
  async run(repository: AnyRepository): Promise<void> {
    const waiters = this.#waiters;
    try {
      const entries = await repository.getEntries(this.#keys);
      for (let i = 0; i < waiters.length; i++) waiters[i]?.resolve(entries[i]);
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
