import { ResponseCache } from "../cache/cache.js";
import { DEFAULT_METHODS } from "../cache/settings.js";
import { DEFAULT_FILL_LEASE } from "../cache/single-flight.js";
import type { CredentialNames } from "../credentials.js";
import { describeValue } from "../describe.js";
import { type BreakerOptions, checkBreaker } from "./breaker.js";
import type { CacheErrorContext, SessionEvent } from "./events.js";
import type { FetchCacheMode } from "./policy.js";
import { checkUrlExpire, type UrlExpire, UrlRules } from "./url-rules.js";

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
  /**
   * How long this request's response stays fresh, overriding the session's `expireByUrl` and the
   * origin's headers: a duration, `"never"`, or `false` to leave this request uncached.
   * @default undefined (the URL rules, then the repository's policy, decide)
   * @example await session.fetch(url, { expire: { minutes: 5 } })
   */
  expire?: UrlExpire;
}

/**
 * How a session treats requests that carry credentials (an `Authorization`, `Cookie` or API-key
 * header, or an API key in the query; see `credentialNames`):
 * - `"partition"`: cached apart for each set of credentials. The default repository keys them by a
 *   keyed digest of the credentials; a repository of your own must key them apart itself, or declare
 *   its responses `public` in its settings, else they are not cached.
 * - `"bypass"`: never cached, never answered from the cache.
 * - `"share"`: cached as if they carried none, whatever the credentials — for a program that uses one
 *   set of credentials throughout, or APIs whose responses are the same for every caller.
 */
export type CredentialsMode = "partition" | "bypass" | "share";

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
   * The cache that holds the responses: a {@link ResponseCache}, or where to open one — a path (an
   * SQLite file), `memory:`, `sqlite:`/`file:` URLs, `redis://` or `postgres://`. The cache's
   * `repositoryGetter` routes each request to a repository of yours; a request that none claims goes
   * to the default HTTP repository (see `fallback`). The session connects the cache on first use and
   * closes it on `close()`.
   * @default the REQUESTFUL_CACHE environment variable, else the SQLite file .cache/requestful.sqlite
   * @example { cache: "memory:" }
   * @example { cache: await new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) }).connect() }
   */
  cache?: ResponseCache | string | URL;
  /**
   * Whether requests that no repository of yours claims are cached in the default HTTP repository
   * (named "http"), keyed by method and normalised URL, under the HTTP caching rules.
   * @default true
   * @example { fallback: false } // only your repositories cache
   */
  fallback?: boolean;
  /**
   * Request headers whose values the default HTTP repository keys apart, beside the method and URL.
   * @default []
   * @example { matchHeaders: ["Accept-Language"] }
   */
  matchHeaders?: readonly string[];
  /**
   * The methods that the default HTTP repository caches. A method other than GET and HEAD is keyed
   * by a digest of its body too (search or GraphQL APIs that take their query in a POST body).
   * @default ["GET", "HEAD"]
   * @example { methods: ["GET", "HEAD", "POST"] }
   */
  methods?: readonly string[];
  /**
   * URL patterns (`HOST/PATH` globs: `*` within a label or segment, `**` across segments) mapped to
   * how long their responses stay fresh, `"never"`, or `false` (not cached). The most specific
   * pattern wins (the most literal characters; then the first given). A request's own `expire`
   * overrides them.
   * @default {}
   * @example { expireByUrl: { "api.example.com/v1/tracks/*": { hours: 1 }, "api.example.com/v1/me": false } }
   */
  expireByUrl?: Readonly<Record<string, UrlExpire>>;
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
   * How requests that carry credentials are cached: `"partition"` (apart for each set of
   * credentials), `"bypass"` (not at all) or `"share"` (as if they carried none). Credentials are
   * never stored, logged or shown in events either way. See {@link CredentialsMode}.
   * @default "partition"
   * @example { credentials: "bypass" }
   */
  credentials?: CredentialsMode;
  /**
   * The headers and query parameters that carry credentials, matched without regard to case.
   * @default DEFAULT_CREDENTIAL_HEADERS and DEFAULT_CREDENTIAL_PARAMS
   * @example { credentialNames: { headers: [...DEFAULT_CREDENTIAL_HEADERS, "x-tenant-key"] } }
   */
  credentialNames?: Partial<CredentialNames>;
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
   * The circuit breaker over the cache: after `threshold` cache failures in a row (reads, writes,
   * connections), requests skip the cache for `coolDown` milliseconds instead of each waiting for a
   * backend that is down; then one request at a time probes it, and caching resumes by itself.
   * `false` turns it off. Its state shows in `stats().breaker` and in `breaker` events.
   * @default { threshold: 5, coolDown: 30_000 }
   * @example { breaker: { threshold: 3, coolDown: 10_000 } }
   */
  breaker?: BreakerOptions | false;
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
   * Who shares one network request per missed key. `"store"`: every process that shares the
   * cache's store (SQLite file, Redis, PostgreSQL) — one fetches and stores while the others wait
   * for its entry, for at most `singleFlightLease`; hits never touch the lock. `"process"`: only
   * identical requests in flight in this session (a miss takes no lock in the store). A memory
   * cache has one process, so both are the same there.
   * @default "store"
   * @example { singleFlight: "process" }
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
  /** The cache given, or where to open one. */
  readonly cache: ResponseCache | string | URL;
  readonly fallback: boolean;
  readonly matchHeaders: readonly string[];
  readonly methods: readonly string[];
  readonly rules: UrlRules | undefined;
  readonly credentials: CredentialsMode;
  readonly credentialNames: Partial<CredentialNames> | undefined;
  readonly fetch: FetchFunction | undefined;
  readonly persist: boolean;
  readonly strict: boolean;
  readonly maxEntrySize: number;
  readonly shared: boolean;
  readonly staleIfError: number;
  readonly breaker: BreakerOptions | false;
  readonly onError: ((error: unknown, context: CacheErrorContext) => void) | undefined;
  readonly onEvent: ((event: SessionEvent) => void) | undefined;
  /** The logger given, `null` for none, or `undefined` for the default (once per kind). */
  readonly logger: SessionLogger | null | undefined;
  readonly singleFlight: "process" | "store";
  readonly singleFlightLease: number;
}

