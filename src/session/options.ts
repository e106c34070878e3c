import { ResponseCache } from "../cache/cache.js";
import { describeValue } from "../describe.js";
import type { CacheErrorContext, SessionEvent } from "./events.js";
import type { FetchCacheMode } from "./policy.js";

/** `RequestInit` with fetch's `cache` member, which Node's type definitions leave out. */
export interface CachedRequestInit extends RequestInit {
  /**
   * How this request uses the cache, as in the Fetch standard: `default`, `no-store`, `reload`,
   * `no-cache` (a stored response is validated with the origin before it is used), `force-cache`
   * or `only-if-cached`.
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
   * Whether the session is a shared cache (a proxy or gateway answering many users) rather than a
   * private one (one user's client). A shared cache follows the stricter rules of RFC 9111 for
   * repositories in the `"http"` policy: `s-maxage` and `proxy-revalidate` apply, and `private`
   * responses and responses to requests with `Authorization` (unless the response allows it) are
   * not stored.
   * @default false
   * @example { shared: true }
   */
  shared?: boolean;
  /**
   * How long, in milliseconds past its freshness, a stored response may answer when the origin
   * cannot (a network error or a 5xx), for responses that do not say so themselves with
   * `stale-if-error` (RFC 5861). Never for a response that says `must-revalidate` or `no-cache`
   * in the `"http"` policy.
   * @default 0 (only the response's own stale-if-error)
   * @example { staleIfError: 24 * 3_600_000 }
   */
  staleIfError?: number;
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
}

/** The options, checked and with their defaults. */
export interface ResolvedOptions {
  readonly cache: ResponseCache;
  readonly fetch: FetchFunction | undefined;
  readonly persist: boolean;
  readonly strict: boolean;
  readonly maxEntrySize: number;
  readonly cacheCredentialed: boolean;
  readonly shared: boolean;
  readonly staleIfError: number;
  readonly onError: ((error: unknown, context: CacheErrorContext) => void) | undefined;
  readonly onEvent: ((event: SessionEvent) => void) | undefined;
  /** The logger given, `null` for none, or `undefined` for the default (once per kind). */
  readonly logger: SessionLogger | null | undefined;
}

const KNOWN = new Set([
  "cache",
  "fetch",
  "persist",
  "strict",
  "maxEntrySize",
  "cacheCredentialed",
  "shared",
  "staleIfError",
  "onError",
  "onEvent",
  "logger",
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
  const { cacheCredentialed = false, shared = false, staleIfError = 0, onError, onEvent, logger } = options;
  if (!(cache instanceof ResponseCache)) {
    throw new TypeError(`cache must be a ResponseCache (MemoryCache, SQLiteCache, ...), got ${describeValue(cache)}`);
  }
  checkFunction("fetch", fetch);
  checkBoolean("persist", persist);
  checkBoolean("strict", strict);
  checkBoolean("cacheCredentialed", cacheCredentialed);
  checkBoolean("shared", shared);
  if (typeof staleIfError !== "number" || !(staleIfError >= 0) || Number.isNaN(staleIfError)) {
    throw new RangeError(
      `staleIfError must be a number of milliseconds, 0 or more, got ${describeValue(staleIfError)}`,
    );
  }
  if (typeof maxEntrySize !== "number" || !Number.isSafeInteger(maxEntrySize) || maxEntrySize < 0) {
    throw new RangeError(`maxEntrySize must be a whole number of bytes, 0 or more, got ${describeValue(maxEntrySize)}`);
  }
  checkFunction("onError", onError);
  checkFunction("onEvent", onEvent);
  if (logger !== undefined && logger !== null && typeof (logger as Partial<SessionLogger>).warn !== "function") {
    throw new TypeError(`logger must have a warn(message, error) method, or be null, got ${describeValue(logger)}`);
  }
  return {
    cache,
    fetch,
    persist,
    strict,
    maxEntrySize,
    cacheCredentialed,
    shared,
    staleIfError,
    onError,
    onEvent,
    logger,
  };
}

function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw new TypeError(`${name} must be true or false, got ${describeValue(value)}`);
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${name} must be a function, got ${describeValue(value)}`);
  }
}
