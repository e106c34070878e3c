import { describeValue } from "../describe.js";
import { DEFAULT_EXPIRE, type Expire, expiryAdder, validateExpire } from "../duration.js";
import { CacheError, CacheTimeoutError, PayloadHandlerError, RequestfulError } from "../errors.js";
import type { PayloadHandler, StoredPayload } from "../payload/handler.js";
import type { CacheRequest, Exchange, Key, KeyPart } from "../types.js";
import {
  ALL_TIME,
  type BatchOptions,
  batchSizeOf,
  type EntryFilter,
  entryTest,
  type ListOptions,
  type RepositoryStats,
  type ResolvedFilter,
  resolveFilter,
  type VerifyOptions,
  type VerifyReport,
} from "./admin.js";
import type { CacheEntry } from "./entry.js";
import { keyId, toKeyRequest } from "./key.js";
import type { ResponseRepositorySettings } from "./settings.js";

/** Where a repository's key comes from: the key itself, or a request to pull it out of. */
export type RepositoryRequest<K extends Key> = K | CacheRequest;

/** The status, headers and URL of a response, for {@link ResponseRepository.saveResponseBytes}. */
export interface ResponseHead {
  status: number;
  /** The header fields as `[name, value]` pairs, stored in this order. */
  headers: Iterable<readonly [string, string]>;
  url: string;
}

/** What a repository saves: a `[key or request, payload]` pair, or a request and the response it got. */
export type SaveInput<K extends Key, V> = readonly [RepositoryRequest<K>, V | StoredPayload] | Exchange;

/**
 * How a session decides that a stored response is fresh: `"http"` by the origin's caching headers
 * (RFC 9111), with the repository's `expire` as how long an entry is kept at most past its
 * freshness; `"expire"` by the repository's `expire` alone, whatever the origin says.
 */
export type CachePolicy = "http" | "expire";

/** The statuses stored in the `"expire"` policy by default: 200–299 but 204, 205 and 206. */
export const DEFAULT_STATUSES: readonly number[] = Object.freeze(
  Array.from({ length: 100 }, (_, i) => 200 + i).filter((status) => status !== 204 && status !== 205 && status !== 206),
);

/** Options of a saved response, for {@link ResponseRepository.saveResponseBytes}. */
export interface SaveOptions {
  /**
   * Metadata to store with the entry (opaque JSON text that the session's HTTP rules read back).
   * @default null
   * @example { meta: '{"v":1}' }
   */
  meta?: string | null;
  /**
   * When the entry expires, in epoch milliseconds, instead of the repository's `expire` from now.
   * @default the repository's expire, from now
   * @example { expiresAt: Date.now() + 60_000 }
   */
  expiresAt?: number;
  /**
   * Called once the entry can be read by every reader of the store, which may come before the
   * write resolves: on SQLite with `synchronous: "full"` a write resolves once the log is synced
   * to disk after its commit, and the commit is readable at once. Elsewhere it is called just
   * before the write resolves. Not called if the write fails before its commit.
   * @default undefined
   * @example { onVisible: () => console.log("readable now") }
   */
  onVisible?: (() => void) | undefined;
}

/** Options of a repository. */
export interface RepositoryOptions {
  /**
   * How a session decides freshness for this repository's responses (see {@link CachePolicy}).
   * @default "expire" (or the cache's `policy`)
   * @example { policy: "http" }
   */
  policy?: CachePolicy;
  /**
   * In the `"expire"` policy, the statuses whose responses are stored. (In `"http"`, RFC 9111 decides.)
   * @default 200–299 but 204, 205 and 206
   * @example { statuses: [200, 203, 404] }
   */
  statuses?: readonly number[];
  /**
   * In the `"expire"` policy, whether responses marked `Cache-Control: no-store` are stored all the
   * same (for an API that marks data worth keeping that way). `"http"` always honours `no-store`.
   * @default false
   * @example { ignoreNoStore: true }
   */
  ignoreNoStore?: boolean;
  /**
   * How long a saved response stays live: milliseconds, or a calendar duration.
   * At most `MAX_EXPIRE` (1,000 years), which every backend can store; longer is a `RangeError`.
   * @default { weeks: 1 }
   * @example { weeks: 2 }
   */
  expire?: Expire;
  /**
   * The clock, in epoch milliseconds. Replace it to control expiry in tests.
   * @default Date.now
   * @example () => fakeClock.now()
   */
  now?: () => number;
}

/** The columns every backend keeps beside the key columns, in the order tables write and read them. */
export const VALUE_COLUMNS = [
  "name",
  "cached_at",
  "expires_at",
  "payload",
  "status",
  "headers",
  "url",
  "meta",
] as const;

/** Column names that every backend keeps beside the key fields; a field may not take one of them. */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set(["method", ...VALUE_COLUMNS]);

/**
 * Names that a database keeps for itself: SQLite's rowid aliases and PostgreSQL's system columns.
 * No field may take one of them (in any case) on any backend, so that settings work on every backend.
 */
export const SYSTEM_COLUMNS: ReadonlySet<string> = new Set([
  "rowid",
  "oid",
  "_rowid_",
  "tableoid",
  "xmin",
  "cmin",
  "xmax",
  "cmax",
  "ctid",
]);

type State = "new" | "creating" | "ready" | "closed";

