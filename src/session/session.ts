import { createHash, createHmac } from "node:crypto";
import { type AnyRepository, ResponseCache } from "../cache/cache.js";
// ResponseCache.create (a session given a path or URL) maps it to a backend once the factory has installed itself.
import "../cache/factory.js";
import type { CacheEntry } from "../cache/entry.js";
import { HTTP_REPOSITORY, HttpRepositorySettings } from "../cache/http-settings.js";
import { keyId } from "../cache/key.js";
import { defaultCacheLocation } from "../cache/location.js";
import type { CachePolicy } from "../cache/repository.js";
import type { FillTicket } from "../cache/single-flight.js";
import { credentialPairs, DEFAULT_CREDENTIAL_PARAMS, redactUrl } from "../credentials.js";
import { expiryAdder, MAX_EXPIRE } from "../duration.js";
import { CacheError, CacheTimeoutError, MissingDriverError, PayloadHandlerError, RequestfulError } from "../errors.js";
import { BytesPayloadHandler } from "../payload/bytes.js";
import { JSONPayloadHandler, takeCheckedJson } from "../payload/json.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { Key, RequestDescriptor } from "../types.js";
import { Breaker } from "./breaker.js";
import { CachedResponse, type CachedResponseInit } from "./cached-response.js";
import { keysApart } from "./credential-rules.js";
import {
  type CacheErrorContext,
  type CacheErrorKind,
  type HitDecision,
  type MissReason,
  type NotStoredReason,
  newCounters,
  type SessionCounters,
  type SessionEvent,
  type SessionStats,
} from "./events.js";
import { callerInit, Flight, Shared, untilAborted } from "./flight.js";
import {
  answersFresh,
  byteRange,
  type CacheStatusKind,
  cacheStatus,
  conditionalFields,
  contentRange,
  currentAge,
  decideStore,
  decodeMeta,
  encodeMeta,
  type Fields,
  Flag,
  type Freshness,
  invalidationTargets,
  isUnsafeMethod,
  judge,
  type Meta,
  mergeNotModified,
  NO_REQUEST_DIRECTIVES,
  NOT_MODIFIED_FIELDS,
  notModified,
  type Pairs,
  pairFields,
  parseHttpDate,
  type RequestDirectives,
  type RevalidateReason,
  requestDirectives,
  type StoreDecision,
  selects,
  storedFreshness,
  varyMatches,
} from "./http/index.js";
import { NetworkResponse } from "./network-response.js";
import type { CachedRequestInit, CachedSessionOptions, ResolvedOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import { Owed } from "./owed.js";
import {
  type BypassReason,
  type CachePlan,
  declaredLength,
  type FetchCacheMode,
  hasConditionalHeader,
  planRequest,
  readResponseFields,
} from "./policy.js";
import { Reader } from "./reads.js";
import { type Recorded, Recording, recordBody } from "./recording.js";
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
  readonly #breaker: Breaker | undefined;
  #cache: ResponseCache | undefined;
  #opening: Promise<ResponseCache> | undefined;
  #fallback: AnyRepository | undefined;
  /** Entries being revalidated in the background (stale-while-revalidate), by repository and key. */
  readonly #revalidating = new Set<string>();
  /** What the session still owes its store: {@link close} settles it. */
  readonly #owed = new Owed();

  /**
   * @param options Where to cache and how; with none, every GET is cached by its URL in the SQLite
   * file `.cache/requestful.sqlite` (or where the `REQUESTFUL_CACHE` environment variable says).
   */
  constructor(options: CachedSessionOptions = {}) {
    this.#options = resolveOptions(options, defaultCacheLocation());
    const cache = this.#options.cache;
    const breaker = this.#options.breaker;
    if (breaker !== false) {
      this.#breaker = new Breaker(breaker, (state) => {
        if (this.#options.onEvent !== undefined) this.#emit({ type: "breaker", state });
      });
    }
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
    this.#fallback = cache.createRepository(new HttpRepositorySettings({ matchHeaders, methods, dropParams }), {
      policy: "http",
    });
    return cache;
  }

  /** A snapshot of the counters: in total, and per repository. */
  stats(): SessionStats {
    const repositories = Object.fromEntries(
      Array.from(this.#byRepository, ([name, counters]) => [name, { ...counters }]),
    );
    return { total: { ...this.#total }, repositories, breaker: this.#breaker?.stats() ?? null };
  }

  /** Sets every counter back to zero. */
  resetStats(): void {
    Object.assign(this.#total, newCounters());
    this.#byRepository.clear();
  }

  /**
   * Closes the cache, once the session has stored what it still owes it, within a bound:
   * - a miss's body that has ended (read by its caller, or read ahead for the cache) is stored
   *   before the cache closes;
   * - a miss's body that has not ended stops being recorded and is not stored (a `not-stored` event
   *   says `incomplete`); its caller reads it on. A body that no one reads, or that never ends,
   *   never keeps `close()` waiting;
   * - a background revalidation is awaited until it has stored its entry, for five seconds at most;
   *   then it is aborted, and what it had not stored is not.
   *
   * Requests made after it go to the network, and report that the cache is closed.
   */
  async close(): Promise<void> {
    if (this.#cache === undefined && this.#opening !== undefined) await this.#opening.catch(() => undefined);
    await this.#owed.settle();
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
    const method = target.keyRequest.method;
    if (method === "GET" || method === "HEAD" || !isUnsafeMethod(method)) return this.#fetchRouted(target, cache);
    const response = await this.#fetchRouted(target, cache);
    await this.#invalidate(target, response);
    return response;
  }

  async #fetchRouted(target: Target, cache: ResponseCache): Promise<Response> {
    const routing = this.#route(target, cache);
    const routed = routing instanceof Promise ? await routing : routing;
    if (routed.key === undefined) return this.#bypass(target, routed.bypass, routed.repository, routed.counters);

    const headers = target.headers;
    const directives = headers === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives(headers);
    const mode = effectiveMode(target.mode, directives);
    const conditional = headers !== undefined && hasConditionalHeader(headers);
    const range = headers?.get("range") ?? null;
    if (range !== null && mode === "default" && !conditional && target.keyRequest.method === "GET") {
      const part = await this.#rangeFromStore(routed, directives, range);
      if (part !== undefined) return part;
    }
    if (conditional && range === null && mode === "default" && this.#options.shared) {
      const answer = await this.#notModifiedFromStore(routed, directives);
      if (answer !== undefined) return answer;
    }
    const { bypass, plan } = planRequest({
      mode,
      persist: this.#options.persist,
      conditional,
      range: range !== null,
    });
    if (bypass !== undefined) {
      if (!plan.store && plan.onMiss === "network") {
        return this.#bypass(target, bypass, routed.repository, routed.counters);
      }
      this.#outcome("bypass", routed, bypass);
      if (plan.onMiss === "gateway-timeout") return gatewayTimeout(target);
      if (this.#breaker?.blocked() === true) routed.usable = false;
      else if (!cache.connected) await this.#connect(routed);
      return this.#fromNetwork(routed, plan, undefined);
    }

    let reason: MissReason = "no-entry";
    if (this.#breaker !== undefined && !this.#breaker.allow()) {
      // The cache failed again and again: skip it, without waiting for it, until the cool-down ends.
      return this.#bypass(target, "circuit-open", routed.repository, routed.counters);
    }
    if (cache.connected || (await this.#connect(routed))) {
      const repository = routed.repository;
      let entry: CacheEntry | undefined;
      try {
        entry = await (plan.read === "any"
          ? repository.getEntry(routed.key, INCLUDE_EXPIRED)
          : this.#read(repository, routed.key));
        // In the "expire" policy an expired entry is gone from live reads; one the backend still
        // holds can be validated instead of fetched whole.
        if (entry === undefined && repository.policy === "expire" && plan.read === "live") {
          entry = await repository.getEntry(routed.key, INCLUDE_EXPIRED);
        }
        this.#breaker?.success();
      } catch (error) {
        // A backend that missed its deadline once is not given a second one for the write.
        if (error instanceof CacheTimeoutError) routed.usable = false;
        this.#failed("read", error, target, repository, routed.counters);
      }
      if (entry !== undefined) {
        const decision = this.#decide(routed, mode, directives, entry);
        switch (decision.type) {
          case "answer":
            return decision.response;
          case "miss":
            reason = decision.reason;
            break;
          case "revalidate":
            if (plan.onMiss === "gateway-timeout") break;
            return this.#revalidate(routed, plan, entry, decision);
          default: {
            const never: never = decision;
            throw new TypeError(`unknown decision ${String(never)}`);
          }
        }
      }
    }
    if (plan.onMiss === "gateway-timeout") {
      this.#outcome("miss", routed, reason);
      return gatewayTimeout(target);
    }
    return this.#miss(routed, plan, true, reason);
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
      const counted = this.#countersOf(repository);
      counters = counted;
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
      if (digest === undefined && partition === undefined) {
        return routedTo(target, repository, counted, expire, undefined, undefined);
      }
      const found = repository;
      return Promise.all([digest, partition]).then(
        ([bodyDigest, partition]) => routedTo(target, found, counted, expire, bodyDigest, partition),
        (error: unknown) => this.#routeFailed(error, target, found, counted),
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

  /**
   * What a stored entry does for a request (RFC 9111 §4): it answers (fresh, or stale where that is
   * allowed), it is not selected (Vary), or it must be validated first. Synchronous: a hit costs no
   * more than reading the entry's metadata.
   */
  #decide(routed: Routed, mode: FetchCacheMode, directives: RequestDirectives, entry: CacheEntry): Decision {
    const repository = routed.repository;
    const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
    // RFC 9111 §4.1: a response is used only for requests whose Vary fields match.
    if (meta?.y != null && !varyMatches(meta.y, routed.target.headers)) return MISS_VARY;
    const now = repository.now();
    const policy: CachePolicy = repository.policy;
    const freshness = storedFreshness(policy, entry, meta, now);
    if (mode === "force-cache" || mode === "only-if-cached") {
      // Fetch standard: these modes take any stored response, stale or not.
      const fresh = freshness.lifetime > freshness.age;
      return this.#answer(routed, entry, meta, freshness, fresh ? "hit" : "stale", fresh ? undefined : mode);
    }
    // RFC 8246 §2.1: a fresh immutable response needs no validation on a reload.
    const immutable = (freshness.flags & Flag.Immutable) !== 0 && freshness.lifetime > freshness.age;
    const verdict = judge(freshness, directives, mode === "no-cache" && !immutable);
    switch (verdict.type) {
      case "fresh":
        return this.#answer(routed, entry, meta, freshness, "hit", undefined);
      case "stale": {
        const answer = this.#answer(routed, entry, meta, freshness, "stale", verdict.reason);
        if (answer.type === "answer" && verdict.reason === "stale-while-revalidate") this.#background(routed, entry);
        return answer;
      }
      case "revalidate":
        return { type: "revalidate", reason: verdict.reason, meta, freshness };
      default: {
        const never: never = verdict;
        throw new TypeError(`unknown verdict ${String(never)}`);
      }
    }
  }

  /**
   * A byte range answered from a fresh stored complete response (RFC 9111 §3.4, RFC 9110 §14.2):
   * a 206 with the part and the stored header fields, or `undefined` to leave the request to the
   * origin (no fresh 200 stored, or a range the cache does not serve).
   */
  async #rangeFromStore(routed: Routed, directives: RequestDirectives, range: string): Promise<Response | undefined> {
    const stored = await this.#freshStored(routed, directives);
    if (stored === undefined) return undefined;
    const { entry, meta, freshness, now } = stored;
    const { target, repository } = routed;
    const bytes = typeof entry.payload === "string" ? new TextEncoder().encode(entry.payload) : entry.payload;
    const part = byteRange(range, bytes.byteLength);
    if (part === undefined) return undefined;
    const age = currentAge(entry, meta, now);
    const headers: [string, string][] = [
      ["content-range", contentRange(part, bytes.byteLength)],
      ["content-length", String(part.end - part.start + 1)],
      ["age", String(Math.floor(age / 1000))],
      ["cache-status", cacheStatus("hit", freshness.lifetime - freshness.age, undefined)],
    ];
    const partial: CacheEntry = { ...entry, status: 206, payload: bytes.slice(part.start, part.end + 1) };
    let response: CachedResponse;
    try {
      response = new CachedResponse(partial, { url: target.url.href, now, headers, stale: false });
    } catch (error) {
      this.#failed("entry", error, target, repository, routed.counters);
      return undefined;
    }
    this.#hit(routed, { policy: repository.policy, status: "hit", reason: "range" }, false);
    return response;
  }

  /**
   * A shared cache's answer to a client's own conditional request (RFC 9111 §4.3.2): a 304 from a
   * fresh stored response that satisfies it, or `undefined` to pass the request on untouched.
   */
  async #notModifiedFromStore(routed: Routed, directives: RequestDirectives): Promise<Response | undefined> {
    const stored = await this.#freshStored(routed, directives);
    const headers = routed.target.headers;
    if (stored === undefined || headers === undefined) return undefined;
    const pairs = storedPairs(stored.entry);
    if (pairs === undefined) return undefined;
    const fields = pairFields(pairs);
    if (!notModified(headers, fields, (value) => parseHttpDate(value))) return undefined;
    const { meta, freshness, now, entry } = stored;
    const answer = new Headers();
    for (const name of NOT_MODIFIED_FIELDS) {
      const value = fields.get(name);
      if (value !== null) answer.set(name, value);
    }
    const age = currentAge(entry, meta, now);
    answer.set("age", String(Math.floor(age / 1000)));
    answer.set("cache-status", cacheStatus("hit", freshness.lifetime - freshness.age, undefined));
    this.#hit(routed, { policy: routed.repository.policy, status: "hit", reason: "not-modified" }, false);
    const init = { status: 304, statusText: "Not Modified", headers: answer };
    return new NetworkResponse(null, init, routed.target.url.href);
  }

  /** The stored complete (200) response for a request when it is fresh and selected, else `undefined`. */
  async #freshStored(
    routed: Routed,
    directives: RequestDirectives,
  ): Promise<{ entry: CacheEntry; meta: Meta | undefined; freshness: Freshness; now: number } | undefined> {
    if (!this.cache.connected) return undefined;
    const { target, repository } = routed;
    let entry: CacheEntry | undefined;
    try {
      entry = await this.#read(repository, routed.key);
    } catch (error) {
      this.#failed("read", error, target, repository, routed.counters);
      return undefined;
    }
    if (entry === undefined || (entry.status ?? 200) !== 200) return undefined;
    const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
    if (meta?.y != null && !varyMatches(meta.y, target.headers)) return undefined;
    const now = repository.now();
    const freshness = storedFreshness(repository.policy, entry, meta, now);
    if (judge(freshness, directives).type !== "fresh") return undefined;
    return { entry, meta, freshness, now };
  }

  /** An answer from a stored entry, with its Age and Cache-Status, counted and reported. */
  #answer(
    routed: Routed,
    entry: CacheEntry,
    meta: Meta | undefined,
    freshness: Freshness,
    status: CacheStatusKind,
    reason: string | undefined,
  ): Decision {
    const response = this.#respond(routed, entry, meta, freshness, status, reason);
    if (response === undefined) return MISS_NO_ENTRY;
    this.#hit(routed, { policy: routed.repository.policy, status, reason }, status === "stale");
    return { type: "answer", response };
  }

  /** The response for a stored entry, or `undefined`, reported, when the entry cannot make one. */
  #respond(
    routed: Routed,
    entry: CacheEntry,
    meta: Meta | undefined,
    freshness: Freshness,
    status: CacheStatusKind,
    reason: string | undefined,
  ): CachedResponse | undefined {
    const { target, repository } = routed;
    const now = repository.now();
    // RFC 9111 §5.1: the Age of the answer is the response's current age (§4.2.3).
    const age = currentAge(entry, meta, now);
    const headers: [string, string][] = [
      ["age", String(Math.floor(age / 1000))],
      ["cache-status", cacheStatus(status, freshness.lifetime - freshness.age, reason)],
    ];
    try {
      const contentType = entry.headers === null ? contentTypeOf(repository) : null;
      // The stored URL has its credentials redacted: the caller gets the URL it asked for.
      const url = target.url.href;
      let shown =
        entry.url !== null && entry.url !== url && entry.url === this.#show(target) ? { ...entry, url } : entry;
      if (routed.head) shown = { ...shown, key: ["HEAD", ...shown.key.slice(1)] as Key };
      const init: CachedResponseInit = { url, contentType, now, headers, stale: status === "stale" };
      let parsedJson: { value: unknown } | undefined;
      try {
        parsedJson = checkPayload(repository, entry);
      } catch (error) {
        // A payload that no longer deserializes is no answer: a miss, whose response replaces it.
        this.#failed("payload", error, target, repository, routed.counters);
        return undefined;
      }
      return new CachedResponse(shown, parsedJson === undefined ? init : { ...init, parsedJson });
    } catch (error) {
      this.#failed("entry", error, target, repository, routed.counters);
      return undefined;
    }
  }

  /**
   * Validates a stored response with the origin (RFC 9111 §4.3): a conditional request when it has
   * a validator; a 304 freshens it (§4.3.4) and it answers as a 200; any other response answers and
   * is stored as a miss's would be; a network error or a 5xx answers with the stale response where
   * stale-if-error allows (RFC 5861 §4).
   */
  async #revalidate(routed: Routed, plan: CachePlan, entry: CacheEntry, decision: Revalidate): Promise<Response> {
    const stored = storedPairs(entry);
    const fields = stored === undefined ? [] : conditionalFields(pairFields(stored));
    const staleIfError = this.#staleIfError(routed.repository.policy, decision.meta, decision.freshness);
    if (fields.length === 0 && !staleIfError) return this.#miss(routed, plan, true, decision.reason);
    const { target, repository } = routed;
    const requestTime = repository.now();
    let response: Response;
    try {
      response = await this.#network(target, routed.counters, fields);
    } catch (error) {
      if (staleIfError && !target.signal?.aborted) {
        const answer = this.#answer(routed, entry, decision.meta, decision.freshness, "stale", "stale-if-error");
        if (answer.type === "answer") return answer.response;
      }
      throw error;
    }
    if (response.status === 304 && stored !== undefined && fields.length > 0) {
      await discard(response);
      if (selects(pairFields(stored), response.headers)) {
        const refreshed = await this.#refresh(routed, entry, stored, response.headers, requestTime);
        if (refreshed !== undefined) return refreshed;
      }
      // A 304 that does not select the stored response (§4.3.4): fetch it whole.
      return this.#miss(routed, plan, false, decision.reason);
    }
    if (staleIfError && response.status >= 500) {
      const answer = this.#answer(routed, entry, decision.meta, decision.freshness, "stale", "stale-if-error");
      if (answer.type === "answer") {
        await discard(response);
        return answer.response;
      }
    }
    this.#outcome("miss", routed, decision.reason);
    return this.#afterNetwork(routed, plan, undefined, response, requestTime);
  }

  /**
   * Freshens a stored response with a 304's header fields (RFC 9111 §3.2, §4.3.4), stores it with
   * new metadata and expiry, body untouched, and answers with it; `undefined` when it cannot.
   */
  async #refresh(
    routed: Routed,
    entry: CacheEntry,
    stored: Pairs,
    notModified: Headers,
    requestTime: number,
  ): Promise<CachedResponse | undefined> {
    const { target, repository } = routed;
    const merged = mergeNotModified(stored, notModified);
    const now = repository.now();
    const decision = this.#storeDecision(routed, entry.status ?? 200, pairFields(merged), requestTime, now);
    const refreshed: CacheEntry = { ...entry, headers: JSON.stringify(merged), cachedAt: now };
    if (decision.store) Object.assign(refreshed, this.#kept(routed, decision, now));
    if (routed.usable && this.#options.persist) {
      try {
        if (decision.store) await repository.saveEntries([refreshed]);
        else await repository.deleteResponse(entry.key);
      } catch (error) {
        this.#failed("write", error, target, repository, routed.counters);
      }
    }
    const meta = decision.store ? decision.meta : undefined;
    const freshness = storedFreshness(repository.policy, refreshed, meta, now);
    const response = this.#respond(routed, refreshed, meta, freshness, "revalidated", undefined);
    if (response !== undefined)
      this.#hit(routed, { policy: repository.policy, status: "revalidated", reason: undefined }, false);
    return response;
  }

  /** Whether a stale response may answer for an origin that fails (RFC 5861 §4, or the session's option). */
  #staleIfError(policy: CachePolicy, meta: Meta | undefined, freshness: Freshness): boolean {
    const window = Math.max(meta?.e ?? 0, this.#options.staleIfError);
    if (window <= 0) return false;
    if (policy === "http" && (freshness.flags & (Flag.MustRevalidate | Flag.NoCache)) !== 0) return false;
    return freshness.age - freshness.lifetime <= window;
  }

  /**
   * Revalidates a stale entry in the background (stale-while-revalidate, RFC 5861 §3): one at a
   * time per entry; failures are reported to `onError` and the events, never thrown.
   */
  #background(routed: Routed, entry: CacheEntry): void {
    const id = `${routed.repository.name}\0${keyId(routed.key)}`;
    if (this.#revalidating.has(id)) return;
    this.#revalidating.add(id);
    const revalidation = this.#revalidateInBackground(routed, entry)
      .catch((error: unknown) => {
        // Aborted by close(): nothing went wrong.
        if (this.#owed.aborted(error)) return;
        try {
          this.#failed("revalidate", error, routed.target, routed.repository, routed.counters);
        } catch {
          // A strict session throws from #failed: a background task has no caller to throw to.
        }
      })
      .finally(() => this.#revalidating.delete(id));
    void this.#owed.track(revalidation);
  }

  async #revalidateInBackground(routed: Routed, entry: CacheEntry): Promise<void> {
    const stored = storedPairs(entry);
    const fields = stored === undefined ? [] : conditionalFields(pairFields(stored));
    const requestTime = routed.repository.now();
    const background: Routed = { ...routed, target: { ...routed.target, signal: undefined } };
    const response = await this.#network(background.target, routed.counters, fields, true);
    if (response.status === 304 && stored !== undefined && fields.length > 0) {
      await discard(response);
      if (!selects(pairFields(stored), response.headers)) return;
      const merged = mergeNotModified(stored, response.headers);
      const repository = routed.repository;
      const now = repository.now();
      const decision = this.#storeDecision(routed, entry.status ?? 200, pairFields(merged), requestTime, now);
      if (!decision.store) {
        await repository.deleteResponse(entry.key);
        return;
      }
      const refreshed: CacheEntry = {
        ...entry,
        headers: JSON.stringify(merged),
        cachedAt: now,
        ...this.#kept(routed, decision, now),
      };
      await repository.saveEntries([refreshed]);
      return;
    }
    const answer = await this.#afterNetwork(background, STORE_ONLY, undefined, response, requestTime);
    await discard(answer);
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
      // A driver that is not installed is a configuration error, not an outage: never run uncached for it.
      if (error instanceof MissingDriverError) throw error;
      this.#failed("connect", error, routed.target, routed.repository, routed.counters);
      routed.usable = false;
      return false;
    }
  }

  /** A request that found no entry: it joins an identical request in flight, or makes its own. */
  async #miss(routed: Routed, plan: CachePlan, coalesce: boolean, reason: MissReason): Promise<Response> {
    const id =
      coalesce && plan.coalesce
        ? `${routed.repository.name}\0${keyId(routed.key)}\0${headerSignature(routed.target.headers)}`
        : undefined;
    if (id === undefined) {
      this.#outcome("miss", routed, reason);
      return this.#fromNetwork(routed, plan, undefined);
    }
    const inFlight = this.#flights.get(id);
    if (inFlight !== undefined) return this.#join(inFlight, routed, plan, reason);
    const flight = new Flight();
    this.#flights.set(id, flight);
    let ticket: FillTicket | undefined;
    try {
      if (this.#options.singleFlight === "store" && plan.store && plan.read !== "none") {
        ticket = await this.#fill(routed, plan);
        const filled = ticket?.state === "filled" ? await this.#filled(routed, ticket.entry, flight) : undefined;
        if (filled !== undefined) return filled;
      }
      this.#outcome("miss", routed, reason);
      return await this.#fromNetwork(routed, plan, flight);
    } finally {
      // The flight lasts until the body is recorded and stored: a request that comes meanwhile joins it.
      const land = async () => {
        flight.settle(undefined);
        if (this.#flights.get(id) === flight) this.#flights.delete(id);
        if (ticket?.state === "fetch") await ticket.release();
      };
      if (flight.recording === undefined) await land();
      else void this.#owed.track(flight.recording.then(land));
    }
  }

  /** Takes the key's lock across the processes that share the store, or waits for the entry another one stores. */
  async #fill(routed: Routed, plan: CachePlan): Promise<FillTicket | undefined> {
    if (!routed.usable || !this.cache.connected) return undefined;
    const { target, repository, counters } = routed;
    const directives = target.headers === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives(target.headers);
    return this.cache.fill(repository, routed.key, {
      lease: this.#options.singleFlightLease,
      signal: target.signal,
      // Only an entry that answers this request as a fresh hit ends the miss: the entry this
      // request found stale, or another variant of it, does not (RFC 9111 §4).
      accept: (entry) => plan.read === "live" && this.#answersFresh(routed, directives, entry),
      onError: (error) => this.#failed("lock", error, target, repository, counters),
    });
  }

  /** Whether a stored entry answers the request as a fresh hit: its Vary fields match, and it is fresh. */
  #answersFresh(routed: Routed, directives: RequestDirectives, entry: CacheEntry): boolean {
    const { repository, target } = routed;
    return answersFresh(repository.policy, entry, target.headers, directives, repository.now());
  }

  /** Answers with the entry another process stored, and hands it to the requests of this session that wait too. */
  async #filled(routed: Routed, entry: CacheEntry, flight: Flight): Promise<Response | undefined> {
    const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
    const freshness = storedFreshness(routed.repository.policy, entry, meta, routed.repository.now());
    const hit = this.#respond(routed, entry, meta, freshness, "hit", undefined);
    if (hit === undefined) return undefined;
    this.#outcome("coalesced", routed);
    if (flight.waiters > 0) {
      const bytes = new Uint8Array(await hit.clone().arrayBuffer());
      flight.settle(new Shared(hit, bytes, routed.target.url.href));
    }
    return hit;
  }

  /** Waits for the request in flight; if it cannot share its response, makes a request of its own. */
  async #join(flight: Flight, routed: Routed, plan: CachePlan, reason: MissReason): Promise<Response> {
    flight.waiters++;
    const shared = await untilAborted(flight.promise, routed.target.signal);
    if (shared === undefined) return this.#miss(routed, plan, false, reason);
    this.#outcome("coalesced", routed);
    return shared.response(false);
  }

  async #fromNetwork(routed: Routed, plan: CachePlan, flight: Flight | undefined): Promise<Response> {
    const requestTime = routed.repository.now();
    const response = await this.#network(routed.target, routed.counters);
    return this.#afterNetwork(routed, plan, flight, response, requestTime);
  }

  /**
   * Stores a network response when the plan allows and the repository's policy finds it storable.
   * The body is read once, within `maxEntrySize`, and the caller gets a response over the same
   * bytes; waiters of the flight get their own. A response that is not stored and that no one
   * waits for is returned as the network gave it.
   */
  async #afterNetwork(
    routed: Routed,
    plan: CachePlan,
    flight: Flight | undefined,
    response: Response,
    requestTime: number,
  ): Promise<Response> {
    const { target } = routed;
    const limit = this.#options.maxEntrySize;
    const body = response.body as { getReader?: unknown } | null;
    const readable = body === null || typeof body.getReader === "function";
    const store = plan.store && routed.usable && !routed.head;
    // The header fields, read once for the decision, the caller's response and the stored copy.
    const head = store && readable ? readResponseFields(response.headers) : undefined;
    const fields = head?.fields ?? response.headers;
    const tooLarge = (declaredLength(fields) ?? 0) > limit;
    let decision: StoreDecision | undefined;
    let reason: NotStoredReason | undefined;
    if (store) {
      if (!readable || head === undefined) reason = "unreadable";
      else {
        const now = routed.repository.now();
        decision = this.#storeDecision(routed, response.status, head.fields, requestTime, now);
        if (!decision.store) reason = decision.reason;
        else if (tooLarge) reason = "too-large";
      }
    }
    // A stream of events has no end: never stored, never shared (RFC 9111 leaves it storable, but a
    // response that never completes can be neither).
    const eventStream = isEventStream(fields);
    if (store && reason === undefined && eventStream) reason = "event-stream";
    const storing = store && reason === undefined;
    const waited = flight !== undefined && flight.waiters > 0 && !eventStream;
    if (!readable || tooLarge || !(storing || waited)) {
      if (reason !== undefined) this.#notStored(routed, reason);
      return response;
    }

    // Fetch resolves at the head: so does the session. The caller streams the body while it is
    // recorded; once it ends, it is handed to the waiters and stored, before the caller's stream closes.
    let storeError: unknown;
    let recording: Recording | undefined;
    const settle = async (recorded: Recorded): Promise<void> => {
      if (!recorded.complete) {
        flight?.settle(undefined); // the waiters make their own requests
        if (storing) this.#notStored(routed, recorded.reason === "too-large" ? "too-large" : "incomplete");
        return;
      }
      const shared = new Shared(response, recorded.bytes, target.url.href, head?.kept);
      flight?.settle(shared);
      try {
        if (storing && decision?.store === true) await this.#store(routed, shared, decision);
        else if (reason !== undefined) this.#notStored(routed, reason);
      } catch (error) {
        storeError = error; // a strict session's cache error
      }
      // A JSON payload handler parsed the body to check it: the caller's json() takes that value.
      if (recording !== undefined) recording.parsedJson = takeCheckedJson(recorded.bytes);
    };
    let recorded!: () => void;
    const done = new Promise<void>((resolve) => (recorded = resolve));
    if (flight !== undefined) flight.recording = done;
    const onEnd = (result: Recorded) => settle(result).finally(recorded);
    // The caller's body: the recording, whose stream is made only if the caller streams it.
    if (response.body !== null) recording = new Recording(response.body, limit, onEnd);
    const callerBody = recording ?? recordBody(null, limit, onEnd);
    // The body of a background revalidation (planned STORE_ONLY) is the session's own to read.
    this.#owed.record(recording, done, plan !== STORE_ONLY);
    // A strict session rejects on a cache error: it waits for the store before it answers.
    if (this.#options.strict && storing) {
      await done;
      if (storeError !== undefined) throw storeError;
    }
    const init = callerInit(response, head?.kept);
    return new NetworkResponse(callerBody, init, response.url || target.url.href, response.redirected);
  }

  /** Whether the repository's policy stores a response (RFC 9111 §3), and what a hit will need. */
  #storeDecision(
    routed: Routed,
    status: number,
    response: Fields,
    requestTime: number,
    responseTime: number,
  ): StoreDecision {
    const repository = routed.repository;
    return decideStore({
      // A URL rule or the request's own expire overrides the origin: the repository's expiry rules apply.
      policy: routed.expire === undefined ? repository.policy : "expire",
      shared: this.#options.shared,
      method: routed.target.keyRequest.method,
      status,
      request: routed.target.headers,
      response,
      requestTime,
      responseTime,
      storesStatus: (code) => repository.statuses.has(code),
      ignoreNoStore: repository.ignoreNoStore,
    });
  }

  /**
   * When a stored response expires: in `"http"`, the later of its HTTP freshness and the
   * repository's `expire` (kept that long for validation and stale answers); in `"expire"`, the
   * repository's `expire`.
   */
  /** The metadata and the expiry that a stored response is kept with. */
  #kept(routed: Routed, decision: StoreDecision & { store: true }, now: number): { meta: string; expiresAt: number } {
    const meta = routed.expire === undefined ? decision.meta : { ...decision.meta, f: decision.meta.f | Flag.Override };
    return { meta: encodeMeta(meta), expiresAt: this.#expiresAt(routed, decision, now) };
  }

  #expiresAt(routed: Routed, decision: StoreDecision & { store: true }, now: number): number {
    const { repository, expire } = routed;
    if (expire !== undefined && expire !== false) {
      return expire === "never" ? now + MAX_EXPIRE : expiryAdder(expire)(now);
    }
    const retained = repository.expiresAtFrom(now);
    return repository.policy === "http" ? Math.max(decision.freshUntil, retained) : retained;
  }

  async #store(routed: Routed, shared: Shared, decision: StoreDecision & { store: true }): Promise<void> {
    const { target, repository, counters } = routed;
    let saved: boolean;
    try {
      const now = repository.now();
      const options = this.#kept(routed, decision, now);
      const url = shared.head.url;
      // The request's own URL, parsed already, needs no second parse when it has nothing to redact.
      const head = { ...shared.head, url: url === target.url.href && bare(target.url) ? url : this.#show(target, url) };
      saved = await repository.saveResponseBytes(routed.key, head, shared.bytes, options);
    } catch (error) {
      this.#failed(error instanceof PayloadHandlerError ? "payload" : "write", error, target, repository, counters);
      return;
    }
    this.#breaker?.success();
    if (!saved) return;
    this.#total.stores++;
    counters.stores++;
    if (this.#options.onEvent !== undefined) {
      const bytes = shared.bytes.byteLength;
      this.#emit({ type: "store", url: this.#show(target), repository: repository.name, key: routed.key, bytes });
    }
  }

  /**
   * Removes what an unsafe request made stale (RFC 9111 §4.4): after a non-error response, the
   * stored GET and HEAD responses for its URL and for a same-origin Location or Content-Location.
   */
  async #invalidate(target: Target, response: Response): Promise<void> {
    const urls = invalidationTargets(target.keyRequest.method, response.status, target.url, response.headers);
    if (urls.length === 0) return;
    if (!this.cache.connected) {
      try {
        await this.cache.connect();
      } catch (error) {
        this.#failed("connect", error, target, undefined, undefined);
        return;
      }
    }
    for (const url of urls) {
      let repository: AnyRepository | undefined;
      try {
        repository = this.cache.getRepositoryFromUrl(url) ?? this.#fallback;
        if (repository === undefined) continue;
        // The default repository keeps a caller's entries in a partition of its credentials: those go too.
        const partitions: (string | undefined)[] = [undefined];
        if (repository.settings instanceof HttpRepositorySettings && this.#options.credentials === "partition") {
          const pairs = credentialPairs(target.headers, url, this.#options.credentialNames);
          if (pairs.length > 0) partitions.push(await partitionOf(this.cache, pairs));
        }
        const keys: Key[] = [];
        for (const partition of partitions) {
          const request = { method: "GET", url, headers: target.headers, partition };
          const key = repository.getKeyFromRequest(request as RequestDescriptor);
          if (key !== undefined) keys.push(key);
        }
        if (keys.length > 0) await repository.deleteResponses(keys);
      } catch (error) {
        this.#failed("write", error, target, repository, undefined);
      }
    }
  }

  #network(
    target: Target,
    counters: SessionCounters | undefined,
    conditional?: readonly (readonly [string, string])[],
    detached = false,
  ): Promise<Response> {
    this.#total.network++;
    if (counters !== undefined) counters.network++;
    const fetch = this.#options.fetch ?? globalThis.fetch;
    if ((conditional === undefined || conditional.length === 0) && !detached) {
      return target.init === undefined ? fetch(target.input) : fetch(target.input, target.init);
    }
    // RFC 9111 §4.3.1: the caller's request, with the validators of the stored response.
    const headers = new Headers(target.headers);
    for (const [name, value] of conditional ?? []) headers.set(name, value);
    if (target.input instanceof Request) {
      const init: RequestInit = { headers };
      if (detached) init.signal = this.#owed.signal;
      return fetch(new Request(target.input, init));
    }
    const init: RequestInit = { ...target.init, headers };
    if (detached) init.signal = this.#owed.signal;
    return fetch(target.input, init);
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

  #hit(routed: Routed, decision: HitDecision, stale: boolean): void {
    this.#total.hits++;
    routed.counters.hits++;
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "hit", url: this.#show(target), repository: repository.name, key, stale, ...decision });
  }

  #outcome(type: "miss", routed: Routed, reason: MissReason): void;
  #outcome(type: "coalesced", routed: Routed): void;
  #outcome(type: "bypass", routed: Routed, reason: BypassReason): void;
  #outcome(type: "miss" | "coalesced" | "bypass", routed: Routed, detail?: MissReason | BypassReason): void {
    const total = this.#total;
    const counters = routed.counters;
    switch (type) {
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
    if (type === "bypass") this.#emit({ type, url, repository, reason: detail as BypassReason });
    else if (type === "miss") {
      const policy = routed.repository.policy;
      this.#emit({ type, url, repository, key: routed.key, policy, reason: detail as MissReason });
    } else this.#emit({ type, url, repository, key: routed.key });
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
    if (kind === "connect" || kind === "read" || kind === "write" || kind === "lock") this.#breaker?.failure();
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

/** What a stored entry does for a request. */
type Decision =
  | { readonly type: "answer"; readonly response: CachedResponse }
  | { readonly type: "miss"; readonly reason: MissReason }
  | Revalidate;

interface Revalidate {
  readonly type: "revalidate";
  readonly reason: RevalidateReason;
  readonly meta: Meta | undefined;
  readonly freshness: Freshness;
}

const MISS_VARY: Decision = { type: "miss", reason: "vary" };
const MISS_NO_ENTRY: Decision = { type: "miss", reason: "no-entry" };

/** The plan of a background revalidation: no read, the response stored. */
const STORE_ONLY: CachePlan = Object.freeze({ read: "none", onMiss: "network", store: true, coalesce: false });

/**
 * A stored response's age and lifetime now. In `"http"` (with metadata), RFC 9111's (§4.2.1,
 * §4.2.3); in `"expire"`, or for an entry stored without metadata, the repository's expiry is the
 * lifetime, and only the response's validators and stale-while-revalidate carry over.
 */
/**
 * The current age of a stored response (RFC 9111 §4.2.3): its corrected initial age plus the time
 * it has been stored, from the metadata; without metadata, the time since it was stored.
 */
function effectiveMode(mode: FetchCacheMode, directives: RequestDirectives): FetchCacheMode {
  if (directives === NO_REQUEST_DIRECTIVES) return mode;
  if (directives.noStore && mode !== "only-if-cached") return "no-store";
  if (directives.onlyIfCached && (mode === "default" || mode === "force-cache")) return "only-if-cached";
  return mode;
}

/** The stored header pairs of an entry, or `undefined` when it has none or they do not parse. */
function storedPairs(entry: CacheEntry): Pairs | undefined {
  if (entry.headers === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(entry.headers);
    return Array.isArray(parsed) ? (parsed as Pairs) : undefined;
  } catch {
    return undefined;
  }
}

/** Requests that may share one network request: the same key and the same header fields. */
function headerSignature(headers: Headers | undefined): string {
  if (headers === undefined) return "";
  let signature = "";
  for (const [name, value] of headers) signature += `${name}:${value}\n`;
  return signature;
}

/** Whether a URL has nothing that {@link redactUrl} redacts: no userinfo, query or fragment. */
function bare(url: URL): boolean {
  return url.username === "" && url.password === "" && url.search.length <= 1 && url.hash.length <= 1;
}

/** Drops a response's body without reading it. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to keep from a body no one reads.
  }
}

/**
 * Checks a stored payload through its repository's payload handler before it answers, and gives the
 * JSON value where the handler parsed one, so that the caller's `json()` does not parse it again.
 * Bytes need no check; a handler without a synchronous form is trusted.
 */
function checkPayload(repository: AnyRepository, entry: CacheEntry): { value: unknown } | undefined {
  const handler = repository.settings.payloadHandler;
  if (handler instanceof BytesPayloadHandler || handler.deserializeSync === undefined) return undefined;
  if (typeof entry.payload !== "string" && !(entry.payload instanceof Uint8Array)) return undefined; // the response says
  const value: unknown = handler.deserializeSync(entry.payload);
  return handler instanceof JSONPayloadHandler ? { value } : undefined;
}

/** The repository and key of a request (a HEAD keyed as the GET of its URL), or why it has no key. */
function routedTo(
  target: Target,
  repository: AnyRepository,
  counters: SessionCounters,
  expire: Routed["expire"],
  bodyDigest: string | undefined,
  partition: string | undefined,
): Routed | Unrouted {
  const base = target.keyRequest;
  const head = base.method === "HEAD";
  const keyRequest = {
    method: head ? "GET" : base.method,
    url: target.url,
    headers: base.headers,
    bodyDigest,
    partition,
  };
  const key = repository.getKeyFromRequest(keyRequest);
  if (key === undefined) return unrouted("no-key", repository, counters);
  return { target, repository, key, counters, head, expire, usable: true };
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

/** Whether a response is a stream of server-sent events (`text/event-stream`). */
function isEventStream(headers: Fields): boolean {
  return headers.get("content-type")?.trim().toLowerCase().startsWith("text/event-stream") === true;
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
