import { createHash, createHmac } from "node:crypto";
import { type AnyRepository, ResponseCache } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import { HTTP_REPOSITORY, HttpRepositorySettings } from "../cache/http-settings.js";
import { keyId } from "../cache/key.js";
import { defaultCacheLocation } from "../cache/location.js";
import { credentialPairs, DEFAULT_CREDENTIAL_PARAMS, redactUrl } from "../credentials.js";
import { CacheError, PayloadHandlerError, RequestfulError } from "../errors.js";
import { JSONPayloadHandler } from "../payload/json.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { Key } from "../types.js";
import { readBody } from "./body.js";
import { CachedResponse } from "./cached-response.js";
import { keysApart } from "./credential-rules.js";
import {
  type CacheErrorContext,
  type CacheErrorKind,
  type NotStoredReason,
  newCounters,
  type SessionCounters,
  type SessionEvent,
  type SessionStats,
} from "./events.js";
import { Flight, Shared, untilAborted } from "./flight.js";
import { NetworkResponse } from "./network-response.js";
import type { CachedRequestInit, CachedSessionOptions, ResolvedOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import {
  type BypassReason,
  type CachePlan,
  declaredLength,
  hasConditionalHeader,
  isStorableStatus,
  planRequest,
} from "./policy.js";
import { Reader } from "./reads.js";
import { type Target, toTarget } from "./target.js";
import type { UrlExpire } from "./url-rules.js";

/** A request that the cache does not read: why, and the repository it belongs to, if any. */
interface Unrouted {
  readonly key: undefined;
  readonly bypass: BypassReason;
  readonly repository: AnyRepository | undefined;
  readonly counters: SessionCounters | undefined;
}

/** A request that a repository can key: where the session keeps what it learnt while routing it. */
interface Routed {
  readonly target: Target;
  readonly repository: AnyRepository;
  readonly key: Key;
  readonly counters: SessionCounters;
  /** A HEAD request answered from the entry of the same GET: never stored. */
  readonly head: boolean;
  /** What a URL rule or the request's own `expire` says, if any. */
  readonly expire: UrlExpire | undefined;
  /** False once the cache failed to connect for this request: nothing is stored then. */
  usable: boolean;
}

const INCLUDE_EXPIRED = { includeExpired: true } as const;

/**
 * A fetch that remembers: `session.fetch(input, init)` has the signature and the behaviour of
 * global `fetch`, and answers from the cache when it can.
 *
 * Each request is routed to a repository by the cache's `repositoryGetter`, and keyed by that
 * repository's settings; a request with neither goes straight to the network. A live entry answers
 * as a {@link CachedResponse}; otherwise the network answers, and a successful response is stored.
 * Identical misses in flight share one network request. A cache that fails, fails open: the request
 * goes to the network and the failure reaches `onError` and the logger, unless `strict` is set.
 *
 * @example
 * const cache = new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) });
 * cache.createRepository(trackSettings);
 * await using session = new CachedSession({ cache });
 * const track = await (await session.fetch("https://api.example.com/v1/tracks/42")).json();
 * const api = ofetch.create({ baseURL: "https://api.example.com/v1" }, { fetch: session.fetch });
 */
export class CachedSession implements AsyncDisposable {
  /**
   * Fetches through the cache. Bound to the session, so it can be handed on as it is to any client
   * that takes a custom fetch.
   */
  readonly fetch: (input: string | URL | Request, init?: CachedRequestInit) => Promise<Response>;

  readonly #options: ResolvedOptions;
  readonly #flights = new Map<string, Flight>();
  readonly #readers = new Map<AnyRepository, Reader>();
  readonly #total = newCounters();
  readonly #byRepository = new Map<string, SessionCounters>();
  readonly #warned = new Set<string>();
  #cache: ResponseCache | undefined;
  #opening: Promise<ResponseCache> | undefined;
  #fallback: AnyRepository | undefined;

  /**
   * @param options Where to cache and how; with none, every GET is cached by its URL in the SQLite
   * file `.cache/requestful.sqlite` (or where the `REQUESTFUL_CACHE` environment variable says).
   */
  constructor(options: CachedSessionOptions = {}) {
    this.#options = resolveOptions(options, defaultCacheLocation());
    const cache = this.#options.cache;
    if (cache instanceof ResponseCache) this.#adopt(cache);
    this.fetch = (input, init) => this.#fetch(input, init);
  }

  /**
   * The cache that holds the responses. A session given a path or URL opens its cache on first use
   * (or on {@link ready}); reading `cache` before then is a `CacheError`.
   */
  get cache(): ResponseCache {
    if (this.#cache === undefined) {
      throw new CacheError(
        `the session's cache (${redactUrl(String(this.#options.cache))}) is not open yet: await session.ready() first`,
      );
    }
    return this.#cache;
  }

  /**
   * Opens the cache when the session was given a path or URL (a missing driver or a location that
   * cannot be used rejects here: a configuration error, never a reason to go on uncached), and
   * resolves to it. Requests do this themselves; call it to fail early.
   */
  async ready(): Promise<ResponseCache> {
    if (this.#cache !== undefined) return this.#cache;
    this.#opening ??= ResponseCache.create(this.#options.cache as string | URL).then((cache) => this.#adopt(cache));
    return this.#opening;
  }

  /** Takes a cache into use: adds the default HTTP repository unless the session has none. */
  #adopt(cache: ResponseCache): ResponseCache {
    this.#cache = cache;
    if (!this.#options.fallback) return cache;
    const existing = cache.get(HTTP_REPOSITORY);
    if (existing !== undefined) {
      if (!(existing.settings instanceof HttpRepositorySettings)) {
        throw new TypeError(
          `the cache has a repository named "${HTTP_REPOSITORY}" of its own, where the session keeps its default ` +
            "HTTP repository: rename yours, or pass fallback: false",
        );
      }
      this.#fallback = existing;
      return cache;
    }
    const { matchHeaders, methods, credentialNames } = this.#options;
    const dropParams = credentialNames?.params ?? DEFAULT_CREDENTIAL_PARAMS;
    this.#fallback = cache.createRepository(new HttpRepositorySettings({ matchHeaders, methods, dropParams }));
    return cache;
  }

  /** A snapshot of the counters: in total, and per repository. */
  stats(): SessionStats {
    const repositories = Object.fromEntries(
      Array.from(this.#byRepository, ([name, counters]) => [name, { ...counters }]),
    );
    return { total: { ...this.#total }, repositories };
  }

  /** Sets every counter back to zero. */
  resetStats(): void {
    Object.assign(this.#total, newCounters());
    this.#byRepository.clear();
  }

  /** Closes the cache. Requests made after it go to the network, and report that the cache is closed. */
  async close(): Promise<void> {
    if (this.#cache === undefined && this.#opening !== undefined) await this.#opening.catch(() => undefined);
    await this.#cache?.close();
  }

  /** `await using session = new CachedSession(...)` closes the cache at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------

  async #fetch(input: string | URL | Request, init: CachedRequestInit | undefined): Promise<Response> {
    const target = toTarget(input, init);
    if (target.signal?.aborted) throw target.signal.reason;
    this.#total.requests++;
    const cache = this.#cache ?? (await this.ready());
    const routing = this.#route(target, cache);
    const routed = routing instanceof Promise ? await routing : routing;
    if (routed.key === undefined) return this.#bypass(target, routed.bypass, routed.repository, routed.counters);

    const headers = target.headers;
    const { bypass, plan } = planRequest({
      mode: target.mode,
      persist: this.#options.persist,
      conditional: headers !== undefined && hasConditionalHeader(headers),
      range: headers?.has("range") === true,
    });
    if (bypass !== undefined) {
      if (!plan.store && plan.onMiss === "network") {
        return this.#bypass(target, bypass, routed.repository, routed.counters);
      }
      this.#outcome("bypass", routed, bypass);
      if (plan.onMiss === "gateway-timeout") return gatewayTimeout(target);
      if (!cache.connected) await this.#connect(routed);
      return this.#fromNetwork(routed, plan, undefined);
    }

    if (cache.connected || (await this.#connect(routed))) {
      let entry: CacheEntry | undefined;
      try {
        entry = await (plan.read === "any"
          ? routed.repository.getEntry(routed.key, INCLUDE_EXPIRED)
          : this.#read(routed.repository, routed.key));
      } catch (error) {
        this.#failed("read", error, target, routed.repository, routed.counters);
      }
      const hit = entry === undefined ? undefined : this.#respond(routed, entry);
      if (hit !== undefined) {
        this.#outcome("hit", routed, hit.stale);
        return hit;
      }
    }
    if (plan.onMiss === "gateway-timeout") {
      this.#outcome("miss", routed);
      return gatewayTimeout(target);
    }
    return this.#miss(routed, plan, true);
  }

  /**
   * Finds the repository and the key of a request, or why it has none: no repository, a URL rule
   * that says not to cache, no key, a router or settings that threw, or credentials that the session
   * does not cache. A HEAD request is keyed as the GET of the same URL. Routing waits only where it
   * must: for a digest of a keyed body, or for the store's secret to partition credentials.
   */
  #route(target: Target, cache: ResponseCache): Routed | Unrouted | Promise<Routed | Unrouted> {
    let repository: AnyRepository | undefined;
    let counters: SessionCounters | undefined;
    try {
      repository = cache.getRepositoryFromUrl(target.url) ?? this.#fallback;
      if (repository === undefined) return unrouted("no-repository", undefined, undefined);
      counters = this.#countersOf(repository);
      const expire = target.expire ?? this.#options.rules?.match(target.url);
      if (expire === false) return unrouted("expire-rule", repository, counters);
      const settings = repository.settings;
      const method = target.keyRequest.method;
      const head = method === "HEAD";
      if (!settings.methods.has(method)) return unrouted("no-key", repository, counters);
      let partition: Promise<string> | undefined;
      const credentials = this.#options.credentials;
      if (credentials !== "share" && !settings.public) {
        const pairs = credentialPairs(target.headers, target.url, this.#options.credentialNames);
        if (pairs.length > 0) {
          if (credentials === "bypass") return unrouted("credentials", repository, counters);
          if (settings instanceof HttpRepositorySettings) partition = partitionOf(cache, pairs);
          else if (!keysApart(repository, { ...target.keyRequest, url: target.url, headers: target.headers }, pairs)) {
            return unrouted("credentials", repository, counters);
          }
        }
      }
      const keyed = !head && method !== "GET" && target.input instanceof Request && target.input.body !== null;
      const digest = keyed ? bodyDigest(target.input as Request) : undefined;
      const finish = (bodyDigest: string | undefined, partition: string | undefined): Routed | Unrouted => {
        const base = target.keyRequest;
        const keyRequest = {
          method: head ? "GET" : base.method,
          url: target.url,
          headers: base.headers,
          bodyDigest,
          partition,
        };
        const key = (repository as AnyRepository).getKeyFromRequest(keyRequest);
        if (key === undefined) return unrouted("no-key", repository, counters);
        return {
          target,
          repository: repository as AnyRepository,
          key,
          counters: counters as SessionCounters,
          head,
          expire,
          usable: true,
        };
      };
      if (digest === undefined && partition === undefined) return finish(undefined, undefined);
      return Promise.all([digest, partition]).then(
        ([bodyDigest, partition]) => finish(bodyDigest, partition),
        (error: unknown) => this.#routeFailed(error, target, repository, counters),
      );
    } catch (error) {
      return this.#routeFailed(error, target, repository, counters);
    }
  }

  #routeFailed(
    error: unknown,
    target: Target,
    repository: AnyRepository | undefined,
    counters: SessionCounters | undefined,
  ): Unrouted {
    this.#failed("route", error, target, repository, counters);
    return unrouted("error", repository, counters);
  }

  /** The response for a stored entry, or `undefined`, reported, when the entry cannot make one. */
  #respond(routed: Routed, entry: CacheEntry): CachedResponse | undefined {
    const { target, repository } = routed;
    try {
      const contentType = entry.headers === null ? contentTypeOf(repository) : null;
      // The stored URL has its credentials redacted: the caller gets the URL it asked for.
      const url = target.url.href;
      let shown =
        entry.url !== null && entry.url !== url && entry.url === this.#show(target) ? { ...entry, url } : entry;
      if (routed.head) shown = { ...shown, key: ["HEAD", ...shown.key.slice(1)] as Key };
      return new CachedResponse(shown, { url, contentType, now: repository.now() });
    } catch (error) {
      this.#failed("entry", error, target, repository, routed.counters);
      return undefined;
    }
  }

  /** The live entry for a key, read alone or together with reads that arrive meanwhile. */
  #read(repository: AnyRepository, key: Key): Promise<CacheEntry | undefined> {
    let reader = this.#readers.get(repository);
    if (reader === undefined) {
      reader = new Reader(repository);
      this.#readers.set(repository, reader);
    }
    return reader.read(key);
  }

  /** Connects the cache; false, having reported why, if it cannot. */
  async #connect(routed: Routed): Promise<boolean> {
    try {
      await this.cache.connect();
      return true;
    } catch (error) {
      this.#failed("connect", error, routed.target, routed.repository, routed.counters);
      routed.usable = false;
      return false;
    }
  }

  /** A request that found no entry: it joins an identical request in flight, or makes its own. */
  async #miss(routed: Routed, plan: CachePlan, coalesce: boolean): Promise<Response> {
    const id = coalesce && plan.coalesce ? `${routed.repository.name}\0${keyId(routed.key)}` : undefined;
    if (id === undefined) {
      this.#outcome("miss", routed);
      return this.#fromNetwork(routed, plan, undefined);
    }
    const inFlight = this.#flights.get(id);
    if (inFlight !== undefined) return this.#join(inFlight, routed, plan);
    this.#outcome("miss", routed);
    const flight = new Flight();
    this.#flights.set(id, flight);
    try {
      return await this.#fromNetwork(routed, plan, flight);
    } finally {
      flight.settle(undefined);
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
    }
  }

  /** Waits for the request in flight; if it cannot share its response, makes a request of its own. */
  async #join(flight: Flight, routed: Routed, plan: CachePlan): Promise<Response> {
    flight.waiters++;
    const shared = await untilAborted(flight.promise, routed.target.signal);
    if (shared === undefined) return this.#miss(routed, plan, false);
    this.#outcome("coalesced", routed);
    return shared.response(false);
  }

  /**
   * Makes the network request, and stores the response when the plan allows and the response is
   * storable. The body is read once, within `maxEntrySize`, and the caller gets a response over the
   * same bytes; waiters of the flight get their own. A response that is not stored and that no one
   * waits for is returned as the network gave it.
   */
  async #fromNetwork(routed: Routed, plan: CachePlan, flight: Flight | undefined): Promise<Response> {
    const { target, counters } = routed;
    const response = await this.#network(target, counters);
    const limit = this.#options.maxEntrySize;
    const body = response.body as { getReader?: unknown } | null;
    const readable = body === null || typeof body.getReader === "function";
    const tooLarge = (declaredLength(response.headers) ?? 0) > limit;
    const store = plan.store && routed.usable && !routed.head;
    const reason = store ? unstorable(readable, response.status, tooLarge) : undefined;
    const storing = store && reason === undefined;
    const waited = flight !== undefined && flight.waiters > 0;
    if (!readable || tooLarge || !(storing || waited)) {
      if (reason !== undefined) this.#notStored(routed, reason);
      return response;
    }

    const read = await readBody(response.body, limit);
    if (!read.complete) {
      if (storing) this.#notStored(routed, read.reason === "failed" ? "incomplete" : "too-large");
      return new NetworkResponse(read.stream, copyInit(response), response.url || target.url.href, response.redirected);
    }
    const shared = new Shared(response, read.bytes, target.url.href);
    flight?.settle(shared);
    if (storing) await this.#store(routed, shared);
    else if (reason !== undefined) this.#notStored(routed, reason);
    return shared.response(true);
  }

  async #store(routed: Routed, shared: Shared): Promise<void> {
    const { target, repository, counters } = routed;
    let saved: boolean;
    try {
      const head = shared.head;
      saved = await repository.saveResponseBytes(
        routed.key,
        { ...head, url: this.#show(target, head.url) },
        shared.bytes,
      );
    } catch (error) {
      this.#failed(error instanceof PayloadHandlerError ? "payload" : "write", error, target, repository, counters);
      return;
    }
    if (!saved) return;
    this.#total.stores++;
    counters.stores++;
    if (this.#options.onEvent !== undefined) {
      const bytes = shared.bytes.byteLength;
      this.#emit({ type: "store", url: this.#show(target), repository: repository.name, key: routed.key, bytes });
    }
  }

  #network(target: Target, counters: SessionCounters | undefined): Promise<Response> {
    this.#total.network++;
    if (counters !== undefined) counters.network++;
    const fetch = this.#options.fetch ?? globalThis.fetch;
    return target.init === undefined ? fetch(target.input) : fetch(target.input, target.init);
  }

  #bypass(
    target: Target,
    reason: BypassReason,
    repository: AnyRepository | undefined,
    counters: SessionCounters | undefined,
  ): Promise<Response> {
    this.#total.bypassed++;
    if (counters !== undefined) counters.bypassed++;
    if (this.#options.onEvent !== undefined) {
      this.#emit({ type: "bypass", url: this.#show(target), repository: repository?.name, reason });
    }
    return this.#network(target, counters);
  }

  // ---------------------------------------------------------------------------------------------
  // Counters, events and errors

  #countersOf(repository: AnyRepository): SessionCounters {
    let counters = this.#byRepository.get(repository.name);
    if (counters === undefined) {
      counters = newCounters();
      this.#byRepository.set(repository.name, counters);
    }
    counters.requests++;
    return counters;
  }

  #outcome(type: "hit", routed: Routed, stale: boolean): void;
  #outcome(type: "miss" | "coalesced", routed: Routed): void;
  #outcome(type: "bypass", routed: Routed, reason: BypassReason): void;
  #outcome(type: "hit" | "miss" | "coalesced" | "bypass", routed: Routed, detail?: boolean | BypassReason): void {
    const total = this.#total;
    const counters = routed.counters;
    switch (type) {
      case "hit":
        total.hits++;
        counters.hits++;
        break;
      case "miss":
        total.misses++;
        counters.misses++;
        break;
      case "coalesced":
        total.coalesced++;
        counters.coalesced++;
        break;
      case "bypass":
        total.bypassed++;
        counters.bypassed++;
        break;
      default: {
        const never: never = type;
        throw new TypeError(`unknown outcome ${String(never)}`);
      }
    }
    if (this.#options.onEvent === undefined) return;
    const url = this.#show(routed.target);
    const repository = routed.repository.name;
    if (type === "hit") this.#emit({ type, url, repository, key: routed.key, stale: detail === true });
    else if (type === "bypass") this.#emit({ type, url, repository, reason: detail as BypassReason });
    else this.#emit({ type, url, repository, key: routed.key });
  }

  #notStored(routed: Routed, reason: NotStoredReason): void {
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "not-stored", url: this.#show(target), repository: repository.name, key, reason });
  }

  /** Reports a cache error to the counters, `onError`, the events and the logger; throws it in a strict session. */
  #failed(
    kind: CacheErrorKind,
    cause: unknown,
    target: Target,
    repository: AnyRepository | undefined,
    counters: SessionCounters | undefined,
  ): void {
    const error = asCacheError(kind, cause, repository);
    this.#total.errors++;
    if (counters !== undefined) counters.errors++;
    const context: CacheErrorContext = { kind, url: this.#show(target), repository: repository?.name };
    const { onError, strict } = this.#options;
    const throws = strict && kind !== "payload";
    if (onError !== undefined) {
      try {
        onError(error, context);
      } catch (hookError) {
        this.#warnOnce("onError", "requestful: the session's onError hook threw", hookError);
      }
    }
    if (this.#options.onEvent !== undefined) this.#emit({ type: "error", ...context, error });
    this.#log(kind, error, context, throws);
    if (throws) throw error;
  }

  #log(kind: CacheErrorKind, error: RequestfulError, context: CacheErrorContext, throws: boolean): void {
    const logger = this.#options.logger;
    if (logger === null) return;
    const where = context.repository === undefined ? "" : ` (repository "${context.repository}")`;
    const then = throws ? "the request failed (strict)" : "the request went on without the cache";
    const message = `requestful: cache ${kind} error for ${context.url}${where}: ${error.message}; ${then}`;
    if (logger === undefined) {
      this.#warnOnce(
        kind,
        `${message}. Later ${kind} errors of this session are counted, not logged; see onError.`,
        error,
      );
    } else {
      try {
        logger.warn(message, error);
      } catch {
        // A logger that throws must not turn a cache error into a failed request.
      }
    }
  }

  #warnOnce(topic: string, message: string, error: unknown): void {
    if (this.#warned.has(topic)) return;
    this.#warned.add(topic);
    console.warn(message, error);
  }

  /** A URL as events, errors and stored entries show it: with its credentials redacted. */
  #show(target: Target, url: string = target.url.href): string {
    return redactUrl(url, this.#options.credentialNames);
  }

  #emit(event: SessionEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch (error) {
      this.#warnOnce("onEvent", "requestful: the session's onEvent hook threw", error);
    }
  }
}

