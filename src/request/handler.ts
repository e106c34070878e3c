import type { AnyRepository, ResponseCache } from "../cache/cache.js";
import { describeValue } from "../describe.js";
import { RequestError, RequestfulError, ResponseError } from "../errors.js";
import type { PayloadHandler } from "../payload/handler.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { CachedRequestInit, CachedSessionOptions, FetchFunction } from "../session/options.js";
import { hasConditionalHeader, isNullBodyStatus } from "../session/policy.js";
import { CachedSession } from "../session/session.js";
import type { HeadersInit } from "../types.js";
import type { Authoriser } from "./authoriser.js";
import { type Clock, systemClock } from "./clock.js";
import { isCredentialed, keysCredentialsApart } from "./credentials.js";
import { Slots } from "./slots.js";
import { defaultStatusHandlers, type StatusAction, type StatusContext, type StatusHandler } from "./status.js";
import { GeometricCountTimer, StepCeilingTimer, Timer } from "./timer.js";

/** The methods a request handler sends. */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** A method a request handler sends. */
export type Method = (typeof METHODS)[number];

/** The methods whose failures are retried by default: the idempotent ones (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: readonly Method[] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"];

/** What a request takes besides its method and URL: fetch's init, and a JSON body. */
export interface RequestOptions extends Omit<CachedRequestInit, "method"> {
  /**
   * A value to send as a JSON body, with `Content-Type: application/json` (unless the headers give
   * one). Give `json` or `body`, not both.
   * @default undefined (no JSON body)
   * @example await handler.post(url, { json: { name: "Track 1" } })
   */
  json?: unknown;
}

/** Options of {@link RequestHandler.create}. */
export interface RequestHandlerOptions<T = string> {
  /**
   * A cache to answer from: requests go through a `CachedSession` over it, and the handler hands its
   * payload handler to every repository of the cache, so that what is cached and what is returned
   * agree. The handler connects it (on first use, or with `connect()`) and closes it.
   * @default none: every request goes to the network
   * @example { cache: SQLiteCache.connectWithPath(".cache/api", { repositoryGetter: repositoryByPathSegment(1) }) }
   */
  cache?: ResponseCache;
  /**
   * Turns response bodies into the values that requests return.
   * @default new StringPayloadHandler() (text)
   * @example { payloadHandler: new JSONPayloadHandler() }
   */
  payloadHandler?: PayloadHandler<T>;
  /**
   * Status handlers that come before the defaults (401, 429, other 4xx, 5xx): a handler given here
   * for a status replaces the default one for it.
   * @default []
   * @example { responseHandlers: [{ statuses: [404], handle: async () => "accept" }] }
   */
  responseHandlers?: readonly StatusHandler[];
  /**
   * Paces the requests that reach the network: no two are sent closer together than its value. A 429
   * answer increases it, and its ceiling (`final`) bounds how long a 429 answer may ask to wait.
   * Cache hits neither wait nor count. `null` for no pacing.
   * @default new StepCeilingTimer({ initial: 0, step: 100, final: 60_000 })
   * @example { waitTimer: new StepCeilingTimer({ initial: 50, step: 50, final: 10_000 }) }
   */
  waitTimer?: Timer | null;
  /**
   * Backs off between the retries of a failed request (5xx, network errors): each request gets its
   * own copy (a timer is cloned, a function is called), so parallel requests back off on their own.
   * A request is retried while the timer can be increased. `null` for no retries.
   * @default new GeometricCountTimer({ initial: 250, count: 3, factor: 2 }) (3 retries after 250, 500, 1000 ms)
   * @example { retryTimer: new StepCountTimer({ initial: 0, count: 5, step: 200, jitter: 0.2 }) }
   */
  retryTimer?: Timer | (() => Timer) | null;
  /**
   * Adds credentials to each network request, and refreshes them once when a request is answered 401.
   * @default none
   * @example { authoriser: new BearerAuthoriser({ token: process.env.API_TOKEN ?? "" }) }
   */
  authoriser?: Authoriser;
  /**
   * Headers for every request. A request's own headers, then the authoriser's, take precedence.
   * @default none
   * @example { headers: { accept: "application/json", "user-agent": "my-app/1.0" } }
   */
  headers?: HeadersInit;
  /**
   * The fetch that reaches the network.
   * @default globalThis.fetch
   * @example { fetch: (input, init) => fetch(input, { ...init, dispatcher: proxyAgent }) }
   */
  fetch?: FetchFunction;
  /**
   * The most requests in flight on the network at once; the others wait their turn. Cache hits do
   * not take a turn. `Infinity` for no limit.
   * @default 10
   * @example { concurrency: 4 }
   */
  concurrency?: number;
  /**
   * The methods whose failures (5xx answers, network errors) are retried. A request of another
   * method might have been carried out by the server before it failed, so by default only the
   * idempotent methods are retried. 401 and 429 answers are retried whatever the method.
   * @default ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
   * @example { retryMethods: ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"] }
   */
  retryMethods?: readonly string[];
  /**
   * Whether requests that carry credentials (an `Authorization` or `Cookie` header, from the
   * authoriser or the headers) are cached even when the repository's key does not tell credentials
   * apart. Off, such a request neither reads nor writes the cache, so that one user's response is
   * never served to another; a repository whose key includes the credentials caches them anyway.
   * Turn it on when one set of credentials is used throughout.
   * @default false
   * @example { cacheAuthorised: true }
   */
  cacheAuthorised?: boolean;
  /**
   * Options of the `CachedSession` made for the cache: `persist`, `strict`, `maxEntrySize`,
   * `onError`, `onEvent`, `logger`.
   * @default {}
   * @example { sessionOptions: { onEvent: (event) => metrics.increment(`cache.${event.type}`) } }
   */
  sessionOptions?: Omit<CachedSessionOptions, "cache" | "fetch" | "credentials">;
  /**
   * The clock that pacing and rate limit waits use, and that the default timers are given. Replace
   * it in tests to record the delays instead of waiting.
   * @default systemClock
   * @example { clock: { now: () => fakeTime, sleep: async (ms) => void delays.push(ms) } }
   */
  clock?: Clock;
}