/**
 * A store of one kind of response in a backend (a table, a key space), with a dict-like async API.
 *
 * The base class holds all the logic: key extraction, (de)serialisation, expiry arithmetic and bulk
 * behaviour. A backend implements the protected driver methods, which know nothing of HTTP.
 *
 * @example
 * const tracks = cache.createRepository(trackSettings);
 * await cache.connect();
 * await tracks.saveResponse([["GET", "6fWoFduMpBem73DMLCOh1Z", "v1"], { name: "super cool song" }]);
 * await tracks.getResponse(["GET", "6fWoFduMpBem73DMLCOh1Z", "v1"]); // { name: "super cool song" }
 * for await (const [key, payload] of tracks) console.log(key, payload);
 */
export abstract class ResponseRepository<K extends Key = Key, V = unknown> implements AsyncIterable<[K, V]> {
  /** The settings that key, name and (de)serialise this repository's responses. */
  readonly settings: ResponseRepositorySettings<V>;
  /** How long a saved response stays live. */
  readonly expire: Expire;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  /** A short name of the backend, for messages. */
  abstract readonly backend: string;
  /** How a session decides freshness for this repository's responses. */
  readonly policy: CachePolicy;
  /** In the `"expire"` policy, the statuses stored. */
  readonly statuses: ReadonlySet<number>;
  /** In the `"expire"` policy, whether `no-store` responses are stored all the same. */
  readonly ignoreNoStore: boolean;

  #state: State = "new";
  #creating: Promise<void> | undefined;
  /** Frozen keys found valid for this repository: they cannot change, so they are not checked again. */
  readonly #checked = new WeakSet<readonly unknown[]>();
  readonly #width: number;
  readonly #expiresAt: (from: number) => number;

  constructor(settings: ResponseRepositorySettings<V>, options: RepositoryOptions = {}) {
    this.settings = settings;
    this.expire = validateExpire(options.expire ?? DEFAULT_EXPIRE);
    this.now = options.now ?? Date.now;
    this.policy = checkPolicy(options.policy ?? "expire");
    this.statuses = checkStatuses(options.statuses ?? DEFAULT_STATUSES);
    if (options.ignoreNoStore !== undefined && typeof options.ignoreNoStore !== "boolean") {
      throw new TypeError(`ignoreNoStore must be true or false, got ${describeValue(options.ignoreNoStore)}`);
    }
    this.ignoreNoStore = options.ignoreNoStore ?? false;
    validateFields(settings);
    this.#width = settings.fields.length + 1;
    this.#expiresAt = expiryAdder(this.expire);
  }

  /** When an entry saved at `from` (epoch milliseconds) expires under this repository's `expire`. */
  expiresAtFrom(from: number): number {
    return this.#expiresAt(from);
  }

  /** The repository's name in the backend. */
  get name(): string {
    return this.settings.name;
  }

  /** Whether the repository exists in the backend and can be used. */
  get ready(): boolean {
    return this.#state === "ready";
  }

  // ---------------------------------------------------------------------------------------------
  // The driver: what a backend implements. Keys given to it are valid and distinct.

  /** Creates the store in the backend if it does not exist. */
  protected abstract setUp(): Promise<void>;
  /**
   * The live entries (`now < expiresAt`) among `keys`, in any order; with `now` undefined, the
   * entries expired or not that the backend still holds.
   */
  protected abstract readEntries(keys: readonly K[], now: number | undefined): Promise<CacheEntry<K>[]>;
  /** Writes entries, replacing those with the same key, all or none. */
  protected abstract writeEntries(entries: readonly CacheEntry<K>[]): Promise<void>;
  /** Removes the entries with these keys, all or none; resolves to how many there were. */
  protected abstract removeEntries(keys: readonly K[]): Promise<number>;
  /** Counts entries: all of them when `now` is undefined, else the live ones. */
  protected abstract countEntries(now: number | undefined): Promise<number>;
  /** Removes entries: all of them when `now` is undefined, else the expired ones (`expiresAt <= now`). */
  protected abstract clearEntries(now: number | undefined): Promise<number>;
  /** Every live entry once, in any order, in batches so that other calls can run in between. */
  protected abstract scanEntries(now: number): AsyncIterable<CacheEntry<K>>;

  /** The payload of one live entry. Backends override it where a narrower read is faster. */
  protected async readPayload(key: K, now: number): Promise<StoredPayload | undefined> {
    return (await this.readEntries([key], now))[0]?.payload;
  }

  /**
   * One live entry, or with `now` undefined the entry expired or not. Backends override it where a
   * single read is faster, and must when they can read an expired entry.
   */
  protected async readEntry(key: K, now: number | undefined): Promise<CacheEntry<K> | undefined> {
    return (await this.readEntries([key], now))[0];
  }

  /**
   * One live entry with what answering with its payload needs: the payload, status, instants and
   * metadata; `headers`, `url` and `name` may be left `null`. Backends override it where a narrower
   * read is faster, and answer at once (not with a promise) where they can read without waiting.
   */
  protected readPayloadEntry(key: K, now: number): CacheEntry<K> | undefined | Promise<CacheEntry<K> | undefined> {
    return this.readEntry(key, now);
  }

  /**
   * Writes one entry. Backends override it where a single write is faster. A backend whose writes
   * become readable before they are durable calls `visible` once the entry can be read, then
   * resolves once it is durable.
   */
  protected writeEntry(entry: CacheEntry<K>, _visible?: () => void): Promise<void> {
    return this.writeEntries([entry]);
  }

  /** Whether a live entry has this key. Backends override it where a narrower read is faster. */
  protected async hasEntry(key: K, now: number): Promise<boolean> {
    return (await this.readEntries([key], now)).length > 0;
  }