// -----------------------------------------------------------------------------------------------

/** Why a response that the plan lets the session store cannot be stored, before its body is read. */
function unstorable(readable: boolean, status: number, tooLarge: boolean): NotStoredReason | undefined {
  if (!readable) return "unreadable";
  if (!isStorableStatus(status)) return "status";
  if (tooLarge) return "too-large";
  return undefined;
}

function unrouted(
  bypass: BypassReason,
  repository: AnyRepository | undefined,
  counters: SessionCounters | undefined,
): Unrouted {
  return { key: undefined, bypass, repository, counters };
}

/** The credential partition: a keyed digest (HMAC-SHA-256 with the store's secret) of the credential values. */
async function partitionOf(cache: ResponseCache, pairs: readonly (readonly [string, string])[]): Promise<string> {
  const secret = await cache.partitionSecret();
  const hmac = createHmac("sha256", secret);
  for (const [name, value] of pairs) hmac.update(`${name}\0${value}\0`);
  return hmac.digest("base64url");
}

/** A digest of a request body, for methods whose body is part of the key. The request's body is left unread. */
async function bodyDigest(request: Request): Promise<string> {
  const bytes = new Uint8Array(await request.clone().arrayBuffer());
  return createHash("sha256").update(bytes).digest("base64url");
}

/** The Content-Type of an entry saved as a pair, which has no stored headers, from its payload handler. */
function contentTypeOf(repository: AnyRepository): string | null {
  const handler = repository.settings.payloadHandler;
  if (handler instanceof JSONPayloadHandler) return "application/json";
  if (handler instanceof StringPayloadHandler) return "text/plain;charset=UTF-8";
  return null;
}

function copyInit(response: Response): ResponseInit {
  return { status: response.status, statusText: response.statusText, headers: response.headers };
}

function gatewayTimeout(target: Target): Response {
  return new NetworkResponse(null, { status: 504, statusText: "Gateway Timeout" }, target.url.href);
}

function asCacheError(kind: CacheErrorKind, error: unknown, repository: AnyRepository | undefined): RequestfulError {
  if (error instanceof RequestfulError) return error;
  const where = repository === undefined ? "" : ` of repository "${repository.name}"`;
  const message = error instanceof Error ? error.message : String(error);
  return new CacheError(`cache ${kind}${where} failed: ${message}`, { cause: error });
}
