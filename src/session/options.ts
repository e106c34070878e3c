import { ResponseCache } from "../cache/cache.js";
import { DEFAULT_FILL_LEASE } from "../cache/single-flight.js";
import { describeValue } from "../describe.js";
import type { CacheErrorContext, SessionEvent } from "./events.js";
import type { FetchCacheMode } from "./policy.js";

/** `RequestInit` with fetch's `cache` member, which Node's type definitions leave out. */
export interface CachedRequestInit extends RequestInit {
  /**
   * How this request uses the cache, as in the Fetch standard: `default`, `no-store`, `reload`,
   * `no-cache` (as `reload`), `force-cache` or `only-if-cached`.
   * @default "default"
   * @example await session.fetch(url, { cache: "reload" })
   */
  cache?: FetchCacheMode;
}

/** A function with the signature of global `fetch`. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Where a session writes its warnings. */
export interface SessionLogger {
  warn(message: string, error?: unknown): void;
}

/** The default largest body that a session stores: 5 MiB. */
export const DEFAULT_MAX_ENTRY_SIZE = 5 * 1024 * 1024;

/** Options of a {@link CachedSession}. */
export interface CachedSessionOptions {
  /**
   * The cache that holds the responses. Its `repositoryGetter` routes each request to a repository;
   * a request with no repository, or that the repository's settings give no key, is not cached. The
   * session connects the cache on first use if it is not connected, and closes it on `close()`.
   * @example { cache: await new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) }).connect() }
   */
  cache: ResponseCache;
  /**
   * The fetch that reaches the network.
   * @default globalThis.fetch (looked up on each request)
   * @example { fetch: (input, init) => fetch(input, { ...init, dispatcher: proxyAgent }) }
   */
  fetch?: FetchFunction;
  /**
   * Whether network responses are stored. With `false` the session only reads what is already cached.
   * @default true
   * @example { persist: false }
   */
  persist?: boolean;
  /**
   * Whether a cache error rejects the request instead of failing open (going to the network). A
   * payload that the payload handler refuses is reported but never rejects: the response is fine.
   * @default false
   * @example { strict: true }
   */
  strict?: boolean;
  /**
   * The largest body, in bytes, that is stored. A response that declares a larger `Content-Length`
   * is passed through unread; one whose body grows past it while being read is passed through whole,
   * and not stored. No more than this is ever held in memory for storing.
   * @default 5_242_880 (5 MiB)
   * @example { maxEntrySize: 512 * 1024 }
   */
  maxEntrySize?: number;
  /**
   * Whether requests that carry an `Authorization` or `Cookie` header read and write the cache. Off,
   * they go straight to the network, so that one user's response is never served to another. Turn
   * it on when your settings' keys tell users apart, or when one set of credentials is used throughout.
   * @default false
   * @example { cacheCredentialed: true }
   */
  cacheCredentialed?: boolean;
  /**
   * Called with every cache error, whether the request then fails open or (in a strict session) throws.
   * @default undefined
   * @example { onError: (error, { kind, url }) => metrics.increment(`cache.error.${kind}`) }
   */
  onError?: (error: unknown, context: CacheErrorContext) => void;
  /**
   * Called with every outcome (`hit`, `miss`, `coalesced`, `bypass`) and with every `store`,
   * `not-stored` and `error`, to feed your own metrics.
   * @default undefined
   * @example { onEvent: (event) => metrics.increment(`cache.${event.type}`) }
   */
  onEvent?: (event: SessionEvent) => void;
  /**
   * Where cache errors are logged, or `null` for nowhere. The default logs each kind of error
   * (`read`, `write`, ...) once per session with `console.warn`; a logger you give gets every error.
   * @default a console.warn once per kind of error
   * @example { logger: { warn: (message, error) => log.warn({ err: error }, message) } }
   */
  logger?: SessionLogger | null;
  /**
   * Who shares one network request per missed key. `"process"`: identical requests in flight in
   * this session. `"store"`: also every process that shares the cache's store (SQLite file, Redis,
   * PostgreSQL) — one fetches and stores while the others wait for its entry, for at most
   * `singleFlightLease`. A memory cache has one process, so both are the same there.
   * @default "process"
   * @example { singleFlight: "store" }
   */
  singleFlight?: "process" | "store";
  /**
   * With `singleFlight: "store"`, how long one process may fetch a key while the others wait, in
   * milliseconds; past it (a process that died, or a slow origin) the others fetch for themselves.
   * @default 10_000
   * @example { singleFlightLease: 30_000 }
   */
  singleFlightLease?: number;
}