  /** Releases what the repository holds of its own; the cache closes the shared connection. */
  protected async tearDown(): Promise<void> {}

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Creates the repository in the backend if it does not exist yet, and makes it usable.
   * A cache does this for every repository when it connects.
   */
  async create(): Promise<this> {
    if (this.#state === "ready") return this;
    if (this.#creating === undefined) {
      this.#state = "creating";
      this.#creating = this.setUp().then(
        () => {
          this.#state = "ready";
          this.#creating = undefined;
        },
        (error: unknown) => {
          this.#state = "new";
          this.#creating = undefined;
          throw this.#wrap(error, "create");
        },
      );
    }
    await this.#creating;
    return this;
  }

  /** Writes are committed when they resolve, so there is nothing left to commit; kept for the familiar API. */
  async commit(): Promise<void> {
    if (this.#state !== "ready") await this.#ensureReady();
  }

  /** Closes the repository: later calls fail with a `CacheError` until it is created again. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    await this.tearDown();
  }

  // ---------------------------------------------------------------------------------------------
  // Keys

  /**
   * The key for a request: its method followed by the values the settings pull out of it, or
   * `undefined` when the settings leave the request uncached. A key given as an array is checked and
   * returned as it is.
   */
  getKeyFromRequest(request: RepositoryRequest<K>): K | undefined {
    if (Array.isArray(request)) return this.#checkKey(request as unknown as readonly unknown[]);
    const keyRequest = toKeyRequest(request as CacheRequest);
    if (!this.settings.methods.has(keyRequest.method)) return undefined;
    const parts = this.settings.getKey(keyRequest);
    if (!Array.isArray(parts) || parts.length !== this.#width - 1) {
      throw new CacheError(
        `settings "${this.name}".getKey must return ${this.#width - 1} value(s), one per field ` +
          `(${this.settings.fields.join(", ")}), got ${describeValue(parts)}`,
      );
    }
    const key: KeyPart[] = [keyRequest.method];
    for (const part of parts) {
      if (part === null || part === undefined) return undefined;
      key.push(checkPart(part, this.name, key.length));
    }
    return key as unknown as K;
  }

  #checkKey(key: readonly unknown[]): K {
    if (this.#checked.has(key)) return key as unknown as K;
    if (key.length !== this.#width) {
      throw new CacheError(
        `a key of repository "${this.name}" has ${this.#width} parts (method, ${this.settings.fields.join(", ")}), ` +
          `got ${key.length}`,
      );
    }
    const method = key[0];
    if (typeof method !== "string" || method.length === 0) {
      throw new CacheError(`a key starts with the request method as a string, got ${describeValue(method)}`);
    }
    if (hasLoneSurrogate(method)) throw loneSurrogate(`the method of a key of repository "${this.name}"`, method);
    for (let i = 1; i < key.length; i++) checkPart(key[i], this.name, i);
    if (Object.isFrozen(key)) this.#checked.add(key);
    return key as unknown as K;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** The payload cached for a request or key, if a live entry exists. */
  async getResponse(request: RepositoryRequest<K>): Promise<V | undefined> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return undefined;
    if (this.#state !== "ready") await this.#ensureReady();
    let payload: StoredPayload | undefined;
    try {
      payload = await this.readPayload(key, this.now());
    } catch (error) {
      throw this.#wrap(error, "read from");
    }
    if (payload === undefined) return undefined;
    const handler = this.settings.payloadHandler;
    return handler.deserializeSync !== undefined
      ? handler.deserializeSync(payload)
      : await handler.deserialize(payload);
  }

  /**
   * The live entry for a request or key with what answering with its payload needs — the payload
   * in its stored form, the status, the instants and the HTTP metadata (`meta`) — read more
   * narrowly than {@link getEntry} where the backend can: its `headers`, `url` and `name` may be
   * `null` whatever was stored. A request handler's cache hits read this way.
   *
   * @example
   * const entry = await tracks.getPayloadEntry(["GET", "42"]);
   * if (entry !== undefined && entry.status === 200) console.log(entry.payload);
   */
  async getPayloadEntry(request: RepositoryRequest<K>): Promise<CacheEntry<K> | undefined> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return undefined;
    if (this.#state !== "ready") await this.#ensureReady();
    return this.#readPayloadEntry(key);
  }

  /**
   * {@link getPayloadEntry}, answered without waiting a turn where the backend can read at once
   * (memory; SQLite while the file is not busy): the entry or `undefined`, else a promise of either.
   * A bad key throws, a failed read throws or rejects, as `getPayloadEntry` rejects. For the request
   * handler's cache reads.
   * @internal
   */
  payloadEntryNow(request: RepositoryRequest<K>): CacheEntry<K> | undefined | Promise<CacheEntry<K> | undefined> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return undefined;
    if (this.#state !== "ready") return this.getPayloadEntry(key);
    return this.#readPayloadEntry(key);
  }

  /** The backend's {@link readPayloadEntry} of a checked key, at once or not, its failures wrapped. */
  #readPayloadEntry(key: K): CacheEntry<K> | undefined | Promise<CacheEntry<K> | undefined> {
    let found: CacheEntry<K> | undefined | Promise<CacheEntry<K> | undefined>;
    try {
      found = this.readPayloadEntry(key, this.now());
    } catch (error) {
      throw this.#wrap(error, "read from");
    }
    return found instanceof Promise
      ? found.catch((error: unknown) => {
          throw this.#wrap(error, "read from");
        })
      : found;
  }

  /**
   * The whole live entry for a request or key (payload in its stored form, status, headers, instants).
   * With `includeExpired`, an expired entry that the backend still holds is returned too (a backend
   * that drops entries when they expire returns none).
   */
  async getEntry(
    request: RepositoryRequest<K>,
    options?: { includeExpired?: boolean },
  ): Promise<CacheEntry<K> | undefined> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return undefined;
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      return await this.readEntry(key, options?.includeExpired === true ? undefined : this.now());
    } catch (error) {
      throw this.#wrap(error, "read from");
    }
  }

  /**
   * The live entries for many requests or keys in one read, aligned with the requests (`undefined`
   * for a miss). With `includeExpired`, expired entries that the backend still holds are returned
   * too, as {@link getEntry} does.
   */
  async getEntries(
    requests: Iterable<RepositoryRequest<K>>,
    options?: { includeExpired?: boolean },
  ): Promise<(CacheEntry<K> | undefined)[]> {
    const keys = Array.from(requests, (request) => this.getKeyFromRequest(request));
    const ids = keys.map((key) => (key === undefined ? undefined : keyId(key)));
    const unique = new Map<string, K>();
    for (let i = 0; i < keys.length; i++) {
      const id = ids[i];
      if (id !== undefined) unique.set(id, keys[i] as K);
    }
    if (unique.size === 0) return keys.map(() => undefined);
    if (this.#state !== "ready") await this.#ensureReady();
    let found: CacheEntry<K>[];
    try {
      found = await this.readEntries([...unique.values()], options?.includeExpired === true ? undefined : this.now());
    } catch (error) {
      throw this.#wrap(error, "read from");
    }
    // A backend may hand back the key objects it was given: those need no new id.
    const idOfKey = new Map<K, string>();
    for (const [id, key] of unique) idOfKey.set(key, id);
    const byId = new Map<string, CacheEntry<K>>();
    for (const entry of found) byId.set(idOfKey.get(entry.key) ?? keyId(entry.key), entry);
    return ids.map((id) => (id === undefined ? undefined : byId.get(id)));
  }

  /**
   * The payloads cached for many requests or keys, read in one statement or pipeline. Misses are
   * left out; the payloads found keep the order of the requests.
   */
  async getResponses(requests: Iterable<RepositoryRequest<K>>): Promise<V[]> {
    const handler = this.settings.payloadHandler;
    const entries = await this.getEntries(requests);
    if (handler.deserializeSync !== undefined) {
      const payloads: V[] = [];
      for (const entry of entries) if (entry !== undefined) payloads.push(handler.deserializeSync(entry.payload));
      return payloads;
    }
    const found: Promise<V>[] = [];
    for (const entry of entries) if (entry !== undefined) found.push(handler.deserialize(entry.payload));
    return Promise.all(found);
  }

  /** Whether a live entry exists for a request or key. */
  async contains(request: RepositoryRequest<K>): Promise<boolean> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return false;
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      return await this.hasEntry(key, this.now());
    } catch (error) {
      throw this.#wrap(error, "read from");
    }
  }

  /** How many entries the repository holds, expired ones included unless `includeExpired` is false. */
  async count(includeExpired = true): Promise<number> {
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      return await this.countEntries(includeExpired ? undefined : this.now());
    } catch (error) {
      throw this.#wrap(error, "count");
    }
  }

  /** Every live entry, with its payload in the stored form. */
  async *entries(): AsyncGenerator<CacheEntry<K>> {
    if (this.#state !== "ready") await this.#ensureReady();
    const now = this.now();
    try {
      for await (const entry of this.scanEntries(now)) if (now < entry.expiresAt) yield entry;
    } catch (error) {
      throw this.#wrap(error, "scan");
    }
  }

  /** `for await (const [key, payload] of repository)`: every live entry once, deserialized. */
  async *[Symbol.asyncIterator](): AsyncGenerator<[K, V]> {
    const handler = this.settings.payloadHandler;
    for await (const entry of this.entries()) {
      const payload = entry.payload;
      yield [
        entry.key,
        handler.deserializeSync !== undefined ? handler.deserializeSync(payload) : await handler.deserialize(payload),
      ];
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /**
   * Saves a `[key or request, payload]` pair, or a request and its response (the response body is
   * read). Resolves to false, saving nothing, when the settings leave the request uncached.
   */
  async saveResponse(input: SaveInput<K, V>): Promise<boolean> {
    const entry = await this.#toEntry(input, this.now());
    return entry !== undefined && this.#writeOne(entry);
  }

  /** Writes distinct entries in one transaction or pipeline; resolves to how many. */
  async #writeMany(byId: Map<string, CacheEntry<K>>): Promise<number> {
    if (byId.size === 0) return 0;
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      await this.writeEntries([...byId.values()]);
    } catch (error) {
      throw this.#wrap(error, "write to");
    }
    return byId.size;
  }

  async #writeOne(entry: CacheEntry<K>, visible?: () => void): Promise<true> {
    if (this.#state !== "ready") await this.#ensureReady();
    let shown = false;
    const show =
      visible === undefined
        ? undefined
        : () => {
            if (shown) return;
            shown = true;
            visible();
          };
    try {
      await this.writeEntry(entry, show);
    } catch (error) {
      throw this.#wrap(error, "write to");
    }
    show?.();
    return true;
  }

  /**
   * Saves a response whose body was read already: its status, headers and URL, and the body's bytes,
   * which the payload handler serializes as bytes (so a text handler stores them exactly, or refuses
   * them with a `PayloadHandlerError`: not UTF-8, or not JSON). Saves what `saveResponse({ request,
   * response })` would, without a second `Response` to read. Resolves to false, saving nothing, when
   * the settings leave the request uncached.
   */
  async saveResponseBytes(
    request: RepositoryRequest<K>,
    head: ResponseHead,
    body: Uint8Array,
    options?: SaveOptions,
  ): Promise<boolean> {
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return false;
    const entry = await this.#responseEntry(key, head, body, this.now());
    if (options !== undefined) {
      if (options.meta !== undefined) entry.meta = checkMeta(options.meta);
      if (options.expiresAt !== undefined) entry.expiresAt = checkInstant(options.expiresAt, "expiresAt");
      if (options.onVisible !== undefined && typeof options.onVisible !== "function") {
        throw new TypeError(`onVisible must be a function, got ${describeValue(options.onVisible)}`);
      }
    }
    return this.#writeOne(entry, options?.onVisible);
  }

  /**
   * Writes whole entries as they are given (payloads in their stored form, instants, metadata), all
   * or none, replacing those with the same keys; a key given twice keeps the last entry. Keys are
   * checked as keys given to any other call. Resolves to the number of entries written.
   *
   * @example await target.saveEntries(await Array.fromAsync(source.list()));
   */
  async saveEntries(entries: Iterable<CacheEntry<K>>): Promise<number> {
    const byId = new Map<string, CacheEntry<K>>();
    for (const entry of entries) {
      if (typeof entry !== "object" || entry === null || !Array.isArray(entry.key)) {
        throw new TypeError(`saveEntries takes cache entries with a key array, got ${describeValue(entry)}`);
      }
      const key = this.getKeyFromRequest(entry.key) as K;
      const payload = entry.payload;
      if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
        throw new TypeError(`an entry's payload must be text or bytes, got ${describeValue(payload)}`);
      }
      const headers = entry.headers == null ? undefined : headersProblem(entry.headers);
      if (headers !== undefined) throw new TypeError(`an entry's headers must be ${headers}`);
      const checked: CacheEntry<K> = {
        key,
        name: entry.name ?? null,
        cachedAt: checkInstant(entry.cachedAt, "cachedAt"),
        expiresAt: checkInstant(entry.expiresAt, "expiresAt"),
        payload,
        status: entry.status ?? null,
        headers: entry.headers ?? null,
        url: entry.url ?? null,
        meta: checkMeta(entry.meta ?? null),
      };
      const id = keyId(key);
      byId.delete(id);
      byId.set(id, checked);
    }
    return this.#writeMany(byId);
  }

  /** The entry for a response's head and body bytes; the payload handler takes the bytes exactly as they came. */
  async #responseEntry(key: K, head: ResponseHead, body: Uint8Array, now: number): Promise<CacheEntry<K>> {
    const handler = this.settings.payloadHandler;
    const payload = handler.serializeSync !== undefined ? handler.serializeSync(body) : await handler.serialize(body);
    const name = this.settings.namesPayloads ? this.#name(await this.#valueOf(payload)) : null;
    return {
      key,
      name,
      cachedAt: now,
      expiresAt: this.#expiresAt(now),
      payload,
      status: head.status,
      headers: JSON.stringify(Array.from(head.headers)),
      url: head.url,
      meta: null,
    };
  }

  /**
   * Saves many pairs or exchanges (a `Map` of key to payload works too) in one transaction or
   * pipeline: all of them or, if any fails, none. Inputs that the settings leave uncached are
   * skipped; a key given twice keeps the last payload. Resolves to the number of entries written.
   */
  async saveResponses(inputs: Iterable<SaveInput<K, V>>): Promise<number> {
    const now = this.now();
    const byId = new Map<string, CacheEntry<K>>();
    const handler = this.settings.payloadHandler;
    // Pairs need no waiting when the handler converts synchronously: no turn of the loop per entry.
    const sync =
      handler.serializeSync !== undefined && (!this.settings.namesPayloads || handler.deserializeSync !== undefined);
    for (const input of inputs) {
      const entry =
        sync && Array.isArray(input) && !(input[1] instanceof Response)
          ? this.#pairEntrySync(input, now)
          : await this.#toEntry(input, now);
      if (entry === undefined) continue;
      const id = keyId(entry.key);
      byId.delete(id);
      byId.set(id, entry);
    }
    return this.#writeMany(byId);
  }

  /** Deletes the entry for a request or key; resolves to whether there was one. */
  async deleteResponse(request: RepositoryRequest<K>): Promise<boolean> {
    return (await this.deleteResponses([request])) > 0;
  }

  /** Deletes the entries for many requests or keys, all or none; resolves to how many there were. */
  async deleteResponses(requests: Iterable<RepositoryRequest<K>>): Promise<number> {
    const unique = distinct(Array.from(requests, (request) => this.getKeyFromRequest(request)));
    if (unique.size === 0) return 0;
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      return await this.removeEntries([...unique.values()]);
    } catch (error) {
      throw this.#wrap(error, "delete from");
    }
  }

  /** Removes every entry, or only the expired ones; resolves to how many were removed. */
  async clear(expiredOnly = false): Promise<number> {
    if (this.#state !== "ready") await this.#ensureReady();
    try {
      return await this.clearEntries(expiredOnly ? this.now() : undefined);
    } catch (error) {
      throw this.#wrap(error, "clear");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Administration: whole entries, filtered listings, purges, sizes and verification

  /**
   * Counts the entries that match a filter in the backend; `null` lets the base class count them
   * while scanning. Backends with a query language override it.
   */
  protected async countMatching(_filter: ResolvedFilter): Promise<number | null> {
    return null;
  }

  /**
   * Removes at most `limit` entries that match a filter in one statement; resolves to how many, or
   * `null` to let the base class find them by scanning and remove them by key.
   */
  protected async purgeMatching(_filter: ResolvedFilter, _limit: number): Promise<number | null> {
    return null;
  }

  /** The repository's size, measured in the backend; `null` lets the base class measure it by scanning. */
  protected async measureEntries(_now: number): Promise<RepositoryStats | null> {
    return null;
  }

  /**
   * The entries that match a filter, expired ones included unless the filter says otherwise, read
   * in batches: memory stays flat however many there are.
   *
   * @example for await (const entry of repository.list({ state: "expired", limit: 20 })) console.log(entry.url);
   */
  async *list(options: ListOptions = {}): AsyncGenerator<CacheEntry<K>> {
    const filter = resolveFilter(options, this.now());
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (typeof limit !== "number" || Number.isNaN(limit) || limit < 0) {
      throw new RangeError(`limit must be a number of 0 or more, got ${describeValue(options.limit)}`);
    }
    if (limit === 0) return;
    let listed = 0;
    for await (const entry of this.#scan(filter)) {
      yield entry;
      if (++listed >= limit) return;
    }
  }

  async *#scan(filter: ResolvedFilter): AsyncGenerator<CacheEntry<K>> {
    if (this.#state !== "ready") await this.#ensureReady();
    const test = entryTest(filter);
    try {
      for await (const entry of this.scanEntries(filter.state === "live" ? filter.now : ALL_TIME)) {
        if (test(entry)) yield entry;
      }
    } catch (error) {
      throw this.#wrap(error, "scan");
    }
  }

  /** How many entries match a filter. */
  async countWhere(filter: EntryFilter = {}): Promise<number> {
    return this.#count(resolveFilter(filter, this.now()));
  }

  async #count(resolved: ResolvedFilter): Promise<number> {
    if (this.#state !== "ready") await this.#ensureReady();
    let counted: number | null;
    try {
      counted = await this.countMatching(resolved);
    } catch (error) {
      throw this.#wrap(error, "count");
    }
    if (counted !== null) return counted;
    let found = 0;
    for await (const _ of this.#scan(resolved)) found++;
    return found;
  }

  /**
   * Removes the entries that match a filter, a batch at a time (one statement per batch where the
   * backend has a query language; `state: "expired"` uses the expiry index). Resolves to how many
   * were removed; with a `signal`, it stops between two batches.
   *
   * @example await repository.purge({ state: "expired" }, { batchSize: 10_000 });
   */
  async purge(filter: EntryFilter, options: BatchOptions = {}): Promise<number> {
    const resolved = resolveFilter(filter, this.now());
    const size = batchSizeOf(options);
    const { signal, onProgress } = options;
    const total = onProgress === undefined ? undefined : await this.#count(resolved);
    if (this.#state !== "ready") await this.#ensureReady();
    let removed = 0;
    for (;;) {
      if (signal?.aborted) return removed;
      let count: number | null;
      try {
        count = await this.purgeMatching(resolved, size);
      } catch (error) {
        throw this.#wrap(error, "purge");
      }
      if (count === null) break;
      removed += count;
      onProgress?.({ done: removed, total });
      if (count < size) return removed;
    }
    // No statement for it: find the keys by scanning and remove them a batch at a time.
    let keys: K[] = [];
    const flush = async () => {
      try {
        removed += await this.removeEntries(keys);
      } catch (error) {
        throw this.#wrap(error, "purge");
      }
      keys = [];
      onProgress?.({ done: removed, total });
    };
    for await (const entry of this.#scan(resolved)) {
      if (signal?.aborted) return removed;
      keys.push(entry.key);
      if (keys.length >= size) await flush();
    }
    if (keys.length > 0 && !signal?.aborted) await flush();
    return removed;
  }

  /** The number of entries, live and expired, their payload bytes, and the oldest and newest. */
  async stats(): Promise<RepositoryStats> {
    const now = this.now();
    if (this.#state !== "ready") await this.#ensureReady();
    let measured: RepositoryStats | null;
    try {
      measured = await this.measureEntries(now);
    } catch (error) {
      throw this.#wrap(error, "measure");
    }
    if (measured !== null) return measured;
    const stats: RepositoryStats = { entries: 0, live: 0, expired: 0, payloadBytes: 0, oldest: null, newest: null };
    for await (const entry of this.#scan(resolveFilter({}, now))) {
      stats.entries++;
      if (now < entry.expiresAt) stats.live++;
      else stats.expired++;
      stats.payloadBytes +=
        typeof entry.payload === "string" ? Buffer.byteLength(entry.payload) : entry.payload.byteLength;
      if (stats.oldest === null || entry.cachedAt < stats.oldest) stats.oldest = entry.cachedAt;
      if (stats.newest === null || entry.cachedAt > stats.newest) stats.newest = entry.cachedAt;
    }
    return stats;
  }

  /**
   * Reads every entry back, expired ones included: its payload through the payload handler and its
   * headers as JSON. Lists those that fail; with `fix`, removes them.
   *
   * @example const { broken } = await repository.verify({ fix: true });
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyReport<K>> {
    const size = batchSizeOf(options);
    const { signal, onProgress } = options;
    const total = onProgress === undefined ? undefined : await this.count(true);
    const handler = this.settings.payloadHandler;
    const report: VerifyReport<K> = { checked: 0, broken: [], removed: 0, aborted: false };
    for await (const entry of this.#scan(resolveFilter({}, this.now()))) {
      if (signal?.aborted) {
        report.aborted = true;
        break;
      }
      report.checked++;
      const reason = await checkEntry(entry, handler);
      if (reason !== undefined) report.broken.push({ key: entry.key, url: entry.url, reason });
      if (report.checked % size === 0) onProgress?.({ done: report.checked, total });
    }
    onProgress?.({ done: report.checked, total });
    if (options.fix === true && report.broken.length > 0) {
      for (let start = 0; start < report.broken.length; start += size) {
        const keys = report.broken.slice(start, start + size).map((broken) => broken.key);
        try {
          report.removed += await this.removeEntries(keys);
        } catch (error) {
          throw this.#wrap(error, "delete from");
        }
      }
    }
    return report;
  }

  // ---------------------------------------------------------------------------------------------

  async #toEntry(input: SaveInput<K, V>, now: number): Promise<CacheEntry<K> | undefined> {
    const handler = this.settings.payloadHandler;
    if (Array.isArray(input)) {
      const [key, value] = this.#checkPair(input);
      if (key === undefined) return undefined;
      const payload =
        handler.serializeSync !== undefined && !(value instanceof Response)
          ? handler.serializeSync(value)
          : await handler.serialize(value);
      const name = this.settings.namesPayloads
        ? this.#name(isRaw(value) ? await this.#valueOf(payload) : (value as V))
        : null;
      return this.#pairEntry(key, name, payload, now);
    }
    if (input instanceof Response) throw bareResponse();
    if (typeof input !== "object" || input === null || !("response" in input) || !("request" in input)) {
      throw new TypeError(
        `saveResponse takes a [key or request, payload] pair or { request, response }, got ${describeValue(input)}`,
      );
    }
    const { request, response } = input;
    if (!(response instanceof Response)) {
      throw new TypeError(`exchange.response must be a fetch Response, got ${describeValue(response)}`);
    }
    const key = this.getKeyFromRequest(request);
    if (key === undefined) return undefined;
    const url = response.url || (request instanceof Request ? request.url : String(request.url));
    let body: Uint8Array;
    try {
      body = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw new PayloadHandlerError(`could not read the response body: ${String(cause)}`, { cause });
    }
    return this.#responseEntry(key, { status: response.status, headers: response.headers, url }, body, now);
  }

  /** `#toEntry` for a pair, when the payload handler converts synchronously. */
  #pairEntrySync(input: SaveInput<K, V>, now: number): CacheEntry<K> | undefined {
    const [key, value] = this.#checkPair(input as readonly unknown[]);
    if (key === undefined) return undefined;
    const handler = this.settings.payloadHandler;
    const payload = (handler.serializeSync as (payload: unknown) => StoredPayload)(value);
    const name = this.settings.namesPayloads
      ? this.#name(isRaw(value) ? (handler.deserializeSync as (payload: StoredPayload) => V)(payload) : (value as V))
      : null;
    return this.#pairEntry(key, name, payload, now);
  }

  #checkPair(input: readonly unknown[]): [K | undefined, V | StoredPayload] {
    if (input.length !== 2) {
      throw new TypeError(`a saved pair is [key or request, payload], got an array of ${input.length}`);
    }
    const [target, value] = input as readonly [RepositoryRequest<K>, V | StoredPayload];
    return [this.getKeyFromRequest(target), value];
  }

  #pairEntry(key: K, name: string | null, payload: StoredPayload, now: number): CacheEntry<K> {
    const expiresAt = this.#expiresAt(now);
    return { key, name, cachedAt: now, expiresAt, payload, status: null, headers: null, url: null, meta: null };
  }

  /** The value of a stored payload, for naming it. */
  #valueOf(payload: StoredPayload): V | Promise<V> {
    const handler = this.settings.payloadHandler;
    return handler.deserializeSync !== undefined ? handler.deserializeSync(payload) : handler.deserialize(payload);
  }

  #name(payload: V): string | null {
    const name = this.settings.getName(payload);
    if (name === null || name === undefined) return null;
    if (typeof name !== "string") {
      throw new TypeError(
        `settings "${this.name}".getName must return a string or nothing, got ${describeValue(name)}`,
      );
    }
    return name;
  }

  async #ensureReady(): Promise<void> {
    switch (this.#state) {
      case "ready":
        return;
      case "creating":
        await this.#creating;
        return;
      case "new":
        throw new CacheError(
          `repository "${this.name}" has not been created in the ${this.backend} backend: ` +
            "call cache.connect() or repository.create() first",
        );
      case "closed":
        throw new CacheError(`repository "${this.name}" is closed`);
      default: {
        const never: never = this.#state;
        throw new Error(`unknown state ${String(never)}`);
      }
    }
  }

  #wrap(error: unknown, action: string): Error {
    if (error instanceof CacheTimeoutError) {
      // Still a timeout, so that a caller can tell a hung backend apart; the message names the repository.
      return new CacheTimeoutError(
        `could not ${action} repository "${this.name}" (${this.backend}): ${error.message}`,
        {
          cause: error,
          timeout: error.timeout,
        },
      );
    }
    if (error instanceof RequestfulError || error instanceof TypeError || error instanceof RangeError) {
      return error;
    }
    const message = error instanceof Error ? error.message : String(error);
    return new CacheError(`could not ${action} repository "${this.name}" (${this.backend}): ${message}`, {
      cause: error,
    });
  }
}

