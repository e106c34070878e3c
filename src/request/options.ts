import type { ResponseCache } from "../cache/cache.js";
import { describeValue } from "../describe.js";
import type { PayloadHandler } from "../payload/handler.js";
import type { CachedRequestInit, CachedSessionOptions, CredentialsMode, FetchFunction } from "../session/options.js";
import type { CachedSession } from "../session/session.js";
import type { HeadersInit } from "../types.js";
import type { Authoriser } from "./authoriser.js";
import type { Clock } from "./clock.js";
import type { RetryEvent, WaitEvent } from "./events.js";
import type { StatusHandler } from "./status.js";
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
   * A cache to answer from: requests go through a `CachedSession` over it. The repositories keep their
   * own payload handlers (which store what the origin sent); the handler decodes what it returns
   * with its own `payloadHandler`, so handlers with different payload handlers can share a cache.
   * The handler connects it (on first use, or with `connect()`) and closes it.
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
   * How requests that carry credentials (from the authoriser or the headers) are cached, as the
   * session's option of the same name: `"partition"` (apart for each set of credentials: a
   * repository must key them apart or declare its settings `public`), `"bypass"` (not at all) or
   * `"share"` (as if they carried none: one set of credentials used throughout).
   * @default "partition"
   * @example { credentials: "share" }
   */
  credentials?: CredentialsMode;
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
  /**
   * Called, synchronously, each time a request is about to be sent again: with why (the status, or
   * the network error), which send failed, and how long the handler waits before the next one. A
   * hook that throws fails the request. The URL in the event is redacted.
   * @default none
   * @example { onRetry: (event) => console.warn(`retry ${event.attempt + 1} of ${event.method} ${event.url} in ${event.delay} ms: ${event.message}`) }
   */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Called, synchronously, each time the handler is about to wait before a send: for the pace of the
   * wait timer (`"pace"`), for a wait a status handler asked for, such as a 429's `Retry-After`
   * (`"hold"`), or for the retry timer's backoff (`"backoff"`), with the delay in milliseconds. A
   * hook that throws fails the request. The URL in the event is redacted.
   * @default none
   * @example { onWait: (event) => event.delay > 10_000 && console.warn(`waiting ${event.delay} ms (${event.reason}) before ${event.method} ${event.url}`) }
   */
  onWait?: (event: WaitEvent) => void;
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

/** The options `RequestHandler.create` takes. */
const CREATE_OPTIONS = [
  "cache",
  "payloadHandler",
  "responseHandlers",
  "waitTimer",
  "retryTimer",
  "authoriser",
  "headers",
  "fetch",
  "concurrency",
  "retryMethods",
  "credentials",
  "sessionOptions",
  "clock",
  "onRetry",
  "onWait",
] as const satisfies readonly (keyof RequestHandlerOptions)[];

/** The options the `RequestHandler` constructor takes. */
const INIT_OPTIONS = [
  ...CREATE_OPTIONS.filter((name) => name !== "responseHandlers"),
  "statusHandlers",
  "session",
] as const satisfies readonly (keyof RequestHandlerInit)[];

/**
 * Refuses an option that `RequestHandler.create` (or the constructor, `create` false) does not take,
 * with a `TypeError` that names the valid ones: a misspelt or misplaced option would otherwise be
 * ignored without a word.
 */
export function checkOptionNames(options: object, create: boolean): void {
  const known: readonly string[] = create ? CREATE_OPTIONS : INIT_OPTIONS;
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      const what = create ? "RequestHandler.create" : "the RequestHandler constructor";
      const hint = name === "statusHandlers" && create ? ' (give "responseHandlers" to create)' : "";
      throw new TypeError(`${what} has no option "${name}"${hint}; expected one of ${known.join(", ")}`);
    }
  }
}

export function checkMethod(method: unknown): Method {
  const upper = typeof method === "string" ? method.toUpperCase() : undefined;
  if (upper === undefined || !(METHODS as readonly string[]).includes(upper)) {
    throw new TypeError(`unknown method ${describeValue(method)}: a request handler sends ${METHODS.join(", ")}`);
  }
  return upper as Method;
}

export function checkMethods(methods: unknown): ReadonlySet<string> {
  if (!Array.isArray(methods))
    throw new TypeError(`retryMethods must be a list of methods, got ${describeValue(methods)}`);
  return new Set(methods.map((method: unknown) => checkMethod(method)));
}

export function checkConcurrency(value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`concurrency must be a number, got ${describeValue(value)}`);
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 1)) {
    throw new RangeError(`concurrency must be a whole number of 1 or more, or Infinity, got ${value}`);
  }
  return value;
}

export function checkHook<E>(value: unknown, option: string): ((event: E) => void) | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${option} must be a function, got ${describeValue(value)}`);
  }
  return value as ((event: E) => void) | undefined;
}

export function checkTimer(value: unknown, option: string, fallback: () => Timer): Timer | undefined {
  if (value === null) return undefined;
  if (value === undefined) return fallback();
  if (!(value instanceof Timer)) throw new TypeError(`${option} must be a Timer or null, got ${describeValue(value)}`);
  return value;
}

export function retryTimerFactory(value: unknown, clock: Clock): (() => Timer) | undefined {
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

export function defaultWaitTimer(clock: Clock): Timer {
  return new StepCeilingTimer({ initial: 0, step: 100, final: 60_000, clock });
}

function defaultRetryTimer(clock: Clock): Timer {
  return new GeometricCountTimer({ initial: 250, count: 3, factor: 2, clock });
}

export function indexHandlers(handlers: unknown): ReadonlyMap<number, StatusHandler> {
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
