import { describeValue } from "../../../describe.js";
import { addExpire, validateExpire } from "../../../duration.js";
import { CacheError } from "../../../errors.js";
import { BOUNDS_OPTIONS, type Bounds, type BoundsOptions, resolveBounds, type StoreUsage } from "../../bounds.js";
import { CACHE_OPTIONS, type CacheOptions, checkOptionNames, ResponseCache, type StoreSize } from "../../cache.js";
import type { RepositoryRecord } from "../../records.js";
import type { RepositoryOptions } from "../../repository.js";
import type { ResponseRepositorySettings } from "../../settings.js";
import type { StoreLocks } from "../../single-flight.js";
import * as admin from "./admin.js";
import type { RedisClientOptions as RedisOptions } from "./client.js";
import { type RedisClient, RedisLink, withDeadline } from "./connection.js";
import { loadDriver } from "./driver.js";
import { checkPrefix, DEFAULT_PREFIX, LAYOUT_VERSION } from "./keys.js";
import { RedisLocks } from "./lock.js";
import { RedisRepository } from "./repository.js";

/** The deadline of one round trip to Redis, in milliseconds, unless told otherwise. */
export const DEFAULT_REDIS_TIMEOUT = 1_000;
/** How long Redis keeps an entry after it expires, in milliseconds, unless told otherwise: one day. */
export const DEFAULT_KEEP_EXPIRED = 86_400_000;
/** The server that a Redis cache connects to when given neither a URL nor a client. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** The longest delay that a timer takes. */
const MAX_TIMER = 2 ** 31 - 1;
/** The longest pause between two attempts to reconnect, in milliseconds. */
const MAX_RECONNECT_DELAY = 1_000;

const OPTIONS = [
  ...CACHE_OPTIONS,
  ...BOUNDS_OPTIONS,
  "url",
  "client",
  "prefix",
  "timeout",
  "keepExpired",
  "redisOptions",
  "onError",
];

/** Options of a Redis cache. */
export interface RedisCacheOptions extends CacheOptions, BoundsOptions {
  /**
   * The server: a `redis://` or `rediss://` (TLS) URL, with user, password and database number
   * where needed. Not with `client`.
   * @default "redis://127.0.0.1:6379"
   * @example "redis://:secret@cache.internal:6379/2"
   */
  url?: string | URL;
  /**
   * An ioredis client (`Redis` or `Cluster`) that you already have, instead of a URL. The cache uses
   * it and leaves it open when the cache closes. Its own settings govern reconnection; every call is
   * still bounded by `timeout`.
   * @default undefined (the cache makes a client from `url`)
   * @example new RedisCache({ client: new Redis(process.env.REDIS_URL) })
   */
  client?: RedisClient;
  /**
   * The start of every key the cache writes. Caches with the same prefix on one server share their
   * repositories; any text without `{` or `}`.
   * @default "requestful"
   * @example "myapp:http-cache"
   */
  prefix?: string;
  /**
   * The deadline of every round trip to the server, in milliseconds: a call on a server that is
   * down, or that never answers, fails with a `CacheError` within it. It also bounds connecting.
   * @default 1_000
   * @example 250
   */
  timeout?: number;
  /**
   * How long Redis keeps an entry after it expires, in milliseconds, so that `count(true)` and
   * `clear(true)` still see it; then Redis deletes it by itself. `0` lets Redis delete entries as
   * soon as their lifetime has passed. Without it, a `retention` sets it.
   * @default 86_400_000 (one day)
   * @example 3_600_000
   */
  keepExpired?: number;
  /**
   * More ioredis options for the client that the cache makes from `url` (TLS, user names, a
   * connection name...). Options given here win over those the cache derives from `timeout`.
   * @default {}
   * @example { connectionName: "api-cache", tls: { rejectUnauthorized: true } }
   */
  redisOptions?: RedisOptions;
  /**
   * Called with every error the client reports (a lost connection, a failed reconnection). The
   * cache keeps working and reconnects in the background; without it, those errors are kept for
   * messages only.
   * @default undefined (errors are kept for messages only)
   * @example (error) => logger.warn({ err: error }, "Redis cache")
   */
  onError?: (error: Error) => void;
}

/**
 * A cache in Redis, shared by every process and machine that uses the same server and prefix. Each
 * repository is a set of keys under `PREFIX:v1:{NAME}:`, hashing to one cluster slot.
 *
 * The ioredis package (an optional peer dependency) is loaded when the cache connects.
 *
 * @example
 * await using cache = RedisCache.connect("redis://127.0.0.1:6379", { prefix: "myapp" });
 * cache.createRepository(trackSettings);
 * await cache.connect();
 *
 * @example
 * // A client you already have; close() leaves it open.
 * const cache = new RedisCache({ client: new Redis.Cluster(nodes), prefix: "myapp" });
 */