function checkPolicy(policy: unknown): CachePolicy {
  if (policy !== "http" && policy !== "expire") {
    throw new TypeError(`policy must be "http" or "expire", got ${describeValue(policy)}`);
  }
  return policy;
}

function checkStatuses(statuses: unknown): ReadonlySet<number> {
  if (!Array.isArray(statuses)) {
    throw new TypeError(`statuses must be an array of HTTP statuses, got ${describeValue(statuses)}`);
  }
  for (const status of statuses) {
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`statuses must hold final HTTP statuses (200–599), got ${describeValue(status)}`);
    }
  }
  return new Set(statuses as number[]);
}

function checkMeta(meta: unknown): string | null {
  if (meta !== null && typeof meta !== "string") {
    throw new TypeError(`meta must be JSON text or null, got ${describeValue(meta)}`);
  }
  return meta;
}

function checkInstant(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be an instant in epoch milliseconds, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite instant in epoch milliseconds, got ${describeValue(value)}`);
  }
  return value;
}

function isRaw(value: unknown): value is StoredPayload | ArrayBuffer {
  return typeof value === "string" || value instanceof Uint8Array || value instanceof ArrayBuffer;
}

/** The error for a `Response` given to save without its request. */
export function bareResponse(): TypeError {
  return new TypeError(
    "saveResponse needs the request as well as the response: pass { request, response } " +
      "(a Response alone does not say which method fetched it)",
  );
}

/**
 * Text with a lone UTF-16 surrogate has no UTF-8 form: SQLite, PostgreSQL and Redis would store it
 * as U+FFFD, so two such keys would share an entry.
 */
/** `String.prototype.isWellFormed` (ES2024; V8 has it since Node 20). */
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

function hasLoneSurrogate(text: string): boolean {
  return isWellFormed === undefined ? /\p{Cs}/u.test(text) : !isWellFormed.call(text);
}

function loneSurrogate(what: string, text: string): CacheError {
  return new CacheError(
    `${what} holds a lone UTF-16 surrogate, which no backend can store apart from other text: ${JSON.stringify(text)}`,
  );
}

function checkPart(part: unknown, repository: string, index: number): KeyPart {
  if (typeof part === "string") {
    if (hasLoneSurrogate(part)) throw loneSurrogate(`key part ${index} of repository "${repository}"`, part);
    return part;
  }
  if (typeof part === "number" && Number.isFinite(part)) return part;
  throw new CacheError(
    `key part ${index} of repository "${repository}" must be a string or a finite number, got ${describeValue(part)}`,
  );
}

function distinct<K extends Key>(keys: readonly (K | undefined)[]): Map<string, K> {
  const unique = new Map<string, K>();
  for (const key of keys) if (key !== undefined) unique.set(keyId(key), key);
  return unique;
}

function validateFields(settings: ResponseRepositorySettings<unknown>): void {
  const fields: unknown = settings.fields;
  if (!Array.isArray(fields)) {
    throw new CacheError(`settings "${settings.name}".fields must be an array of names, got ${describeValue(fields)}`);
  }
  if (settings.name.includes("\0")) {
    throw new CacheError(`a repository name cannot hold the NUL character, got ${JSON.stringify(settings.name)}`);
  }
  if (hasLoneSurrogate(settings.name)) throw loneSurrogate("a repository name", settings.name);
  const seen = new Set<string>();
  for (const field of fields) {
    if (typeof field !== "string" || field.length === 0 || field.includes("\0")) {
      throw new CacheError(
        `settings "${settings.name}" has a field that is not a non-empty string without NUL: ${describeValue(field)}`,
      );
    }
    if (hasLoneSurrogate(field)) throw loneSurrogate(`a field of settings "${settings.name}"`, field);
    const folded = field.toLowerCase();
    if (SYSTEM_COLUMNS.has(folded)) {
      throw new CacheError(
        `settings "${settings.name}" cannot use the field name "${field}": ` +
          `${[...SYSTEM_COLUMNS].join(", ")} (in any case) are kept by SQLite or PostgreSQL for themselves`,
      );
    }
    if (RESERVED_FIELDS.has(folded)) {
      throw new CacheError(
        `settings "${settings.name}" cannot use the field name "${field}": ` +
          `${[...RESERVED_FIELDS].join(", ")} are kept for the entry itself`,
      );
    }
    if (seen.has(folded)) {
      throw new CacheError(`settings "${settings.name}" names the field "${field}" twice (names ignore case)`);
    }
    seen.add(folded);
  }
}

/** What is wrong with a stored entry, or `undefined` when it reads back. */
async function checkEntry(entry: CacheEntry, handler: PayloadHandler<unknown>): Promise<string | undefined> {
  try {
    if (handler.deserializeSync !== undefined) handler.deserializeSync(entry.payload);
    else await handler.deserialize(entry.payload);
  } catch (error) {
    return `payload: ${error instanceof Error ? error.message : String(error)}`;
  }
  const problem = entry.headers === null ? undefined : headersProblem(entry.headers);
  return problem === undefined ? undefined : `headers: not ${problem}`;
}

/** What is wrong with stored headers, or `undefined` when they are JSON text of `[name, value]` pairs. */
function headersProblem(text: unknown): string | undefined {
  let headers: unknown;
  try {
    headers = typeof text === "string" ? JSON.parse(text) : undefined;
  } catch {
    // described below
  }
  const pairs =
    Array.isArray(headers) &&
    headers.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === "string"));
  return pairs ? undefined : `JSON text of [name, value] pairs, got ${describeValue(text)}`;
}
