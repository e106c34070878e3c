import type { AnyRepository, ResponseCache } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import { UrlRoutes } from "../cache/url-routes.js";
import type { PayloadHandler } from "../payload/handler.js";
import { cachesCredentials } from "../session/credential-rules.js";
import { answersFresh, NO_REQUEST_DIRECTIVES } from "../session/http/index.js";
import type { CredentialsMode } from "../session/options.js";
import { hasConditionalHeader } from "../session/policy.js";
import type { RequestOptions } from "./options.js";
import { decodeStored } from "./payload.js";

/** What cache reads need of their handler. */
export interface ReadParts<T> {
  readonly cache: ResponseCache;
  /** The handler's payload handler: it decodes hits, whatever the repository's payload handler is. */
  readonly payloadHandler: PayloadHandler<T>;
  readonly credentials: CredentialsMode;
  /** Whether every request gets headers of the handler's (default headers, an authoriser). */
  readonly addsHeaders: boolean;
  closed(): boolean;
  headersFor(options: RequestOptions | undefined): Promise<Headers>;
}

/**
 * Answers GET requests straight from their repository when it holds an entry that the session
 * would answer as a fresh hit (its Vary fields match, it is fresh by the repository's policy, it
 * was stored with status 200): no `Response`, no network, no pacing. Anything else (a miss, a stale
 * entry, a request whose own Cache-Control or Pragma speaks, a failure) is `send` through the
 * session, which decides by the same rules and reports cache failures.
 */
export class CacheReads<T> {
  readonly #parts: ReadParts<T>;
  /** Where plain GETs of a URL string were found: their repository and key ({@link UrlRoutes}). */
  readonly #routes = new UrlRoutes<{ repository: AnyRepository; key: unknown }>();

  constructor(parts: ReadParts<T>) {
    this.#parts = parts;
  }

  /** The answer for a plain GET of a URL string whose route is remembered, or `undefined` if it is not. */
  remembered(href: string, send: () => Promise<T | undefined>): Promise<T | undefined> | undefined {
    const { cache } = this.#parts;
    const route = this.#routes.get(href, cache);
    if (route === undefined || this.#parts.closed() || !cache.connected) return undefined;
    return this.#fromEntry(route.repository, route.key, undefined, send);
  }

  /** The answer for a GET: from its repository on a hit, otherwise `send()`. */
  read(
    url: URL,
    init: RequestOptions | undefined,
    send: () => Promise<T | undefined>,
    href?: string,
  ): Promise<T | undefined> {
    const { cache } = this.#parts;
    if (this.#parts.closed() || !cache.connected) return send();
    let repository: AnyRepository | undefined;
    let key: unknown;
    try {
      repository = cache.getRepositoryFromUrl(url);
      if (repository === undefined) return send();
      if (this.#parts.addsHeaders || init?.headers !== undefined) {
        return this.#readWithHeaders(repository, url, init, send);
      }
      key = repository.getKeyFromRequest({ method: "GET", url });
    } catch {
      return send();
    }
    if (key === undefined) return send();
    // Shared by every read of the URL from now on: frozen, it is checked and made an id of once.
    if (href !== undefined && init === undefined)
      this.#routes.set(href, cache, { repository, key: Object.freeze(key) });
    return this.#fromEntry(repository, key, undefined, send);
  }

  /**
   * The payload of an entry that answers the request as a fresh hit, decoded by the handler's
   * payload handler; anything else, or a failure, is `send()` (the session meets the same failure,
   * and reports it).
   */
  #fromEntry(
    repository: AnyRepository,
    key: unknown,
    headers: Headers | undefined,
    send: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let found: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      // At once where the backend can read without waiting: a hit then costs one promise, not three.
      found = repository.payloadEntryNow(key as never);
    } catch {
      return send();
    }
    if (found instanceof Promise) return found.then((entry) => this.#answer(repository, entry, headers, send), send);
    try {
      const answer = this.#answer(repository, found, headers, send);
      return answer instanceof Promise ? answer : Promise.resolve(answer);
    } catch (error) {
      return Promise.reject(error); // as the promise of a read would
    }
  }

  /** The decoded payload of an entry that answers as a fresh hit, or `send()`. */
  #answer(
    repository: AnyRepository,
    entry: CacheEntry | undefined,
    headers: Headers | undefined,
    send: () => Promise<T | undefined>,
  ): T | Promise<T | undefined> {
    if (entry === undefined || (entry.status !== null && entry.status !== 200)) return send();
    if (!answersFresh(repository.policy, entry, headers, NO_REQUEST_DIRECTIVES, repository.now())) return send();
    let value: T | Promise<T>;
    try {
      value = decodeStored(this.#parts.payloadHandler, entry.payload);
    } catch {
      return send();
    }
    return value instanceof Promise ? value.catch(send) : value;
  }

  /** `read` for a request with headers, which may carry credentials or ask not to read the cache. */
  async #readWithHeaders(
    repository: AnyRepository,
    url: URL,
    init: RequestOptions | undefined,
    send: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let key: unknown;
    let headers: Headers;
    try {
      headers = await this.#parts.headersFor(init);
      const request = { method: "GET", url, headers };
      // A request's own Cache-Control or Pragma, a conditional or a range: the session decides.
      const readable =
        !hasConditionalHeader(headers) &&
        !headers.has("range") &&
        !headers.has("cache-control") &&
        !headers.has("pragma") &&
        cachesCredentials(this.#parts.credentials, repository, request);
      key = readable ? repository.getKeyFromRequest(request) : undefined;
    } catch {
      return send(); // the session meets the same failure, and reports it
    }
    return key === undefined ? send() : this.#fromEntry(repository, key, headers, send);
  }
}