/** Options of the {@link RequestHandler} constructor: everything `create` takes, with full control. */
export interface RequestHandlerInit<T = string> extends Omit<RequestHandlerOptions<T>, "responseHandlers"> {
  /**
   * The status handlers, all of them: a status that none takes fails the request (2xx statuses
   * aside, which return their payload).
   * @default defaultStatusHandlers()
   * @example { statusHandlers: [new UnauthorisedStatusHandler(), new ClientErrorStatusHandler()] }
   */
  statusHandlers?: readonly StatusHandler[];
  /**
   * A `CachedSession` to send through, built as you need it, instead of one over `cache`. The
   * handler uses and closes its cache. The wait timer then paces every call to the session, since the
   * handler cannot tell which of them reach the network.
   * @default a session over `cache`, if there is one
   * @example { session: new CachedSession({ cache, strict: true }) }
   */
  session?: CachedSession;
}

/** One send of a request, and what came of it. */
type Attempt<R> =
  | { readonly kind: "value"; readonly value: R }
  | { readonly kind: "status"; readonly response: Response; readonly body: string; readonly waitCounter: number }
  | { readonly kind: "failure"; readonly error: unknown };

/** Reads the value a request returns from a successful response. */
type Reader<R> = (response: Response) => Promise<R>;

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
  /** Turns response bodies into the values that requests return. */
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
  readonly cacheAuthorised: boolean;
  /** The clock of pacing and waits. */
  readonly clock: Clock;
  /** The status handler of each status. */
  readonly statusHandlers: ReadonlyMap<number, StatusHandler>;

  readonly #retryTimer: (() => Timer) | undefined;
  readonly #headers: Headers | undefined;
  /** Sends a request on: through the session, or to the network. */
  readonly #send: FetchFunction;
  readonly #slots: Slots;
  #closed = false;
  /** The earliest instant the next network request may be sent. */
  #nextSendAt = Number.NEGATIVE_INFINITY;
  /** How many repositories the cache had when the payload handler was last handed out. */
  #handedOut = -1;
  /**
   * Where plain GETs of a URL string were found: its repository and key, so that a repeated hit
   * skips parsing and routing the URL. Valid while the cache has the same repositories; settings'
   * `getKey` is taken to give the same key for the same method and URL.
   */
  readonly #routes = new Map<string, { repository: AnyRepository; key: unknown }>();
  #routesFor = -1;

  /**
   * Makes a handler with the default status handlers (401, 429, other 4xx, 5xx) after any given in
   * `responseHandlers`. With a cache, requests go through a `CachedSession` over it.
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
    const clock = init.clock ?? systemClock;
    if (typeof clock?.now !== "function" || typeof clock.sleep !== "function") {
      throw new TypeError(`clock must have now() and sleep(ms) methods, got ${describeValue(clock)}`);
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
    this.#retryTimer = retryTimerFactory(init.retryTimer, clock);
    this.concurrency = checkConcurrency(init.concurrency ?? 10);
    this.#slots = new Slots(this.concurrency);
    this.retryMethods = checkMethods(init.retryMethods ?? IDEMPOTENT_METHODS);
    if (init.cacheAuthorised !== undefined && typeof init.cacheAuthorised !== "boolean") {
      throw new TypeError(`cacheAuthorised must be true or false, got ${describeValue(init.cacheAuthorised)}`);
    }
    this.cacheAuthorised = init.cacheAuthorised ?? false;
    this.statusHandlers = indexHandlers(init.statusHandlers ?? defaultStatusHandlers());
    this.#headers = init.headers === undefined ? undefined : new Headers(init.headers);

    const fetch = init.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
    if (typeof fetch !== "function") throw new TypeError(`fetch must be a function, got ${describeValue(fetch)}`);
    const paced: FetchFunction = async (input, requestInit) => {
      await this.#pace(requestInit?.signal ?? (input instanceof Request ? input.signal : undefined));
      return fetch(input, requestInit);
    };

    if (init.session !== undefined) {
      if (!(init.session instanceof CachedSession)) {
        throw new TypeError(`session must be a CachedSession, got ${describeValue(init.session)}`);
      }
      if (init.cache !== undefined && init.cache !== init.session.cache) {
        throw new TypeError("give a cache or a session over it, not a session over another cache");
      }
      this.session = init.session;
      const session = init.session;
      this.#send = async (input, requestInit) => {
        await this.#pace(requestInit?.signal);
        return session.fetch(input, requestInit);
      };
    } else if (init.cache !== undefined) {
      // The session reaches the network through `paced`, so that cache hits are not paced.
      // It caches credentialed requests: the handler decides which may be (see cacheAuthorised).
      this.session = new CachedSession({
        ...init.sessionOptions,
        cache: init.cache,
        fetch: paced,
        credentials: "share",
      });
      const session = this.session;
      this.#send = (input, requestInit) => session.fetch(input, requestInit);
    } else {
      this.session = undefined;
      this.#send = paced;
    }
    this.cache = this.session?.cache;
    this.#handOutPayloadHandler();
  }

  /** Whether the handler is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects the cache and creates its repositories, handing each the handler's payload handler.
   * Requests do this on first use; call it to see a cache that cannot connect fail here rather than
   * have requests fall back to the network.
   */
  async connect(): Promise<this> {
    if (this.#closed) throw new RequestError("the request handler is closed");
    this.#handOutPayloadHandler();
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
    return this.#run("HEAD", toUrl(url), init, async (response) => response.headers);
  }

  #request(
    method: Method,
    url: string | URL,
    init: RequestOptions | undefined,
    content: boolean,
  ): Promise<T | undefined> {
    if (typeof url === "string" && init === undefined && method === "GET") {
      const route = this.#routes.get(url);
      if (route !== undefined && !this.#closed && this.cache?.connected && this.cache.size === this.#routesFor) {
        const send = () =>
          this.#run(method, toUrl(url), init, (response) => this.#readPayload(response, method, content));
        return route.repository
          .getResponse(route.key)
          .then((value: T | undefined) => (value === undefined ? send() : value), send);
      }
    }
    let target: URL;
    try {
      target = toUrl(url);
    } catch (error) {
      return Promise.reject(error);
    }
    const send = () => this.#run(method, target, init, (response) => this.#readPayload(response, method, content));
    if (method === "GET" && this.cache !== undefined && (init === undefined || isPlainRead(init))) {
      return this.#fromRepository(target, init, send, typeof url === "string" ? url : undefined);
    }
    return send();
  }

  /**
   * Answers a GET request straight from its repository when it holds a live entry: no `Response`, no
   * network, no pacing. Anything else (a miss, a request this cannot decide, a failure) is `send`
   * through the session, which decides the same way and reports cache failures.
   */
  #fromRepository(
    url: URL,
    init: RequestOptions | undefined,
    send: () => Promise<T | undefined>,
    href?: string,
  ): Promise<T | undefined> {
    const cache = this.cache as ResponseCache;
    if (this.#closed || !cache.connected) return send();
    let repository: AnyRepository | undefined;
    let key: unknown;
    try {
      if (cache.size !== this.#handedOut) this.#handOutPayloadHandler();
      repository = cache.getRepositoryFromUrl(url);
      if (repository === undefined) return send();
      if (this.authoriser !== undefined || this.#headers !== undefined || init?.headers !== undefined) {
        return this.#fromRepositoryWithHeaders(repository, url, init, send);
      }
      key = repository.getKeyFromRequest({ method: "GET", url });
    } catch {
      return send();
    }
    if (key === undefined) return send();
    if (href !== undefined && init === undefined) this.#remember(href, repository, key);
    return repository.getResponse(key).then((value: T | undefined) => (value === undefined ? send() : value), send);
  }

  #remember(href: string, repository: AnyRepository, key: unknown): void {
    const size = (this.cache as ResponseCache).size;
    if (size !== this.#routesFor || this.#routes.size >= 10_000) {
      this.#routes.clear();
      this.#routesFor = size;
    }
    this.#routes.set(href, { repository, key });
  }

  /** `#fromRepository` for a request with headers, which may carry credentials or ask not to read the cache. */
  async #fromRepositoryWithHeaders(
    repository: AnyRepository,
    url: URL,
    init: RequestOptions | undefined,
    send: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let value: T | undefined;
    try {
      const headers = await this.#headersFor(init);
      const request = { method: "GET", url, headers };
      const readable =
        !hasConditionalHeader(headers) &&
        !headers.has("range") &&
        (this.cacheAuthorised || !isCredentialed(headers) || keysCredentialsApart(repository, request));
      const key = readable ? repository.getKeyFromRequest(request) : undefined;
      if (key !== undefined) value = await repository.getResponse(key);
    } catch {
      value = undefined; // the session meets the same failure, and reports it
    }
    return value === undefined ? send() : value;
  }

  /** Sends a request until it gets a value or fails for good. */
  async #run<R>(method: Method, url: URL, options: RequestOptions | undefined, read: Reader<R>): Promise<R> {
    if (this.#closed) throw new RequestError(`the request handler is closed: ${method} ${url.href} was not sent`);
    if (this.cache !== undefined && this.cache.size !== this.#handedOut) this.#handOutPayloadHandler();
    const init = toFetchInit(method, options);
    const signal = init.signal ?? undefined;
    const replayable = !(init.body instanceof ReadableStream);
    const retryable = replayable && this.retryMethods.has(method);
    const retryTimer = this.#retryTimer?.();
    const state = new Map<unknown, unknown>();
    let failures = 0;
    let sent: Request;

    for (let attempt = 1; ; attempt++) {
      const headers = await this.#headersFor(options);
      const result = await this.#attempt(url, init, headers, method, read, signal);
      if (result.kind === "value") return result.value;

      let failure: unknown;
      if (result.kind === "failure") {
        const { error } = result;
        if (signal?.aborted || error instanceof RequestfulError) throw error;
        sent = describeRequest(method, url, headers);
        if (!retryable) {
          const why = replayable
            ? `a ${method} request is not retried (see retryMethods)`
            : "its body is a stream that cannot be sent again";
          throw new RequestError(`${method} ${url.href} failed: ${messageOf(error)}; ${why}`, {
            request: sent,
            cause: error,
          });
        }
        failure = error;
      } else {
        const { response, body, waitCounter } = result;
        sent = describeRequest(method, url, headers);
        const handler = this.statusHandlers.get(response.status);
        const context = this.#context(sent, response, body, attempt, retryable, retryTimer, signal, state, waitCounter);
        if (handler === undefined) throw context.error("and no status handler takes that status");
        const action: StatusAction = await handler.handle(context);
        if (action === "accept") return readAccepted(response, read, sent);
        if (!replayable) throw context.error("and its body is a stream that cannot be sent again");
        if (action === "retry") continue;
        if (action !== "backoff") {
          throw new TypeError(
            `status handler for ${response.status} returned ${describeValue(action)}; expected "retry", "backoff" or "accept"`,
          );
        }
        failure = context.error("");
      }

      failures++;
      if (retryTimer === undefined || !retryTimer.canIncrease) {
        const tries = failures === 1 ? "" : ` after ${failures} failures`;
        throw new RequestError(`${method} ${url.href} failed${tries}: ${messageOf(failure)}`, {
          request: sent,
          cause: failure,
        });
      }
      await retryTimer.wait(signal);
      retryTimer.increase();
    }
  }

  /**
   * One send: takes a turn among the requests in flight, sends, and reads what it needs while it
   * holds the turn (the value of a success, or the body text of anything else).
   */
  async #attempt<R>(
    url: URL,
    init: CachedRequestInit,
    headers: Headers,
    method: Method,
    read: Reader<R>,
    signal: AbortSignal | undefined,
  ): Promise<Attempt<R>> {
    await this.#slots.acquire(signal);
    try {
      const waitCounter = this.waitTimer?.counter ?? 0;
      const sendInit: CachedRequestInit = { ...init, headers };
      if (
        this.session !== undefined &&
        !this.cacheAuthorised &&
        isCredentialed(headers) &&
        !this.#keysApart(url, method, headers)
      ) {
        sendInit.cache = "no-store";
      }
      let response: Response;
      try {
        response = await this.#send(url, sendInit);
      } catch (error) {
        return { kind: "failure", error };
      }
      if (response.ok && !this.statusHandlers.has(response.status)) {
        try {
          return { kind: "value", value: await read(response) };
        } catch (error) {
          if (error instanceof BodyReadError) return { kind: "failure", error: error.cause };
          throw error;
        }
      }
      let body = "";
      try {
        body = await response.clone().text();
      } catch (error) {
        return { kind: "failure", error };
      }
      return { kind: "status", response, body, waitCounter };
    } finally {
      this.#slots.release();
    }
  }

  /** Whether the repository of a credentialed request keys it by its credentials (false when it has none). */
  #keysApart(url: URL, method: Method, headers: Headers): boolean {
    try {
      const repository = this.cache?.getRepositoryFromUrl(url);
      return repository !== undefined && keysCredentialsApart(repository, { method, url, headers });
    } catch {
      return false; // the session meets the same failure, and reports it
    }
  }

  #context(
    request: Request,
    response: Response,
    body: string,
    attempt: number,
    retryable: boolean,
    retryTimer: Timer | undefined,
    signal: AbortSignal | undefined,
    state: Map<unknown, unknown>,
    waitCounter: number,
  ): StatusContext {
    const waitTimer = this.waitTimer;
    return {
      request,
      response,
      body,
      attempt,
      retryable,
      authoriser: this.authoriser,
      waitTimer,
      retryTimer,
      clock: this.clock,
      signal,
      state,
      slowDown: () => waitTimer !== undefined && waitTimer.counter === waitCounter && waitTimer.increase(),
      holdUntil: (instant) => {
        if (instant > this.#nextSendAt) this.#nextSendAt = instant;
      },
      error: (message, options) => {
        const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
        const preview = body.length > 200 ? `${body.slice(0, 200)}…` : body;
        const text =
          `${request.method} ${request.url} answered ${status}${message ? ` ${message}` : ""}` +
          (preview ? `: ${preview}` : "");
        return new ResponseError(text, { ...options, request, response, body });
      },
    };
  }

  /** Waits for this request's turn in the pace of network requests (cache hits never get here). */
  async #pace(signal: AbortSignal | null | undefined): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.#nextSendAt);
    const spacing = this.waitTimer?.delay() ?? 0;
    this.#nextSendAt = at + spacing;
    if (at > now) await this.clock.sleep(at - now, signal ?? undefined);
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

  /** The payload of a successful response: read as bytes (a failure to read is a network failure), then deserialized. */
  async #readPayload(response: Response, method: Method, content: boolean): Promise<T | undefined> {
    if (method === "HEAD" || (isNullBodyStatus(response.status) && !content)) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw new BodyReadError(cause);
    }
    return this.payloadHandler.deserialize(bytes);
  }

  /** Gives every repository of the cache this handler's payload handler. */
  #handOutPayloadHandler(): void {
    const cache = this.cache;
    if (cache === undefined) return;
    for (const repository of cache.values()) repository.settings.payloadHandler = this.payloadHandler;
    this.#handedOut = cache.size;
  }
}