const KNOWN = new Set([
  "cache",
  "fallback",
  "matchHeaders",
  "methods",
  "expireByUrl",
  "credentials",
  "credentialNames",
  "fetch",
  "persist",
  "strict",
  "maxEntrySize",
  "shared",
  "staleIfError",
  "breaker",
  "onError",
  "onEvent",
  "logger",
  "singleFlight",
  "singleFlightLease",
]);

/** Checks the options, throwing a `TypeError` or `RangeError` that names the option. */
export function resolveOptions(options: CachedSessionOptions, env: string): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`CachedSession takes an options object, got ${describeValue(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name))
      throw new TypeError(`CachedSession has no option "${name}"; expected ${[...KNOWN].join(", ")}`);
  }
  const { cache = env, fetch, persist = true, strict = false, maxEntrySize = DEFAULT_MAX_ENTRY_SIZE } = options;
  const { fallback = true, matchHeaders = [], methods = DEFAULT_METHODS, expireByUrl, credentialNames } = options;
  const { credentials = "partition", shared = false, staleIfError = 0, onError, onEvent, logger } = options;
  if (!(cache instanceof ResponseCache || cache instanceof URL || (typeof cache === "string" && cache.trim() !== ""))) {
    throw new TypeError(
      "cache must be a ResponseCache (MemoryCache, SQLiteCache, ...), a path or a URL " +
        `(memory:, sqlite:, redis://, postgres://), got ${describeValue(cache)}`,
    );
  }
  checkBoolean("fallback", fallback);
  checkNames("matchHeaders", matchHeaders);
  checkNames("methods", methods);
  if (credentials !== "partition" && credentials !== "bypass" && credentials !== "share") {
    throw new TypeError(`credentials must be "partition", "bypass" or "share", got ${describeValue(credentials)}`);
  }
  if (credentialNames !== undefined) {
    if (typeof credentialNames !== "object" || credentialNames === null) {
      throw new TypeError(`credentialNames must be { headers?, params? }, got ${describeValue(credentialNames)}`);
    }
    if (credentialNames.headers !== undefined) checkNames("credentialNames.headers", credentialNames.headers);
    if (credentialNames.params !== undefined) checkNames("credentialNames.params", credentialNames.params);
  }
  const rules = expireByUrl === undefined ? undefined : new UrlRules(expireByUrl);
  checkFunction("fetch", fetch);
  checkBoolean("persist", persist);
  checkBoolean("strict", strict);
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
  const { singleFlight, singleFlightLease } = resolveSingleFlight(options);
  return {
    cache,
    fallback,
    matchHeaders,
    methods,
    rules: rules?.size === 0 ? undefined : rules,
    credentials,
    credentialNames,
    fetch,
    persist,
    strict,
    maxEntrySize,
    shared,
    staleIfError,
    onError,
    onEvent,
    logger,
    singleFlight,
    singleFlightLease,
    breaker: checkBreaker(options.breaker ?? {}),
  };
}

function resolveSingleFlight(
  options: CachedSessionOptions,
): Pick<ResolvedOptions, "singleFlight" | "singleFlightLease"> {
  const { singleFlight = "store", singleFlightLease = DEFAULT_FILL_LEASE } = options;
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

function checkNames(name: string, value: unknown): void {
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) {
    throw new TypeError(`${name} must be an array of names, got ${describeValue(value)}`);
  }
}

/** Checks a request's own `expire`. */
export function checkRequestExpire(expire: unknown): UrlExpire {
  return checkUrlExpire(expire, "init.expire");
}
