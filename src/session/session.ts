import { type AnyRepository, ResponseCache } from "../cache/cache.js";
// ResponseCache.create (a session given a path or URL) maps it to a backend once the factory has installed itself.
import "../cache/factory.js";
import type { CacheEntry } from "../cache/entry.js";
import { HTTP_REPOSITORY, HttpRepositorySettings } from "../cache/http-settings.js";
import { keyId } from "../cache/key.js";
import { defaultCacheLocation } from "../cache/location.js";
import type { FillTicket } from "../cache/single-flight.js";
import { DEFAULT_CREDENTIAL_PARAMS, redactUrl } from "../credentials.js";
import { CacheError, CacheTimeoutError, MissingDriverError } from "../errors.js";
import type { Key } from "../types.js";
import { decide, type FreshStored, freshComplete, notModifiedFrom, rangeFrom, respond } from "./answer.js";
import { Breaker } from "./breaker.js";
import type { SessionContext } from "./context.js";
import type { MissReason, SessionStats } from "./events.js";
import { Flight, Shared, untilAborted } from "./flight.js";
import {
  answersFresh,
  decodeMeta,
  isUnsafeMethod,
  NO_REQUEST_DIRECTIVES,
  type RequestDirectives,
  requestDirectives,
  storedFreshness,
} from "./http/index.js";
import { invalidate } from "./invalidation.js";
import { bypass, network } from "./network.js";
import { NetworkResponse } from "./network-response.js";
import type { CachedRequestInit, CachedSessionOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import { Owed } from "./owed.js";
import { type CachePlan, type FetchCacheMode, hasConditionalHeader, planRequest } from "./policy.js";
import { Reader } from "./reads.js";
import { Reporter } from "./reporter.js";
import { FetchWhole, revalidate, revalidateInBackground } from "./revalidation.js";
import { RememberedRoutes, type Routed, route } from "./route.js";
import { afterNetwork } from "./store.js";
import { type Target, toTarget } from "./target.js";

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

  /** The options, the reporter, the breaker and the work owed to the store, which the parts of the session share. */
  readonly #context: SessionContext;
  readonly #flights = new Map<string, Flight>();
  readonly #readers = new Map<AnyRepository, Reader>();
  #cache: ResponseCache | undefined;
  #opening: Promise<ResponseCache> | undefined;
  #fallback: AnyRepository | undefined;
  /** Where plain GETs of URL strings were routed. */
  readonly #routes = new RememberedRoutes();
  /** Entries being revalidated in the background (stale-while-revalidate), by repository and key. */
  readonly #revalidating = new Set<string>();

  /**
   * @param options Where to cache and how; with none, every GET is cached by its URL in the SQLite
   * file `.cache/requestful.sqlite` (or where the `REQUESTFUL_CACHE` environment variable says).
   */
  constructor(options: CachedSessionOptions = {}) {
    const resolved = resolveOptions(options, defaultCacheLocation());
    const breaker =
      resolved.breaker === false
        ? undefined
        : new Breaker(resolved.breaker, (state) => this.#context.report.breakerChanged(state));
    const report = new Reporter(resolved, breaker);
    this.#context = { options: resolved, report, breaker, owed: new Owed() };
    const cache = resolved.cache;
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
        `the session's cache (${redactUrl(String(this.#context.options.cache))}) is not open yet: await session.ready() first`,
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
    this.#opening ??= ResponseCache.create(this.#context.options.cache as string | URL).then((cache) =>
      this.#adopt(cache),
    );
    return this.#opening;
  }

  /** Takes a cache into use: adds the default HTTP repository unless the session has none. */
  #adopt(cache: ResponseCache): ResponseCache {
    this.#cache = cache;
    const options = this.#context.options;
    if (!options.fallback) return cache;
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
    const { matchHeaders, methods, credentialNames } = options;
    const dropParams = credentialNames?.params ?? DEFAULT_CREDENTIAL_PARAMS;
    this.#fallback = cache.createRepository(new HttpRepositorySettings({ matchHeaders, methods, dropParams }), {
      policy: "http",
    });
    return cache;
  }

  /** A snapshot of the counters: in total, and per repository. */
  stats(): SessionStats {
    return this.#context.report.stats();
  }

  /** Sets every counter back to zero. */
  resetStats(): void {
    this.#context.report.reset();
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
    await this.#context.owed.settle();
    await this.#cache?.close();
  }

  /** `await using session = new CachedSession(...)` closes the cache at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------

  async #fetch(input: string | URL | Request, init: CachedRequestInit | undefined): Promise<Response> {
    const cache = this.#cache;
    if (init === undefined && typeof input === "string" && cache !== undefined) {
      // A plain GET of a URL string routed before: no URL to parse, no repository to find, no key to make.
      const known = this.#routes.get(this.#context, input, cache);
      if (known !== undefined) {
        this.#context.report.requested();
        return this.#fetchRouted(known.target, cache, known);
      }
    }
    const target = toTarget(input, init);
    if (target.signal?.aborted) throw target.signal.reason;
    this.#context.report.requested();
    const ready = cache ?? (await this.ready());
    const method = target.keyRequest.method;
    if (method === "GET" || method === "HEAD" || !isUnsafeMethod(method)) return this.#fetchRouted(target, ready);
    const response = await this.#fetchRouted(target, ready);
    await invalidate(this.#context, ready, this.#fallback, target, response);
    return response;
  }

  async #fetchRouted(target: Target, cache: ResponseCache, known?: Routed): Promise<Response> {
    const context = this.#context;
    let routed: Routed;
    if (known !== undefined) routed = known;
    else {
      const routing = route(context, target, cache, this.#fallback);
      const found = routing instanceof Promise ? await routing : routing;
      if (found.key === undefined) return bypass(context, target, found.bypass, found.repository, found.counters);
      routed = found;
      if (typeof target.input === "string") this.#routes.remember(context, target.input, cache, routed);
    }

    const { options, breaker } = context;
    const headers = target.headers;
    const directives = headers === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives(headers);
    const mode = effectiveMode(target.mode, directives);
    const conditional = headers !== undefined && hasConditionalHeader(headers);
    const range = headers?.get("range") ?? null;
    if (range !== null && mode === "default" && !conditional && target.keyRequest.method === "GET") {
      const stored = await this.#freshStored(routed, directives);
      const part = stored === undefined ? undefined : rangeFrom(context, routed, stored, range);
      if (part !== undefined) return part;
    }
    if (conditional && range === null && mode === "default" && options.shared) {
      const stored = await this.#freshStored(routed, directives);
      const answer = stored === undefined ? undefined : notModifiedFrom(context, routed, stored);
      if (answer !== undefined) return answer;
    }
    const { bypass: reason, plan } = planRequest({
      mode,
      persist: options.persist,
      conditional,
      range: range !== null,
    });
    if (reason !== undefined) {
      if (!plan.store && plan.onMiss === "network") {
        return bypass(context, target, reason, routed.repository, routed.counters);
      }
      context.report.outcome("bypass", routed, reason);
      if (plan.onMiss === "gateway-timeout") return gatewayTimeout(target);
      if (breaker?.blocked() === true) routed.usable = false;
      else if (!cache.connected) await this.#connect(routed);
      return this.#fromNetwork(routed, plan, undefined);
    }

    let missReason: MissReason = "no-entry";
    if (breaker !== undefined && !breaker.allow()) {
      // The cache failed again and again: skip it, without waiting for it, until the cool-down ends.
      return bypass(context, target, "circuit-open", routed.repository, routed.counters);
    }
    if (cache.connected || (await this.#connect(routed))) {
      const repository = routed.repository;
      let entry: CacheEntry | undefined;
      try {
        // In the "expire" policy the reader finds expired entries too: one the backend still holds
        // can be validated instead of fetched whole.
        entry = await (plan.read === "any"
          ? repository.getEntry(routed.key, INCLUDE_EXPIRED)
          : this.#read(repository, routed.key));
        breaker?.success();
      } catch (error) {
        // A backend that missed its deadline once is not given a second one for the write.
        if (error instanceof CacheTimeoutError) routed.usable = false;
        context.report.failed("read", error, target, repository, routed.counters);
      }
      if (entry !== undefined) {
        const decision = decide(context, routed, mode, directives, entry);
        switch (decision.type) {
          case "answer":
            return decision.response;
          case "answer-and-revalidate":
            this.#background(routed, entry);
            return decision.response;
          case "miss":
            missReason = decision.reason;
            break;
          case "revalidate": {
            if (plan.onMiss === "gateway-timeout") break;
            const revalidated = await revalidate(context, routed, plan, entry, decision);
            if (!(revalidated instanceof FetchWhole)) return revalidated;
            return this.#miss(routed, plan, revalidated.coalesce, decision.reason);
          }
          default: {
            const never: never = decision;
            throw new TypeError(`unknown decision ${String(never)}`);
          }
        }
      }
    }
    if (plan.onMiss === "gateway-timeout") {
      context.report.outcome("miss", routed, missReason);
      return gatewayTimeout(target);
    }
    return this.#miss(routed, plan, true, missReason);
  }

  /** The stored complete (200) response for a request when it is fresh and selected, else `undefined`. */
  async #freshStored(routed: Routed, directives: RequestDirectives): Promise<FreshStored | undefined> {
    if (!this.cache.connected) return undefined;
    const { target, repository } = routed;
    let entry: CacheEntry | undefined;
    try {
      entry = await this.#read(repository, routed.key);
    } catch (error) {
      this.#context.report.failed("read", error, target, repository, routed.counters);
      return undefined;
    }
    return freshComplete(routed, directives, entry);
  }

  /**
   * Revalidates a stale entry in the background (stale-while-revalidate, RFC 5861 §3): one at a
   * time per entry; failures are reported to `onError` and the events, never thrown. `close()`
   * waits for it.
   */
  #background(routed: Routed, entry: CacheEntry): void {
    const id = `${routed.repository.name}\0${keyId(routed.key)}`;
    if (this.#revalidating.has(id)) return;
    this.#revalidating.add(id);
    const { owed, report } = this.#context;
    const revalidation = revalidateInBackground(this.#context, routed, entry)
      .catch((error: unknown) => {
        // Aborted by close(): nothing went wrong.
        if (owed.aborted(error)) return;
        try {
          report.failed("revalidate", error, routed.target, routed.repository, routed.counters);
        } catch {
          // A strict session throws from failed(): a background task has no caller to throw to.
        }
      })
      .finally(() => this.#revalidating.delete(id));
    void owed.track(revalidation);
  }

  /**
   * The entry for a key, read alone or together with reads that arrive meanwhile: the live one, or
   * in the `"expire"` policy an expired one that the backend still holds too.
   */
  #read(repository: AnyRepository, key: Key): Promise<CacheEntry | undefined> {
    let reader = this.#readers.get(repository);
    if (reader === undefined) {
      reader = new Reader(repository, repository.policy === "expire");
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
      this.#context.report.failed("connect", error, routed.target, routed.repository, routed.counters);
      routed.usable = false;
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Misses: single flight in this process, and across the processes that share the store

  /** A request that found no entry: it joins an identical request in flight, or makes its own. */
  async #miss(routed: Routed, plan: CachePlan, coalesce: boolean, reason: MissReason): Promise<Response> {
    const { options, report, owed } = this.#context;
    const id =
      coalesce && plan.coalesce
        ? `${routed.repository.name}\0${keyId(routed.key)}\0${headerSignature(routed.target.headers)}`
        : undefined;
    if (id === undefined) {
      report.outcome("miss", routed, reason);
      return this.#fromNetwork(routed, plan, undefined);
    }
    const inFlight = this.#flights.get(id);
    if (inFlight !== undefined) return this.#join(inFlight, routed, plan, reason);
    const flight = new Flight();
    this.#flights.set(id, flight);
    let ticket: FillTicket | undefined;
    try {
      if (options.singleFlight === "store" && plan.store && plan.read !== "none") {
        ticket = await this.#fill(routed, plan);
        const filled = ticket?.state === "filled" ? await this.#filled(routed, ticket.entry, flight) : undefined;
        if (filled !== undefined) return filled;
      }
      report.outcome("miss", routed, reason);
      return await this.#fromNetwork(routed, plan, flight);
    } finally {
      // The flight lasts until the body is recorded and stored: a request that comes meanwhile joins it.
      const land = async () => {
        flight.settle(undefined);
        if (this.#flights.get(id) === flight) this.#flights.delete(id);
        if (ticket?.state === "fetch") await ticket.release();
      };
      if (flight.recording === undefined) await land();
      else void owed.track(flight.recording.then(land));
    }
  }

  /** Takes the key's lock across the processes that share the store, or waits for the entry another one stores. */
  async #fill(routed: Routed, plan: CachePlan): Promise<FillTicket | undefined> {
    if (!routed.usable || !this.cache.connected) return undefined;
    const { target, repository, counters } = routed;
    const directives = target.headers === undefined ? NO_REQUEST_DIRECTIVES : requestDirectives(target.headers);
    const { options, report } = this.#context;
    return this.cache.fill(repository, routed.key, {
      lease: options.singleFlightLease,
      signal: target.signal,
      // Only an entry that answers this request as a fresh hit ends the miss: the entry this
      // request found stale, or another variant of it, does not (RFC 9111 §4).
      accept: (entry) =>
        plan.read === "live" && answersFresh(repository.policy, entry, target.headers, directives, repository.now()),
      onError: (error) => report.failed("lock", error, target, repository, counters),
    });
  }

  /** Answers with the entry another process stored, and hands it to the requests of this session that wait too. */
  async #filled(routed: Routed, entry: CacheEntry, flight: Flight): Promise<Response | undefined> {
    const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
    const freshness = storedFreshness(routed.repository.policy, entry, meta, routed.repository.now());
    const hit = respond(this.#context, routed, { entry, meta, freshness }, "hit", undefined);
    if (hit === undefined) return undefined;
    this.#context.report.outcome("coalesced", routed);
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
    this.#context.report.outcome("coalesced", routed);
    return shared.response(false);
  }

  async #fromNetwork(routed: Routed, plan: CachePlan, flight: Flight | undefined): Promise<Response> {
    const requestTime = routed.repository.now();
    const response = await network(this.#context, routed.target, routed.counters);
    return afterNetwork(this.#context, routed, plan, flight, response, requestTime);
  }
}

// -----------------------------------------------------------------------------------------------

/** The cache mode of a request, with its own Cache-Control directives (`no-store`, `only-if-cached`) applied. */
function effectiveMode(mode: FetchCacheMode, directives: RequestDirectives): FetchCacheMode {
  if (directives === NO_REQUEST_DIRECTIVES) return mode;
  if (directives.noStore && mode !== "only-if-cached") return "no-store";
  if (directives.onlyIfCached && (mode === "default" || mode === "force-cache")) return "only-if-cached";
  return mode;
}

/** Requests that may share one network request: the same key and the same header fields. */
function headerSignature(headers: Headers | undefined): string {
  if (headers === undefined) return "";
  let signature = "";
  for (const [name, value] of headers) signature += `${name}:${value}\n`;
  return signature;
}

function gatewayTimeout(target: Target): Response {
  return new NetworkResponse(null, { status: 504, statusText: "Gateway Timeout" }, target.url.href);
}