// -------------------------------------------------------------------------------------------------

/** A failure to read a response body, told apart from a payload handler that refuses the body. */
class BodyReadError extends Error {
  override name = "BodyReadError";
  constructor(cause: unknown) {
    super("could not read the response body", { cause });
  }
}

function checkMethod(method: unknown): Method {
  const upper = typeof method === "string" ? method.toUpperCase() : undefined;
  if (upper === undefined || !(METHODS as readonly string[]).includes(upper)) {
    throw new TypeError(`unknown method ${describeValue(method)}: a request handler sends ${METHODS.join(", ")}`);
  }
  return upper as Method;
}

function checkMethods(methods: unknown): ReadonlySet<string> {
  if (!Array.isArray(methods))
    throw new TypeError(`retryMethods must be a list of methods, got ${describeValue(methods)}`);
  return new Set(methods.map((method: unknown) => checkMethod(method)));
}

function checkConcurrency(value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`concurrency must be a number, got ${describeValue(value)}`);
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 1)) {
    throw new RangeError(`concurrency must be a whole number of 1 or more, or Infinity, got ${value}`);
  }
  return value;
}

function checkTimer(value: unknown, option: string, fallback: () => Timer): Timer | undefined {
  if (value === null) return undefined;
  if (value === undefined) return fallback();
  if (!(value instanceof Timer)) throw new TypeError(`${option} must be a Timer or null, got ${describeValue(value)}`);
  return value;
}

