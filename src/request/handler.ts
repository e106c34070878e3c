import type { ResponseCache } from "../cache/cache.js";
import { REDACTED, redactUrl } from "../credentials.js";
import { describeValue } from "../describe.js";
import { RequestError } from "../errors.js";
import type { PayloadHandler } from "../payload/handler.js";
import { StringPayloadHandler } from "../payload/string.js";
import { cachesCredentials } from "../session/credential-rules.js";
import type { CredentialsMode, FetchFunction } from "../session/options.js";
import { CachedSession } from "../session/session.js";
import type { Authoriser } from "./authoriser.js";
import { type Clock, systemClock } from "./clock.js";
import type { RetryEvent, WaitEvent } from "./events.js";
import {
  checkConcurrency,
  checkHook,
  checkMethod,
  checkMethods,
  checkOptionNames,
  checkTimer,
  defaultWaitTimer,
  IDEMPOTENT_METHODS,
  indexHandlers,
  type Method,
  type RequestHandlerInit,
  type RequestHandlerOptions,
  type RequestOptions,
  retryTimerFactory,
} from "./options.js";
import { Pacer } from "./pace.js";
import { readPayload } from "./payload.js";
import { RetryLoop, waiterOf } from "./retry.js";
import { CacheReads } from "./routing.js";
import { Slots } from "./slots.js";
import { defaultStatusHandlers, type StatusHandler } from "./status.js";
import type { Timer } from "./timer.js";

export {
  IDEMPOTENT_METHODS,
  METHODS,
  type Method,
  type RequestHandlerInit,
  type RequestHandlerOptions,
  type RequestOptions,
} from "./options.js";

/**
 * Calls an HTTP API reliably and cheaply: answers from a cache when it can, and otherwise sends the
 * request with credentials, at a steady pace, a bounded number at a time, retrying what can be
 * retried, and returns the payload in the form its payload handler gives.
 *
 * @example
 * await using handler = RequestHandler.create({ payloadHandler: new JSONPayloadHandler() });
 * const track = await handler.get("https://api.example.com/v1/tracks/42");
 */
export class RequestHandler<T = string> implements AsyncDisposable {
  /** The cache requests are answered from, if any. */
  readonly cache: ResponseCache | undefined;
  /** The session requests go through when there is a cache. */
  readonly session: CachedSession | undefined;
  /** Turns response bodies, and cached payloads, into the values that requests return. */
  readonly payloadHandler: PayloadHandler<T>;
  /** Adds credentials to requests. */
  readonly authoriser: Authoriser | undefined;
  /** Paces the requests that reach the network. */
  readonly waitTimer: Timer | undefined;
  /** The most requests in flight on the network at once. */
  readonly concurrency: number;
  /** The methods whose failures are retried. */
  readonly retryMethods: ReadonlySet<string>;
  /** Whether requests with credentials are cached even when the key does not tell them apart. */
  readonly credentials: CredentialsMode;
  /** The clock of pacing and waits. */
  readonly clock: Clock;
  /** The status handler of each status. */
  readonly statusHandlers: ReadonlyMap<number, StatusHandler>;

  readonly #headers: Headers | undefined;
  readonly #loop: RetryLoop;
  readonly #reads: CacheReads<T> | undefined;
  #closed = false;

