import { randomBytes } from "node:crypto";
import { describeValue } from "../describe.js";
import { DEFAULT_EXPIRE, type Expire, validateExpire } from "../duration.js";
import { CacheError } from "../errors.js";
import type { CacheRequest, Exchange, Key } from "../types.js";
import { requestUrl } from "./key.js";
import { RecordedSettings, type RepositoryRecord, recordOf } from "./records.js";
import {
  bareResponse,
  type CachePolicy,
  type RepositoryOptions,
  type RepositoryRequest,
  type ResponseRepository,
  type SaveInput,
} from "./repository.js";
import type { ResponseRepositorySettings } from "./settings.js";
import { type FillOptions, type FillTicket, fillEntry, type StoreLocks } from "./single-flight.js";

// biome-ignore lint/suspicious/noExplicitAny: a cache holds repositories of any key and payload type.
export type AnyRepository = ResponseRepository<any, any>;

/** Finds the repository of a cache for a URL, or `undefined` to leave it uncached. */
// biome-ignore lint/suspicious/noExplicitAny: a getter works with a cache of any backend.
export type RepositoryGetter = (cache: ResponseCache<any>, url: URL) => AnyRepository | undefined;

/** What a cache can save: a request and its response, or a `[request, payload]` pair. */
export type CacheSaveInput = Exchange | readonly [CacheRequest, unknown];

/** Options of every cache. */
export interface CacheOptions {
  /**
   * A name for the cache, for messages (backends set one from their path or URL).
   * @default the backend's path or URL without its password; `"memory"` for a memory cache
   * @example "api-cache"
   */
  name?: string;
  /**
   * Finds the repository for a URL. Without one, nothing is routed and the cache-level calls miss;
   * see {@link repositoryByPathSegment} for a common rule.
   * @default undefined (no routing)
   * @example repositoryByPathSegment(1) // /v1/tracks/42 → the "tracks" repository
   */
  repositoryGetter?: RepositoryGetter;
  /**
   * How long a saved response stays live, for every repository that does not set its own.
   * At most `MAX_EXPIRE` (1,000 years), which every backend can store; longer is a `RangeError`.
   * @default { weeks: 1 }
   * @example { days: 1 }
   */
  expire?: Expire;
  /**
   * The clock, in epoch milliseconds. Replace it to control expiry in tests.
   * @default Date.now
   * @example () => fakeClock.now()
   */
  now?: () => number;
  /**
   * How a session decides freshness, for every repository that does not set its own: `"http"` by
   * the origin's caching headers (RFC 9111), `"expire"` by the repository's `expire`.
   * @default "expire"
   * @example { policy: "http" }
   */
  policy?: CachePolicy;
}

/** Options of {@link ResponseCache.createRepository}. */
export interface CreateRepositoryOptions {
  /**
   * How long a saved response is kept: the freshness limit in the `"expire"` policy, the retention
   * limit in `"http"` (an entry is kept until the later of its HTTP freshness and this).
   * @default the cache's expire
   * @example { expire: { days: 1 } }
   */
  expire?: Expire;
  /**
   * How a session decides freshness for this repository.
   * @default the cache's policy
   * @example { policy: "http" }
   */
  policy?: CachePolicy;
  /**
   * In the `"expire"` policy, the statuses stored.
   * @default 200–299 but 204, 205 and 206
   * @example { statuses: [200, 404] }
   */
  statuses?: readonly number[];
  /**
   * In the `"expire"` policy, whether `no-store` responses are stored all the same.
   * @default false
   * @example { ignoreNoStore: true }
   */
  ignoreNoStore?: boolean;
}

/** The names of the options that every cache takes; each backend adds its own. */
export const CACHE_OPTIONS: readonly string[] = ["name", "repositoryGetter", "expire", "now", "policy"];

/**
 * Refuses options whose names `known` does not list, with a `TypeError` that lists them: a
 * misspelt option, or one of another backend, would otherwise be ignored without a word.
 */
export function checkOptionNames(options: unknown, known: readonly string[], owner: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${owner} options must be an object, got ${describeValue(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new TypeError(`${owner} has no option "${name}"; expected ${known.join(", ")}`);
    }
  }
}

/** Makes the cache that `ResponseCache.create` returns for a path or URL. */
export type CacheOpener = (value: string | URL, options: CacheOptions) => Promise<ResponseCache>;

let opener: CacheOpener | undefined;

/**
 * Installs the function behind `ResponseCache.create`. The factory module, which knows every
 * backend, installs itself when the package loads; this module knows none of them.
 */