export class RedisCache extends ResponseCache<RedisRepository> {
  readonly type = "redis";
  /** The start of every key the cache writes. */
  readonly prefix: string;
  /** The deadline of every round trip to the server, in milliseconds. */
  readonly timeout: number;
  /** How long Redis keeps an entry after it expires, in milliseconds. */
  readonly keepExpired: number;
  readonly #url: string | undefined;
  readonly #userClient: RedisClient | undefined;
  readonly #redisOptions: RedisOptions;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #link: RedisLink;
  readonly #bounds: Bounds;
  #locks: RedisLocks | undefined;
  #client: RedisClient | undefined;
  readonly #listener = (error: Error) => {
    this.#link.noteError(error);
    try {
      this.#onError?.(error);
    } catch {
      // A failing error hook must not turn a reported error into a crash.
    }
  };

  constructor(options: RedisCacheOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`RedisCache options must be an object, got ${describeValue(options)}`);
    }
    checkOptionNames(options, OPTIONS, "RedisCache");
    const { url, client } = options;
    if (url !== undefined && client !== undefined) {
      throw new TypeError("RedisCache takes a url or a client, not both");
    }
    if (client !== undefined && !isClient(client)) {
      throw new TypeError(`client must be an ioredis Redis or Cluster client, got ${describeValue(client)}`);
    }
    const location = client === undefined ? parseUrl(url ?? DEFAULT_REDIS_URL) : undefined;
    const label = location === undefined ? "the given client" : redact(location);
    super({ name: label, ...options });
    this.#url = location;
    this.#userClient = client;
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.timeout = checkMilliseconds("timeout", options.timeout ?? DEFAULT_REDIS_TIMEOUT, 1, MAX_TIMER);
    this.#bounds = resolveBounds(options);
    const retention =
      options.retention === undefined || options.retention === null
        ? undefined
        : addExpire(0, validateExpire(options.retention, "retention"));
    this.keepExpired = checkMilliseconds(
      "keepExpired",
      options.keepExpired ?? retention ?? DEFAULT_KEEP_EXPIRED,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    if (
      options.redisOptions !== undefined &&
      (typeof options.redisOptions !== "object" || options.redisOptions === null)
    ) {
      throw new TypeError(
        `redisOptions must be an object of ioredis options, got ${describeValue(options.redisOptions)}`,
      );
    }
    this.#redisOptions = options.redisOptions ?? {};
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`onError must be a function, got ${describeValue(options.onError)}`);
    }
    this.#onError = options.onError;
    this.#link = new RedisLink(this.timeout, label);
  }

  /**
   * A cache for a `redis://` or `rediss://` URL, not connected yet: add repositories, then call
   * `connect()`.
   *
   * @example const cache = RedisCache.connect("redis://localhost:6379/0", { prefix: "myapp" });
   */
  static connect(url: string | URL, options: Omit<RedisCacheOptions, "url" | "client"> = {}): RedisCache {
    if ((options as RedisCacheOptions).client !== undefined) {
      throw new TypeError("RedisCache.connect takes a URL; give a client with new RedisCache({ client })");
    }
    return new RedisCache({ ...options, url });
  }

  /** The ioredis client, while the cache is connected. */
  get client(): RedisClient {
    return this.#link.client;
  }

  /**
   * How many entries and bytes the repositories hold, as counted against `maxEntries` and
   * `maxBytes` (each repository has its own bounds in Redis): entries that Redis dropped by itself
   * are taken out of the books first.
   */
  async usage(): Promise<StoreUsage> {
    const total = { entries: 0, bytes: 0 };
    for (const repository of this.values()) {
      const usage = await repository.limits?.usage();
      total.entries += usage?.entries ?? (await repository.count());
      total.bytes += usage?.bytes ?? 0;
    }
    return total;
  }

  protected newRepository<V>(settings: ResponseRepositorySettings<V>, options: RepositoryOptions): RedisRepository {
    const place = { prefix: this.prefix, keepExpired: this.keepExpired, bounds: this.#bounds };
    return new RedisRepository(this.#link, place, settings, options) as RedisRepository;
  }

  protected override saveRecord(record: RepositoryRecord): Promise<void> {
    return admin.saveRecord(this.#link, this.prefix, record);
  }

  protected override loadRecords(): Promise<RepositoryRecord[]> {
    return admin.loadRecords(this.#link, this.prefix);
  }

  protected override measureStore(): Promise<StoreSize> {
    return admin.measureStore(this.#link);
  }

  protected override checkStore(): Promise<string[]> {
    return admin.checkStore(this.#link, this.values());
  }

  protected override compactStore(): Promise<void> {
    return admin.compactStore(this.values());
  }

  protected async openConnection(): Promise<void> {
    const client = this.#userClient ?? (await this.#makeClient());
    this.#client = client;
    let failure: Error | undefined;
    const noteFailure = (error: Error) => {
      failure ??= error;
    };
    client.on("error", this.#listener);
    client.on("error", noteFailure);
    try {
      await withDeadline(ready(client), this.timeout, () => new Error(`no answer within ${this.timeout} ms`));
    } catch (cause) {
      // "Connection is closed" says less than the socket error that closed it.
      const reason = failure ?? (cause instanceof Error ? cause : new Error(String(cause)));
      throw new CacheError(`could not connect to Redis at ${this.#link.label}: ${reason.message}`, { cause: reason });
    } finally {
      client.off("error", noteFailure);
    }
    this.#link.attach(client);
  }

  protected override keepMetadata(name: string, value: string): Promise<string> {
    const key = `${this.prefix}:v${LAYOUT_VERSION}:meta`;
    return this.#link.run(async (client) => {
      await client.hsetnx(key, name, value);
      return String(await client.hget(key, name));
    });
  }

  protected override storeLocks(): StoreLocks | undefined {
    this.#locks ??= new RedisLocks(this.#link, this.prefix);
    return this.#locks;
  }

  protected async closeConnection(): Promise<void> {
    await this.#locks?.close();
    this.#locks = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#link.detach();
    if (client === undefined) return;
    if (client === this.#userClient) {
      client.off("error", this.#listener);
      return;
    }
    if (client.status === "ready") {
      // A polite QUIT: the server answers the calls already sent, then the connection ends.
      const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
      try {
        await withDeadline(client.quit(), this.timeout, () => new Error("no answer to QUIT"));
        await withDeadline(ended, this.timeout, () => new Error("the connection did not end"));
      } catch {
        // The connection is dropped below either way.
      }
    }
    // Drops the connection, and stops reconnecting if the client was trying to. A connection that
    // QUIT ended is left alone: disconnecting it again would start a reconnection timer that keeps
    // the process alive.
    if (client.status !== "end") client.disconnect();
  }

  async #makeClient(): Promise<RedisClient> {
    const { Redis } = await loadDriver();
    return new Redis(this.#url as string, {
      connectTimeout: this.timeout,
      commandTimeout: this.timeout,
      // A connection that sends nothing while replies are due is dropped, and opened again.
      socketTimeout: Math.max(5 * this.timeout, 5_000),
      // Calls fail at once while the connection is down, instead of waiting in a queue...
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // ...and the client keeps reconnecting in the background, so that caching resumes by itself.
      retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY),
      ...this.#redisOptions,
      lazyConnect: true,
    });
  }
}

/** Resolves when the client is ready, connecting it first if it has not started. */
function ready(client: RedisClient): Promise<void> {
  switch (client.status) {
    case "ready":
      return Promise.resolve();
    case "wait":
      return client.connect();
    case "end":
    case "close":
      return Promise.reject(new Error(`the client is ${client.status}`));
    default:
      return new Promise<void>((resolve, reject) => {
        const onReady = () => {
          client.off("end", onEnd);
          resolve();
        };
        const onEnd = () => {
          client.off("ready", onReady);
          reject(new Error("the client closed"));
        };
        client.once("ready", onReady);
        client.once("end", onEnd);
      });
  }
}

function isClient(value: unknown): value is RedisClient {
  const candidate = value as Partial<Record<string, unknown>> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.status === "string" &&
    typeof candidate.getBuffer === "function" &&
    typeof candidate.on === "function"
  );
}

function parseUrl(url: unknown): string {
  const text = url instanceof URL ? url.href : url;
  if (typeof text !== "string") throw new TypeError(`url must be a string or a URL, got ${describeValue(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch (cause) {
    throw new TypeError(`url must be a redis:// or rediss:// URL, got ${JSON.stringify(text)}`, { cause });
  }
  if ((parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.host === "") {
    throw new TypeError(
      `url must be redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or rediss://…, got ${JSON.stringify(redact(text))}`,
    );
  }
  return text;
}

/** The URL without its password, for messages and the cache's name. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "redis";
  }
}

function checkMilliseconds(option: string, value: unknown, minimum: number, maximum: number): number {
  if (typeof value !== "number") {
    throw new TypeError(`${option} must be a number of milliseconds, got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new RangeError(
      `${option} must be a whole number of milliseconds from ${minimum} to ${maximum}, got ${value}`,
    );
  }
  return value;
}