  /**
   * Makes a handler with the default status handlers (401, 429, other 4xx, 5xx) after any given in
   * `responseHandlers`. With a cache, requests go through a `CachedSession` over it. An option it
   * does not take is a `TypeError` that names the ones it does.
   *
   * @example
   * await using handler = RequestHandler.create({
   *   cache: new MemoryCache({ repositoryGetter: repositoryByPathSegment(1) }),
   *   payloadHandler: new JSONPayloadHandler(),
   *   retryTimer: new GeometricCountTimer({ initial: 500, count: 4, factor: 2 }),
   * });
   */
  static create<T = string>(options: RequestHandlerOptions<T> = {}): RequestHandler<T> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`RequestHandler.create takes an options object, got ${describeValue(options)}`);
    }
    checkOptionNames(options, true);
    const { responseHandlers = [], ...rest } = options;
    if (!Array.isArray(responseHandlers)) {
      throw new TypeError(`responseHandlers must be a list of status handlers, got ${describeValue(responseHandlers)}`);
    }
    return new RequestHandler<T>({ ...rest, statusHandlers: [...responseHandlers, ...defaultStatusHandlers()] });
  }

  constructor(init: RequestHandlerInit<T> = {}) {
    if (typeof init !== "object" || init === null) {
      throw new TypeError(`RequestHandler takes an options object, got ${describeValue(init)}`);
    }
    checkOptionNames(init, false);
    const clock = init.clock ?? systemClock;
    if (typeof clock?.now !== "function" || typeof clock.sleep !== "function") {
      throw new TypeError(`clock must have now() and sleep(ms) methods, got ${describeValue(clock)}`);
    }
    if (clock.monotonic !== undefined && typeof clock.monotonic !== "function") {
      throw new TypeError(`clock.monotonic must be a method, got ${describeValue(clock.monotonic)}`);
    }
    this.clock = clock;
    this.payloadHandler = init.payloadHandler ?? (new StringPayloadHandler() as unknown as PayloadHandler<T>);
    if (typeof this.payloadHandler?.deserialize !== "function" || typeof this.payloadHandler.serialize !== "function") {
      throw new TypeError(`payloadHandler must be a PayloadHandler, got ${describeValue(this.payloadHandler)}`);
    }
    const authoriser = init.authoriser;
    if (
      authoriser !== undefined &&
      (typeof authoriser?.headers !== "function" || typeof authoriser.refresh !== "function")
    ) {
      throw new TypeError(`authoriser must have headers() and refresh() methods, got ${describeValue(authoriser)}`);
    }
    this.authoriser = authoriser;
    this.waitTimer = checkTimer(init.waitTimer, "waitTimer", () => defaultWaitTimer(clock));
    const retryTimer = retryTimerFactory(init.retryTimer, clock);
    this.concurrency = checkConcurrency(init.concurrency ?? 10);
    this.retryMethods = checkMethods(init.retryMethods ?? IDEMPOTENT_METHODS);
    const credentials = init.credentials ?? "partition";
    if (credentials !== "partition" && credentials !== "bypass" && credentials !== "share") {
      throw new TypeError(`credentials must be "partition", "bypass" or "share", got ${describeValue(credentials)}`);
    }
    this.credentials = credentials;
    this.statusHandlers = indexHandlers(init.statusHandlers ?? defaultStatusHandlers());
    this.#headers = init.headers === undefined ? undefined : new Headers(init.headers);
    const onRetry = checkHook<RetryEvent>(init.onRetry, "onRetry");
    const onWait = checkHook<WaitEvent>(init.onWait, "onWait");
    const pacer = new Pacer(clock, this.waitTimer, onWait);

    const fetch = init.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    if (typeof fetch !== "function") throw new TypeError(`fetch must be a function, got ${describeValue(fetch)}`);
    const paced: FetchFunction = async (input, requestInit) => {
      const signal = requestInit?.signal ?? (input instanceof Request ? input.signal : undefined);
      await pacer.pace(signal, waiterOf(input, requestInit));
      return fetch(input, requestInit);
    };

    let send: FetchFunction;
    if (init.session !== undefined) {
      if (!(init.session instanceof CachedSession)) {
        throw new TypeError(`session must be a CachedSession, got ${describeValue(init.session)}`);
      }
      if (init.cache !== undefined && init.cache !== init.session.cache) {
        throw new TypeError("give a cache or a session over it, not a session over another cache");
      }
      this.session = init.session;
      const session = init.session;
      send = async (input, requestInit) => {
        await pacer.pace(requestInit?.signal, waiterOf(input, requestInit));
        return session.fetch(input, requestInit);
      };
    } else if (init.cache !== undefined) {
      // The session reaches the network through `paced`, so that cache hits are not paced.
      this.session = new CachedSession({
        ...init.sessionOptions,
        cache: init.cache,
        fetch: paced,
        credentials: this.credentials,
      });
      const session = this.session;
      send = (input, requestInit) => session.fetch(input, requestInit);
    } else {
      this.session = undefined;
      send = paced;
    }
    this.cache = this.session?.cache;
    const cache = this.cache;

    this.#loop = new RetryLoop({
      clock,
      slots: new Slots(this.concurrency),
      pacer,
      statusHandlers: this.statusHandlers,
      retryMethods: this.retryMethods,
      retryTimer,
      waitTimer: this.waitTimer,
      authoriser,
      onRetry,
      onWait,
      send,
      noStore: (url, method, headers) => cache !== undefined && !this.#cachesCredentials(url, method, headers),
      headersFor: (options) => this.#headersFor(options),
      closed: () => this.#closed,
    });
    this.#reads =
      cache === undefined
        ? undefined
        : new CacheReads<T>({
            cache,
            payloadHandler: this.payloadHandler,
            credentials: this.credentials,
            addsHeaders: authoriser !== undefined || this.#headers !== undefined,
            closed: () => this.#closed,
            headersFor: (options) => this.#headersFor(options),
          });
  }

  /** Whether the handler is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects the cache and creates its repositories. Requests do this on first use; call it to see a
   * cache that cannot connect fail here rather than have requests fall back to the network.
   */
  async connect(): Promise<this> {
    if (this.#closed) throw new RequestError("the request handler is closed");
    await this.cache?.connect();
    return this;
  }

  /** Closes the session and its cache. Later requests fail with a `RequestError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.session?.close();
  }

  /** `await using handler = RequestHandler.create(...)` closes the handler at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  /**
   * Sends a request and resolves to its payload, as the payload handler gives it: from the cache
   * when it holds a live entry, otherwise from the network. A response without content (204, 205,
   * or any response to HEAD) resolves to `undefined`.
   *
   * Rejects with a `TypeError` for a method it does not send (before anything is sent), a
   * `ResponseError` for a response that cannot be used (see the status handlers), and a
   * `RequestError` when the network fails or the retries run out.
   *
   * @example const created = await handler.request("POST", "https://api.example.com/v1/playlists", { json: { name: "Mix" } });
   */
  async request(method: string, url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request(checkMethod(method), url, init, false);
  }

  /** Sends a GET request and resolves to its payload. A response without content gives the payload handler an empty body. */
  get(url: string | URL, init?: RequestOptions): Promise<T> {
    return this.#request("GET", url, init, true) as Promise<T>;
  }

  /** Sends a POST request and resolves to its payload (`undefined` for a response without content). */
  post(url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request("POST", url, init, false);
  }

  /** Sends a PUT request and resolves to its payload (`undefined` for a response without content). */
  put(url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request("PUT", url, init, false);
  }

  /** Sends a PATCH request and resolves to its payload (`undefined` for a response without content). */
  patch(url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request("PATCH", url, init, false);
  }

  /** Sends a DELETE request and resolves to its payload (`undefined` for a response without content). */
  delete(url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request("DELETE", url, init, false);
  }

  /** Sends an OPTIONS request and resolves to its payload (`undefined` for a response without content). */
  options(url: string | URL, init?: RequestOptions): Promise<T | undefined> {
    return this.#request("OPTIONS", url, init, false);
  }

  /** Sends a HEAD request and resolves to the response headers (a HEAD response has no payload). */
  async head(url: string | URL, init?: RequestOptions): Promise<Headers> {
    return this.#loop.run("HEAD", toUrl(url), init, async (response) => response.headers);
  }

  #request(
    method: Method,
    url: string | URL,
    init: RequestOptions | undefined,
    content: boolean,
  ): Promise<T | undefined> {
    const reads = this.#reads;
    if (reads !== undefined && typeof url === "string" && init === undefined && method === "GET") {
      const answer = reads.remembered(url, () =>
        this.#loop.run(method, toUrl(url), init, this.#reader(method, content)),
      );
      if (answer !== undefined) return answer;
    }
    let target: URL;
    try {
      target = toUrl(url);
    } catch (error) {
      return Promise.reject(error);
    }
    const send = () => this.#loop.run(method, target, init, this.#reader(method, content));
    if (method === "GET" && reads !== undefined && (init === undefined || isPlainRead(init))) {
      return reads.read(target, init, send, typeof url === "string" ? url : undefined);
    }
    return send();
  }

  /** Reads the payload of a successful response (made only when a request goes to the session or the network). */
  #reader(method: Method, content: boolean): (response: Response) => Promise<T | undefined> {
    return (response) => readPayload(this.payloadHandler, response, method, content);
  }

  /** Whether a request may use the cache as far as its credentials go (see `credentials`). */
  #cachesCredentials(url: URL, method: Method, headers: Headers): boolean {
    try {
      const repository = this.cache?.getRepositoryFromUrl(url);
      return cachesCredentials(this.credentials, repository, { method, url, headers });
    } catch {
      return false; // the session meets the same failure, and reports it
    }
  }

  /** The headers of a request: the handler's, then the authoriser's, then the request's own. */
  async #headersFor(options: RequestOptions | undefined): Promise<Headers> {
    const headers = new Headers(this.#headers);
    if (this.authoriser !== undefined) {
      for (const [name, value] of Object.entries(await this.authoriser.headers())) headers.set(name, value);
    }
    if (options?.headers !== undefined)
      for (const [name, value] of new Headers(options.headers)) headers.set(name, value);
    if (options?.json !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
    return headers;
  }
}

// -------------------------------------------------------------------------------------------------

/**
 * The URL of a request. A URL with a user name or password is refused (fetch refuses it too), with
 * the credentials redacted from the message.
 */
function toUrl(url: unknown): URL {
  let parsed: URL | undefined;
  if (url instanceof URL) parsed = url;
  else if (typeof url === "string") {
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new TypeError(`a request needs an absolute URL, got ${describeValue(redactUrl(url))}`, { cause });
    }
  }
  if (parsed === undefined) throw new TypeError(`a request needs an absolute URL, got ${describeValue(url)}`);
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      `a request URL may not hold a user name or password (${redactUrl(parsed)}); send them in an Authorization header, ` +
        `for example with a BasicAuthoriser (the URL's are shown as ${REDACTED})`,
    );
  }
  return parsed;
}

/** Whether a GET may be answered straight from a repository: fetch's default cache mode. */
function isPlainRead(init: RequestOptions): boolean {
  return init.cache === undefined || init.cache === "default";
}
