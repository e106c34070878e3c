import { redactUrl } from "../credentials.js";
import { describeValue } from "../describe.js";
import { RequestError, RequestfulError, ResponseError } from "../errors.js";
import type { CachedRequestInit, FetchFunction } from "../session/options.js";
import type { Authoriser } from "./authoriser.js";
import type { Clock } from "./clock.js";
import type { RetryEvent, WaitEvent } from "./events.js";
import type { Method, RequestOptions } from "./options.js";
import type { Pacer, Waiter } from "./pace.js";
import { BodyReadError, messageOf, type Reader, readAccepted, toFetchInit, unreplayable } from "./payload.js";
import type { Slots } from "./slots.js";
import type { StatusAction, StatusContext, StatusHandler } from "./status.js";
import type { Timer } from "./timer.js";

/**
 * The request each init handed to `send` belongs to, for the waits of the pace, which happen inside
 * the session's fetch. (An `AsyncLocalStorage` would say it too, but slows every promise of the
 * process on Node 20.)
 */
const sending = new WeakMap<object, Waiter>();

/** The request a fetch given by `send` is for: known by its init, or read from what the session passes on. */
export function waiterOf(input: string | URL | Request, init: RequestInit | undefined): Waiter {
  const known = init === undefined ? undefined : sending.get(init);
  if (known !== undefined) return known;
  const method = init?.method ?? (input instanceof Request ? input.method : "GET");
  const url = input instanceof Request ? input.url : input;
  return { method: method.toUpperCase(), url: redactUrl(url), attempt: undefined };
}

/** What the retry loop needs of its handler. */
export interface LoopParts {
  readonly clock: Clock;
  readonly slots: Slots;
  readonly pacer: Pacer;
  readonly statusHandlers: ReadonlyMap<number, StatusHandler>;
  readonly retryMethods: ReadonlySet<string>;
  readonly retryTimer: (() => Timer) | undefined;
  readonly waitTimer: Timer | undefined;
  readonly authoriser: Authoriser | undefined;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly onWait: ((event: WaitEvent) => void) | undefined;
  /** Sends a request on: through the session, or to the network. */
  readonly send: FetchFunction;
  /** Whether a send with these headers must leave the cache alone (credentials the cache may not keep). */
  noStore(url: URL, method: Method, headers: Headers): boolean;
  headersFor(options: RequestOptions | undefined): Promise<Headers>;
  closed(): boolean;
}

/** One send of a request, and what came of it. */
type Attempt<R> =
  | { readonly kind: "value"; readonly value: R }
  | { readonly kind: "status"; readonly response: Response; readonly body: string; readonly waitCounter: number }
  | { readonly kind: "failure"; readonly error: unknown };

/**
 * Sends requests until they get a value or fail for good: takes a turn among the requests in
 * flight, lets the status handlers decide on each answer, and backs off between retries.
 */
export class RetryLoop {
  readonly #parts: LoopParts;

  constructor(parts: LoopParts) {
    this.#parts = parts;
  }