function retryTimerFactory(value: unknown, clock: Clock): (() => Timer) | undefined {
  if (typeof value === "function" && !(value instanceof Timer)) {
    const factory = value as () => unknown;
    return () => {
      const timer = factory();
      if (!(timer instanceof Timer))
        throw new TypeError(`the retryTimer function must return a Timer, got ${describeValue(timer)}`);
      return timer;
    };
  }
  const timer = checkTimer(value, "retryTimer", () => defaultRetryTimer(clock));
  return timer === undefined ? undefined : () => timer.clone();
}

function defaultWaitTimer(clock: Clock): Timer {
  return new StepCeilingTimer({ initial: 0, step: 100, final: 60_000, clock });
}

function defaultRetryTimer(clock: Clock): Timer {
  return new GeometricCountTimer({ initial: 250, count: 3, factor: 2, clock });
}

function indexHandlers(handlers: unknown): ReadonlyMap<number, StatusHandler> {
  if (!Array.isArray(handlers)) throw new TypeError(`status handlers must be a list, got ${describeValue(handlers)}`);
  const byStatus = new Map<number, StatusHandler>();
  for (const handler of handlers as unknown[]) {
    const { statuses, handle } = (handler ?? {}) as Partial<StatusHandler>;
    if (!Array.isArray(statuses) || typeof handle !== "function") {
      throw new TypeError(`a status handler has statuses and a handle(context) method, got ${describeValue(handler)}`);
    }
    for (const status of statuses) {
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        throw new RangeError(
          `a status handler names the status ${describeValue(status)}; statuses run from 100 to 599`,
        );
      }
      if (!byStatus.has(status)) byStatus.set(status, handler as StatusHandler);
    }
  }
  return byStatus;
}