export function setCacheOpener(open: CacheOpener): void {
  opener = open;
}

/** The size of a whole store, and what was measured. */
export interface StoreSize {
  bytes: number;
  /** What the bytes are: "file", "tables", "server memory", "memory". */
  measured: string;
}

type State = "new" | "connecting" | "open" | "closed";

/**
 * A connection to a backend and the repositories in it, with Map-like access to them, and
 * get/save/delete routed to the right repository by URL.
 *
 * @example
 * await using cache = await ResponseCache.create("cache/api.sqlite", { repositoryGetter });
 * cache.createRepository(trackSettings);
 * await cache.connect();
 * await cache.getResponse(new Request("https://api.example.com/v1/tracks/42"));
 */
export abstract class ResponseCache<R extends AnyRepository = AnyRepository>
  implements Iterable<[string, R]>, AsyncDisposable
{
  /** A short name of the backend: "sqlite", "memory", ... */
  abstract readonly type: string;
  /** The name of the cache: a path, a URL or a label. */
  readonly name: string;
  /** How long a saved response stays live, for repositories that do not set their own. */
  readonly expire: Expire;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  /** How a session decides freshness, for repositories that do not set their own. */
  readonly policy: CachePolicy;

  readonly #repositories = new Map<string, R>();
  readonly #metadata = new Map<string, string>();
  #repositoryGetter: RepositoryGetter | undefined;
  #routeVersion = 0;
  #secret: Promise<Buffer> | undefined;
  #state: State = "new";
  #connecting: Promise<void> | undefined;

  constructor(options: CacheOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`cache options must be an object, got ${describeValue(options)}`);
    }
    if (options.now !== undefined && typeof options.now !== "function") {
      throw new TypeError(`now must be a function returning epoch milliseconds, got ${describeValue(options.now)}`);
    }
    this.name = options.name ?? "cache";
    this.repositoryGetter = options.repositoryGetter;
    this.expire = validateExpire(options.expire ?? DEFAULT_EXPIRE);
    this.now = options.now ?? Date.now;
    const policy = options.policy ?? "expire";
    if (policy !== "http" && policy !== "expire") {
      throw new TypeError(`policy must be "http" or "expire", got ${describeValue(policy)}`);
    }
    this.policy = policy;
  }

  /**
   * Picks the backend from a path or URL: `memory:` → memory; a plain path → an SQLite file, with
   * `.sqlite` added unless the name ends with it (as `SQLiteCache.connectWithPath`), `:memory:` →
   * SQLite in memory; `sqlite:PATH`, `sqlite::memory:` or a `file:` URI → SQLite, the path as given
   * (see `SQLiteCache.connect`); `redis://` → Redis; `postgres://` → PostgreSQL. The backend is
   * loaded only when used; for Redis and PostgreSQL its driver package too, so a missing one
   * rejects here with the command that installs it. A bare `memory`, `redis` or `postgres` (no
   * colon) is refused with a `CacheError`, since it would make a file of that name. The cache is
   * returned unconnected: call `connect()`.
   *
   * @example const cache = await ResponseCache.create("cache/api"); // cache/api.sqlite
   * @example const cache = await ResponseCache.create("memory:", { expire: { hours: 1 } });
   */
  static async create(value: string | URL, options: CacheOptions = {}): Promise<ResponseCache> {
    if (opener === undefined) {
      throw new CacheError("ResponseCache.create is not installed: import ResponseCache from the package itself");
    }
    return opener(value, options);
  }

  // ---------------------------------------------------------------------------------------------
  // The driver: what a backend implements.

  /** Opens the connection to the backend. */
  protected abstract openConnection(): Promise<void>;
  /** Closes the connection to the backend. */
  protected abstract closeConnection(): Promise<void>;
  /** Makes a repository of this backend for the given settings (it is created in the backend later). */
  protected abstract newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): R;
  /** Refuses a repository name that this backend cannot store, with a `CacheError`. */
  protected checkRepositoryName(_name: string): void {}
  /** The locks that every process sharing the store sees, or `undefined` for a store of one process. */
  protected storeLocks(): StoreLocks | undefined {
    return undefined;
  }

  /**
   * Reads one value of the store's own metadata, recording `value` first when there is none, so that
   * every process sharing the store agrees on it; resolves to the recorded value. Backends that
   * persist override it; the default keeps the value for the life of this object.
   */
  protected async keepMetadata(name: string, value: string): Promise<string> {
    const kept = this.#metadata.get(name);
    if (kept !== undefined) return kept;
    this.#metadata.set(name, value);
    return value;
  }

  /**
   * The store's secret for credential partitions: random bytes made once per store and kept in its
   * metadata, so that every process sharing the store derives the same partition for the same
   * credentials, while the digests cannot be checked against guessed credentials without it.
   */
  partitionSecret(): Promise<Buffer> {
    this.#secret ??= (async () => {
      if (!this.connected) await this.connect();
      const kept = await this.keepMetadata("partition_secret", randomBytes(32).toString("base64url"));
      return Buffer.from(kept, "base64url");
    })().catch((error: unknown) => {
      this.#secret = undefined;
      throw error;
    });
    return this.#secret;
  }

  // ---------------------------------------------------------------------------------------------
  // Map-like access

  /** The repository with this name. */
  get(name: string): R | undefined {
    return this.#repositories.get(name);
  }

  /** Finds the repository for a URL; may be replaced at any time (or removed, with `undefined`). */
  get repositoryGetter(): RepositoryGetter | undefined {
    return this.#repositoryGetter;
  }

  set repositoryGetter(getter: RepositoryGetter | undefined) {
    if (getter !== undefined && typeof getter !== "function") {
      throw new TypeError(`repositoryGetter must be a function, got ${describeValue(getter)}`);
    }
    this.#repositoryGetter = getter;
    this.#routeVersion++;
  }

  /**
   * A number that changes whenever the cache may route a URL differently than before: a repository
   * created, the `repositoryGetter` replaced. What remembers where URLs were routed (a request
   * handler's hits do) checks it before using what it remembered.
   */
  get routeVersion(): number {
    return this.#routeVersion;
  }

  has(name: string): boolean {
    return this.#repositories.has(name);
  }

  get size(): number {
    return this.#repositories.size;
  }

  keys(): IterableIterator<string> {
    return this.#repositories.keys();
  }

  values(): IterableIterator<R> {
    return this.#repositories.values();
  }

  entries(): IterableIterator<[string, R]> {
    return this.#repositories.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, R]> {
    return this.#repositories.entries();
  }

  /** Whether the connection is open. */
  get connected(): boolean {
    return this.#state === "open";
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Adds a repository for these settings. It is created in the backend when the cache connects, or
   * at once when the cache is already connected. A name that is taken is a `CacheError`.
   */
  createRepository<V>(settings: ResponseRepositorySettings<V>, options: CreateRepositoryOptions = {}): R {
    if (this.#state === "closed") throw new CacheError(`cache "${this.name}" is closed`);
    const name = settings?.name;
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`createRepository takes settings with a name, got ${describeValue(settings)}`);
    }
    if (this.#repositories.has(name)) {
      throw new CacheError(`cache "${this.name}" already has a repository named "${name}"`);
    }
    this.checkRepositoryName(name);
    const repositoryOptions: RepositoryOptions = {
      expire: options.expire === undefined ? this.expire : validateExpire(options.expire),
      now: this.now,
      policy: options.policy ?? this.policy,
    };
    if (options.statuses !== undefined) repositoryOptions.statuses = options.statuses;
    if (options.ignoreNoStore !== undefined) repositoryOptions.ignoreNoStore = options.ignoreNoStore;
    const repository = this.newRepository(settings, repositoryOptions);
    this.#repositories.set(name, repository);
    this.#routeVersion++;
    if (this.#state === "open" || this.#state === "connecting") {
      // Created in the background; calls on the repository wait for it and see its error if it fails.
      this.#afterConnect(() => this.#createInStore(repository)).catch(() => {});
    }
    return repository;
  }

  /** Opens the connection and creates every repository in the backend. Safe to call more than once. */
  async connect(): Promise<this> {
    if (this.#state === "open") return this;
    if (this.#state === "closed") throw new CacheError(`cache "${this.name}" is closed`);
    if (this.#connecting === undefined) {
      this.#state = "connecting";
      this.#connecting = (async () => {
        try {
          await this.openConnection();
          for (const repository of this.#repositories.values()) await this.#createInStore(repository);
          this.#state = "open";
        } catch (error) {
          this.#state = "new";
          await this.closeConnection().catch(() => {});
          throw error;
        } finally {
          this.#connecting = undefined;
        }
      })();
    }
    await this.#connecting;
    return this;
  }

  /** Creates a repository in the backend and records it there, so that other programs can open it. */
  async #createInStore(repository: R): Promise<void> {
    await repository.create();
    await this.saveRecord(recordOf(repository));
  }

  async #afterConnect<T>(action: () => Promise<T>): Promise<T> {
    if (this.#connecting !== undefined) await this.#connecting;
    return action();
  }

  /** Closes every repository and the connection. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    if (this.#connecting !== undefined) await this.#connecting.catch(() => {});
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    for (const repository of this.#repositories.values()) await repository.close();
    if (wasOpen) await this.closeConnection();
  }

  /** `await using cache = ...` closes the cache at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Administration: the store's record of its repositories, its size, integrity and compaction

  /** Records a repository in the store (replacing its earlier record). Backends that persist override it. */
  protected async saveRecord(_record: RepositoryRecord): Promise<void> {}
  /** The records of every repository created in the store. */
  protected async loadRecords(): Promise<RepositoryRecord[]> {
    return [];
  }
  /** The size of the whole store, or `null` when the backend cannot tell. */
  protected async measureStore(): Promise<StoreSize | null> {
    return null;
  }
  /** The backend's own integrity check: a list of problems, empty when there are none. */
  protected async checkStore(): Promise<string[]> {
    return [];
  }
  /** Gives space back to the system and tidies indexes. */
  protected async compactStore(): Promise<void> {}

  /**
   * What the store records of the repositories created in it (by any program): names, key fields,
   * payload handler kinds and expiry. Sorted by name.
   */
  async repositoryRecords(): Promise<RepositoryRecord[]> {
    await this.connect();
    const records = await this.loadRecords();
    return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Adds a repository for every one the store records and this cache does not have yet, with
   * settings rebuilt from the record (they take keys, not requests), and resolves to all of the
   * cache's repositories. Connects the cache.
   *
   * @example
   * const cache = await ResponseCache.create(".cache/requestful.sqlite");
   * for (const repository of await cache.openRecordedRepositories()) console.log(repository.name, await repository.count());
   */
  async openRecordedRepositories(): Promise<R[]> {
    for (const record of await this.repositoryRecords()) {
      if (this.#repositories.has(record.name)) continue;
      this.createRepository(new RecordedSettings(record), { expire: record.expire });
    }
    await Promise.all([...this.#repositories.values()].map((repository) => repository.create()));
    return [...this.#repositories.values()];
  }

  /**
   * Adds a repository with settings rebuilt from a record (from another store, or an export file),
   * creates it in the backend and records it there. Connects the cache.
   */
  async createRecordedRepository(record: RepositoryRecord): Promise<R> {
    await this.connect();
    const repository = this.createRepository(new RecordedSettings(record), { expire: record.expire });
    await repository.create();
    await this.saveRecord(recordOf(repository));
    return repository;
  }

  /** The size of the whole store (a file, tables, server memory), or `null` when the backend cannot tell. */
  async storeSize(): Promise<StoreSize | null> {
    await this.connect();
    return this.measureStore();
  }

  /** The backend's own integrity check (SQLite's, Redis's index, PostgreSQL's rows): the problems found. */
  async checkIntegrity(): Promise<string[]> {
    await this.connect();
    return this.checkStore();
  }

  /** Gives space back (SQLite VACUUM, PostgreSQL VACUUM, Redis index clean-up); the size before and after. */
  async compact(): Promise<{ before: StoreSize | null; after: StoreSize | null }> {
    await this.connect();
    const before = await this.measureStore();
    await this.compactStore();
    return { before, after: await this.measureStore() };
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  /** The repository for a URL, found by the `repositoryGetter`. */
  getRepositoryFromUrl(url: string | URL): R | undefined {
    const getter = this.#repositoryGetter;
    if (getter === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = url instanceof URL ? url : new URL(url);
    } catch (cause) {
      throw new TypeError(`expected an absolute URL, got ${describeValue(url)}`, { cause });
    }
    return (getter(this, parsed) as R | undefined) ?? undefined;
  }

  /**
   * The one repository for all these requests (or exchanges); requests that map to different
   * repositories are a `CacheError`.
   */
  getRepositoryFromRequests(requests: Iterable<CacheRequest | CacheSaveInput>): R | undefined {
    let found: R | undefined;
    let first = true;
    for (const item of requests) {
      const repository = this.getRepositoryFromUrl(requestUrl(requestOf(item)));
      if (first) {
        found = repository;
        first = false;
      } else if (repository !== found) {
        throw new CacheError(
          `these requests belong to different repositories ("${found?.name ?? "none"}" and ` +
            `"${repository?.name ?? "none"}"); give requests for one repository at a time`,
        );
      }
    }
    return found;
  }

  // ---------------------------------------------------------------------------------------------
  // Routed reads and writes

  /** The payload cached for a request, from the repository its URL maps to. */
  async getResponse(request: CacheRequest): Promise<unknown> {
    return this.getRepositoryFromRequests([request])?.getResponse(request);
  }

  /** The payloads cached for many requests of one repository (misses left out, request order kept). */
  async getResponses(requests: Iterable<CacheRequest>): Promise<unknown[]> {
    const list = [...requests];
    return (await this.getRepositoryFromRequests(list)?.getResponses(list)) ?? [];
  }

  /** Saves a request and its response (or a `[request, payload]` pair) to the repository its URL maps to. */
  async saveResponse(input: CacheSaveInput): Promise<boolean> {
    if (input instanceof Response) throw bareResponse();
    return (await this.getRepositoryFromRequests([input])?.saveResponse(input as SaveInput<never, unknown>)) ?? false;
  }

  /** Saves many exchanges or pairs of one repository in one transaction; resolves to how many were written. */
  async saveResponses(inputs: Iterable<CacheSaveInput>): Promise<number> {
    const list = [...inputs];
    if (list.some((input) => input instanceof Response)) throw bareResponse();
    return (await this.getRepositoryFromRequests(list)?.saveResponses(list as SaveInput<never, unknown>[])) ?? 0;
  }

  /**
   * One fetch per missed key across every process that shares the store. Call it after a miss: it
   * takes the key's lock and says `fetch` (fetch, store, then `release()`), or, when another
   * process holds the lock, waits until that one releases it or its lease runs out and resolves to
   * the entry it stored (`filled`), or to `fetch` without a lock when there is none. A store of one
   * process (memory), or a lock that fails, says `fetch` at once: errors fail open, to `onError`.
   *
   * @example
   * const ticket = await cache.fill(tracks, request, { lease: 10_000, signal });
   * if (ticket.state === "filled") return ticket.entry;
   * try { await tracks.saveResponse({ request, response: await fetch(request) }); } finally { await ticket.release(); }
   */
  async fill<K extends Key>(
    repository: ResponseRepository<K>,
    request: RepositoryRequest<K>,
    options: FillOptions<K> = {},
  ): Promise<FillTicket<K>> {
    const key = repository.getKeyFromRequest(request);
    if (key === undefined) return fillEntry(undefined, repository, key as unknown as K, options);
    let locks: StoreLocks | undefined;
    try {
      locks = this.connected ? this.storeLocks() : undefined;
    } catch (error) {
      options.onError?.(error);
    }
    return fillEntry(locks, repository, key, options);
  }

  /** Deletes the entry for a request; resolves to whether there was one. */
  async deleteResponse(request: CacheRequest): Promise<boolean> {
    return (await this.getRepositoryFromRequests([request])?.deleteResponse(request)) ?? false;
  }

  /** Deletes the entries for many requests of one repository; resolves to how many there were. */
  async deleteResponses(requests: Iterable<CacheRequest>): Promise<number> {
    const list = [...requests];
    return (await this.getRepositoryFromRequests(list)?.deleteResponses(list)) ?? 0;
  }
}

function requestOf(item: CacheRequest | CacheSaveInput): CacheRequest {
  if (Array.isArray(item)) return item[0] as CacheRequest;
  if (typeof item === "object" && item !== null && "response" in item && "request" in item) return item.request;
  return item as CacheRequest;
}

/**
 * A `repositoryGetter` that routes by one segment of the URL's path: the repository named like that
 * segment, if there is one.
 *
 * @example
 * // https://api.example.com/v1/tracks/42 → the repository named "tracks"
 * const cache = await ResponseCache.create("cache", { repositoryGetter: repositoryByPathSegment(1) });
 */
export function repositoryByPathSegment(index: number): RepositoryGetter {
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`repositoryByPathSegment index must be a whole number of 0 or more, got ${index}`);
  }
  return (cache, url) => {
    const segment = pathSegment(url.pathname, index);
    if (segment === undefined) return undefined;
    if (!segment.includes("%")) return cache.get(segment);
    try {
      return cache.get(decodeURIComponent(segment));
    } catch {
      return undefined; // a malformed escape names no repository
    }
  };
}

/** The non-empty segment of a path at `index` (empty segments, as in `//`, are skipped), or `undefined`. */
function pathSegment(path: string, index: number): string | undefined {
  let seen = 0;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf("/", start);
    if (end === -1) end = path.length;
    if (end > start) {
      if (seen === index) return path.slice(start, end);
      seen++;
    }
    start = end + 1;
  }
  return undefined;
}
