/**
 * A memory cache whose driver fails on demand, for fault injection: reads or writes throw, or read
 * entries come back corrupted. It also counts every call that reaches the driver, so that a test can
 * assert that the store was not touched.
 */
import { MemoryStore } from "../../src/cache/backends/memory/store.js";
import {
  type CacheEntry,
  type CacheOptions,
  type Key,
  MemoryRepository,
  type RepositoryOptions,
  ResponseCache,
  type ResponseRepositorySettings,
} from "../../src/index.js";

export interface Faults {
  /** An error that every read throws. */
  read: Error | undefined;
  /** An error that every write throws. */
  write: Error | undefined;
  /** Fields that replace those of every entry read, to make it corrupt. */
  corrupt: Partial<Record<keyof CacheEntry, unknown>> | undefined;
}

export interface DriverCalls {
  reads: number;
  writes: number;
  /** Calls of the cache's repositoryGetter. */
  routes: number;
}

class FaultyRepository<K extends Key = Key, V = unknown> extends MemoryRepository<K, V> {
  readonly #faults: Faults;
  readonly #calls: DriverCalls;

  constructor(
    store: MemoryStore,
    settings: ResponseRepositorySettings<V>,
    options: RepositoryOptions,
    faults: Faults,
    calls: DriverCalls,
  ) {
    super(store, settings, options);
    this.#faults = faults;
    this.#calls = calls;
  }

  #beforeRead(): void {
    this.#calls.reads++;
    if (this.#faults.read !== undefined) throw this.#faults.read;
  }

  #corrupt(entry: CacheEntry<K>): CacheEntry<K> {
    return this.#faults.corrupt === undefined ? entry : ({ ...entry, ...this.#faults.corrupt } as CacheEntry<K>);
  }

  protected override async readEntry(key: K, now: number): Promise<CacheEntry<K> | undefined> {
    this.#beforeRead();
    const entry = await super.readEntry(key, now);
    return entry === undefined ? undefined : this.#corrupt(entry);
  }

  protected override async readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]> {
    this.#beforeRead();
    return (await super.readEntries(keys, now)).map((entry) => this.#corrupt(entry));
  }

  protected override async writeEntries(entries: readonly CacheEntry<K>[]): Promise<void> {
    this.#calls.writes++;
    if (this.#faults.write !== undefined) throw this.#faults.write;
    await super.writeEntries(entries);
  }
}

/** A memory cache with a switchboard of faults. */
export class FaultyMemoryCache extends ResponseCache<FaultyRepository> {
  readonly type = "faulty-memory";
  readonly faults: Faults = { read: undefined, write: undefined, corrupt: undefined };
  readonly calls: DriverCalls = { reads: 0, writes: 0, routes: 0 };
  /** An error that `connect()` throws. */
  connectError: Error | undefined;
  readonly #store = new MemoryStore(10_000, 64 * 1024 * 1024);

  constructor(options: CacheOptions = {}) {
    super({ name: "faulty-memory", ...options });
    const getter = options.repositoryGetter;
    if (getter !== undefined) {
      this.repositoryGetter = (cache, url) => {
        this.calls.routes++;
        return getter(cache, url);
      };
    }
  }

  protected async openConnection(): Promise<void> {
    if (this.connectError !== undefined) throw this.connectError;
  }

  protected async closeConnection(): Promise<void> {}

  protected newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): FaultyRepository {
    return new FaultyRepository(this.#store, settings, options, this.faults, this.calls) as FaultyRepository;
  }
}

/** An error shaped like the one SQLite gives when another connection holds the lock. */
export function lockedError(): Error {
  return Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
}