function toUrl(url: unknown): URL {
  if (url instanceof URL) return url;
  if (typeof url === "string") {
    try {
      return new URL(url);
    } catch (cause) {
      throw new TypeError(`a request needs an absolute URL, got ${describeValue(url)}`, { cause });
    }
  }
  throw new TypeError(`a request needs an absolute URL, got ${describeValue(url)}`);
}

/** Whether a GET may be answered straight from a repository: fetch's default cache mode. */
function isPlainRead(init: RequestOptions): boolean {
  return init.cache === undefined || init.cache === "default";
}

/** The init to send, with the method set and a JSON body written out; the headers come per send. */
function toFetchInit(method: Method, options: RequestOptions | undefined): CachedRequestInit {
  if (options === undefined) return { method };
  const { json, headers: _headers, ...init } = options;
  if (json !== undefined) {
    if (init.body !== undefined && init.body !== null) throw new TypeError("give a request json or a body, not both");
    init.body = JSON.stringify(json);
  }
  return { ...init, method };
}

/** The request as a status handler or an error shows it: method, URL and headers (not the body, which was sent). */
function describeRequest(method: Method, url: URL, headers: Headers): Request {
  return new Request(url, { method, headers });
}

/** The value of a response that a status handler accepted; a body that fails to arrive is a `RequestError`. */
async function readAccepted<R>(response: Response, read: Reader<R>, request: Request): Promise<R> {
  try {
    return await read(response);
  } catch (error) {
    if (!(error instanceof BodyReadError)) throw error;
    throw new RequestError(`${request.method} ${request.url} failed: ${messageOf(error.cause)}`, {
      request,
      cause: error.cause,
    });
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
