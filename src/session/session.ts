import type { AnyRepository, ResponseCache } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import { keyId } from "../cache/key.js";
import type { FillTicket } from "../cache/single-flight.js";
import { CacheError, PayloadHandlerError, RequestfulError } from "../errors.js";
import { JSONPayloadHandler } from "../payload/json.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { Key } from "../types.js";
import { readBody } from "./body.js";
import { CachedResponse } from "./cached-response.js";
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
  /** The cache that holds the responses. */
  readonly cache: ResponseCache;
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

  constructor(options: CachedSessionOptions) {
    this.#options = resolveOptions(options);
    this.cache = this.#options.cache;
    this.fetch = (input, init) => this.#fetch(input, init);
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
  close(): Promise<void> {
    return this.cache.close();
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
    const routed = this.#route(target);
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
      if (!this.cache.connected) await this.#connect(routed);
      return this.#fromNetwork(routed, plan, undefined);
    }

    if (this.cache.connected || (await this.#connect(routed))) {
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
   * Finds the repository and the key of a request, or why it has none: no repository, no key, a
   * router or settings that threw, or credentials that the session does not cache.
   */
  #route(target: Target): Routed | Unrouted {
    let repository: AnyRepository | undefined;
    let key: Key | undefined;
    try {
      repository = this.cache.getRepositoryFromUrl(target.url);
      if (repository !== undefined) key = repository.getKeyFromRequest(target.keyRequest);
    } catch (error) {
      const counters = repository === undefined ? undefined : this.#countersOf(repository);
      this.#failed("route", error, target, repository, counters);
      return { key: undefined, bypass: "error", repository, counters };
    }
    if (repository === undefined) return { key: undefined, bypass: "no-repository", repository, counters: undefined };
    const counters = this.#countersOf(repository);
    if (key === undefined) return { key, bypass: "no-key", repository, counters };
    const headers = target.headers;
    if (headers !== undefined && !this.#options.cacheCredentialed && isCredentialed(headers)) {
      return { key: undefined, bypass: "credentials", repository, counters };
    }
    return { target, repository, key, counters, usable: true };
  }

  /** The response for a stored entry, or `undefined`, reported, when the entry cannot make one. */
  #respond(routed: Routed, entry: CacheEntry): CachedResponse | undefined {
    const { target, repository } = routed;
    try {
      const contentType = entry.headers === null ? contentTypeOf(repository) : null;
      return new CachedResponse(entry, { url: target.url.href, contentType, now: repository.now() });
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
    const flight = new Flight();
    this.#flights.set(id, flight);
    let ticket: FillTicket | undefined;
    try {
      if (this.#options.singleFlight === "store" && plan.store) {
        ticket = await this.#fill(routed);
        const filled = ticket?.state === "filled" ? await this.#filled(routed, ticket.entry, flight) : undefined;
        if (filled !== undefined) return filled;
      }
      this.#outcome("miss", routed);
      return await this.#fromNetwork(routed, plan, flight);
    } finally {
      flight.settle(undefined);
      if (this.#flights.get(id) === flight) this.#flights.delete(id);
      if (ticket?.state === "fetch") await ticket.release();
    }
  }

  /** Takes the key's lock across the processes that share the store, or waits for the entry another one stores. */
  async #fill(routed: Routed): Promise<FillTicket | undefined> {
    if (!routed.usable || !this.cache.connected) return undefined;
    const { target, repository, counters } = routed;
    return this.cache.fill(repository, routed.key, {
      lease: this.#options.singleFlightLease,
      signal: target.signal,
      onError: (error) => this.#failed("lock", error, target, repository, counters),
    });
  }

  /** Answers with the entry another process stored, and hands it to the requests of this session that wait too. */
  async #filled(routed: Routed, entry: CacheEntry, flight: Flight): Promise<Response | undefined> {
    const hit = this.#respond(routed, entry);
    if (hit === undefined) return undefined;
    this.#outcome("coalesced", routed);
    if (flight.waiters > 0) {
      const bytes = new Uint8Array(await hit.clone().arrayBuffer());
      flight.settle(new Shared(hit, bytes, routed.target.url.href));
    }
    return hit;
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
    const store = plan.store && routed.usable;
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
      saved = await repository.saveResponseBytes(target.keyRequest, shared.head, shared.bytes);
    } catch (error) {
      this.#failed(error instanceof PayloadHandlerError ? "payload" : "write", error, target, repository, counters);
      return;
    }
    if (!saved) return;
    this.#total.stores++;
    counters.stores++;
    if (this.#options.onEvent !== undefined) {
      const bytes = shared.bytes.byteLength;
      this.#emit({ type: "store", url: target.url.href, repository: repository.name, key: routed.key, bytes });
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
      this.#emit({ type: "bypass", url: target.url.href, repository: repository?.name, reason });
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
    const url = routed.target.url.href;
    const repository = routed.repository.name;
    if (type === "hit") this.#emit({ type, url, repository, key: routed.key, stale: detail === true });
    else if (type === "bypass") this.#emit({ type, url, repository, reason: detail as BypassReason });
    else this.#emit({ type, url, repository, key: routed.key });
  }

  #notStored(routed: Routed, reason: NotStoredReason): void {
    if (this.#options.onEvent === undefined) return;
    const { target, repository, key } = routed;
    this.#emit({ type: "not-stored", url: target.url.href, repository: repository.name, key, reason });
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
    const context: CacheErrorContext = { kind, url: target.url.href, repository: repository?.name };
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

function isCredentialed(headers: Headers): boolean {
  return headers.has("authorization") || headers.has("cookie");
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