  /** Sends a request until it gets a value or fails for good. */
  async run<R>(method: Method, url: URL, options: RequestOptions | undefined, read: Reader<R>): Promise<R> {
    const parts = this.#parts;
    const shown = redactUrl(url);
    if (parts.closed()) throw new RequestError(`the request handler is closed: ${method} ${shown} was not sent`);
    const init = toFetchInit(method, options);
    const signal = init.signal ?? undefined;
    const consumed = unreplayable(init.body);
    const retryable = consumed === undefined && parts.retryMethods.has(method);
    const whyNot = retryable ? undefined : (consumed ?? `a ${method} request is not retried (see retryMethods)`);
    const retryTimer = parts.retryTimer?.();
    const state = new Map<unknown, unknown>();
    let failures = 0;
    let sent: Request;

    for (let attempt = 1; ; attempt++) {
      const waiter = { method, url: shown, attempt };
      const headers = await parts.headersFor(options);
      const result = await this.#attempt(url, init, headers, method, read, signal, waiter);
      if (result.kind === "value") return result.value;

      let failure: unknown;
      let status: number | undefined;
      if (result.kind === "failure") {
        const { error } = result;
        if (signal?.aborted || error instanceof RequestfulError) throw error;
        sent = new Request(url, { method, headers });
        if (!retryable) {
          throw new RequestError(`${method} ${shown} failed: ${messageOf(error)}; ${whyNot}`, {
            request: sent,
            cause: error,
          });
        }
        failure = error;
      } else {
        const { response, body, waitCounter } = result;
        status = response.status;
        sent = new Request(url, { method, headers });
        const handler = parts.statusHandlers.get(response.status);
        const context = this.#context(sent, response, body, attempt, whyNot, retryTimer, signal, state, waitCounter);
        if (handler === undefined) throw context.error("and no status handler takes that status");
        const action: StatusAction = await handler.handle(context);
        if (action === "accept") return readAccepted(response, read, sent);
        if (consumed !== undefined) throw context.error(`and ${consumed}: it is not sent again`);
        if (action === "retry") {
          parts.onRetry?.({
            ...waiter,
            reason: "status",
            status,
            message: statusLine(response),
            delay: parts.pacer.pending(),
          });
          continue;
        }
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
        throw new RequestError(`${method} ${shown} failed${tries}: ${messageOf(failure)}`, {
          request: sent,
          cause: failure,
        });
      }
      const delay = retryTimer.delay();
      if (parts.onRetry !== undefined) {
        const reason = status === undefined ? "network" : "status";
        const message = result.kind === "status" ? statusLine(result.response) : messageOf(failure);
        parts.onRetry({ ...waiter, reason, status, message, delay });
      }
      parts.onWait?.({ ...waiter, reason: "backoff", delay });
      await retryTimer.waitFor(delay, signal);
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
    waiter: Waiter,
  ): Promise<Attempt<R>> {
    const parts = this.#parts;
    await parts.slots.acquire(signal);
    try {
      const waitCounter = parts.waitTimer?.counter ?? 0;
      const sendInit: CachedRequestInit = { ...init, headers };
      if (parts.noStore(url, method, headers)) sendInit.cache = "no-store";
      let response: Response;
      try {
        sending.set(sendInit, waiter);
        response = await parts.send(url, sendInit);
      } catch (error) {
        return { kind: "failure", error };
      }
      if (response.ok && !parts.statusHandlers.has(response.status)) {
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
      parts.slots.release();
    }
  }

  #context(
    request: Request,
    response: Response,
    body: string,
    attempt: number,
    whyNotRetryable: string | undefined,
    retryTimer: Timer | undefined,
    signal: AbortSignal | undefined,
    state: Map<unknown, unknown>,
    waitCounter: number,
  ): StatusContext {
    const { waitTimer, pacer, clock, authoriser } = this.#parts;
    return {
      request,
      response,
      body,
      attempt,
      retryable: whyNotRetryable === undefined,
      whyNotRetryable,
      authoriser,
      waitTimer,
      retryTimer,
      clock,
      signal,
      state,
      slowDown: () => waitTimer !== undefined && waitTimer.counter === waitCounter && waitTimer.increase(),
      holdUntil: (instant) => pacer.holdUntil(instant),
      error: (message, options) => {
        const preview = body.length > 200 ? `${body.slice(0, 200)}…` : body;
        const text =
          `${request.method} ${redactUrl(request.url)} answered ${statusLine(response)}${message ? ` ${message}` : ""}` +
          (preview ? `: ${preview}` : "");
        return new ResponseError(text, { ...options, request, response, body });
      },
    };
  }
}

/** `503 Service Unavailable`, or `503` without a reason phrase. */
function statusLine(response: Response): string {
  return `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
}