/** The options, checked and with their defaults. */
export interface ResolvedOptions {
  readonly cache: ResponseCache;
  readonly fetch: FetchFunction | undefined;
  readonly persist: boolean;
  readonly strict: boolean;
  readonly maxEntrySize: number;
  readonly cacheCredentialed: boolean;
  readonly onError: ((error: unknown, context: CacheErrorContext) => void) | undefined;
  readonly onEvent: ((event: SessionEvent) => void) | undefined;
  /** The logger given, `null` for none, or `undefined` for the default (once per kind). */
  readonly logger: SessionLogger | null | undefined;
  readonly singleFlight: "process" | "store";
  readonly singleFlightLease: number;
}

const KNOWN = new Set([
  "cache",
  "fetch",
  "persist",
  "strict",
  "maxEntrySize",
  "cacheCredentialed",
  "onError",
  "onEvent",
  "logger",
  "singleFlight",
  "singleFlightLease",
]);

/** Checks the options, throwing a `TypeError` or `RangeError` that names the option. */
export function resolveOptions(options: CachedSessionOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`CachedSession takes an options object with a cache, got ${describeValue(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name))
      throw new TypeError(`CachedSession has no option "${name}"; expected ${[...KNOWN].join(", ")}`);
  }
  const { cache, fetch, persist = true, strict = false, maxEntrySize = DEFAULT_MAX_ENTRY_SIZE } = options;
  const { cacheCredentialed = false, onError, onEvent, logger } = options;
  if (!(cache instanceof ResponseCache)) {
    throw new TypeError(`cache must be a ResponseCache (MemoryCache, SQLiteCache, ...), got ${describeValue(cache)}`);
  }
  checkFunction("fetch", fetch);
  checkBoolean("persist", persist);
  checkBoolean("strict", strict);
  checkBoolean("cacheCredentialed", cacheCredentialed);
  if (typeof maxEntrySize !== "number" || !Number.isSafeInteger(maxEntrySize) || maxEntrySize < 0) {
    throw new RangeError(`maxEntrySize must be a whole number of bytes, 0 or more, got ${describeValue(maxEntrySize)}`);
  }
  checkFunction("onError", onError);
  checkFunction("onEvent", onEvent);
  if (logger !== undefined && logger !== null && typeof (logger as Partial<SessionLogger>).warn !== "function") {
    throw new TypeError(`logger must have a warn(message, error) method, or be null, got ${describeValue(logger)}`);
  }
  const { singleFlight, singleFlightLease } = resolveSingleFlight(options);
  return {
    ...{ cache, fetch, persist, strict, maxEntrySize, cacheCredentialed, onError, onEvent, logger },
    ...{ singleFlight, singleFlightLease },
  };
}

function resolveSingleFlight(
  options: CachedSessionOptions,
): Pick<ResolvedOptions, "singleFlight" | "singleFlightLease"> {
  const { singleFlight = "process", singleFlightLease = DEFAULT_FILL_LEASE } = options;
  if (singleFlight !== "process" && singleFlight !== "store") {
    throw new TypeError(`singleFlight must be "process" or "store", got ${describeValue(singleFlight)}`);
  }
  if (!Number.isSafeInteger(singleFlightLease) || singleFlightLease < 1) {
    throw new RangeError(
      `singleFlightLease must be a whole number of milliseconds, 1 or more, got ${describeValue(singleFlightLease)}`,
    );
  }
  return { singleFlight, singleFlightLease };
}

function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw new TypeError(`${name} must be true or false, got ${describeValue(value)}`);
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${name} must be a function, got ${describeValue(value)}`);
  }
}
