import { describeValue } from "../describe.js";
import type { ResponseError } from "../errors.js";
import type { Authoriser } from "./authoriser.js";
import type { Clock } from "./clock.js";
import { retryDelay } from "./retry-after.js";
import type { Timer } from "./timer.js";

/**
 * What a request handler does after a status handler has looked at a response:
 *
 * - `"retry"`: send the request again (after whatever wait the status handler arranged).
 * - `"backoff"`: a failure that the retry timer may retry: wait for it and send again, or, when it is
 *   used up, reject with a `RequestError` whose `cause` is a `ResponseError` for this response.
 * - `"accept"`: the response is the answer: its payload is returned.
 *
 * To fail, a status handler throws (usually `context.error(...)`).
 */
export type StatusAction = "retry" | "backoff" | "accept";

/** What a status handler gets to decide with: one response to one request, and the handler's tools. */
export interface StatusContext {
  /**
   * The request as it was sent, credentials included (an authoriser's `refresh` compares them). Its
   * body, if any, has been read. An error made from it (`context.error`, or a `ResponseError` or
   * `RequestError` given it) keeps a redacted copy, and its message is cleared of the credentials.
   */
  readonly request: Request;
  /** The response. Its body is unread (`body` holds its text). */
  readonly response: Response;
  /** The text of the response body. */
  readonly body: string;
  /** Which send of this request got the response: 1 for the first. */
  readonly attempt: number;
  /**
   * Whether a failure of this request may be retried: its method is one of the handler's
   * `retryMethods` and its body can be sent again.
   */
  readonly retryable: boolean;
  /**
   * Why a failure of this request is not retried, when it is not: `"a POST request is not retried
   * (see retryMethods)"`, or `"its body is an async iterable, which the first send consumed"`.
   */
  readonly whyNotRetryable: string | undefined;
  /** The authoriser of the request handler, if it has one. */
  readonly authoriser: Authoriser | undefined;
  /** The timer that paces the handler's requests, if it has one. */
  readonly waitTimer: Timer | undefined;
  /** This request's own retry timer, if the handler has one. */
  readonly retryTimer: Timer | undefined;
  /** The handler's clock. */
  readonly clock: Clock;
  /** The request's abort signal, to pass on to any wait. */
  readonly signal: AbortSignal | undefined;
  /** Room for status handlers to keep what they need across the sends of this one request. */
  readonly state: Map<unknown, unknown>;
  /**
   * Slows the pace of all requests: increases the wait timer, unless it was increased already since
   * this request was sent (so that a burst of parallel answers slows the pace once, not once each).
   * Resolves to whether it was increased.
   */
  slowDown(): boolean;
  /** Sends no request of the handler, this one included, before `instant` (epoch milliseconds). */
  holdUntil(instant: number): void;
  /** A `ResponseError` for this response, with `message` after a description of the exchange. */
  error(message: string, options?: ErrorOptions): ResponseError;
}

/**
 * Decides what to do with responses of some statuses. A request handler looks up the handler for each
 * response's status; the first handler in its list that names a status takes it.
 *
 * @example
 * // A 404 answers with its own body instead of failing.
 * const notFound: StatusHandler = { statuses: [404], handle: async () => "accept" };
 * const handler = RequestHandler.create({ responseHandlers: [notFound] });
 */
export interface StatusHandler {
  /** The statuses this handler takes. */
  readonly statuses: readonly number[];
  /** Decides what to do with the response; throws to fail the request. */
  handle(context: StatusContext): Promise<StatusAction>;
}

/** All statuses from `from` to `to`, both included. */
export function statusRange(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * 401 Unauthorized: asks the authoriser for fresh credentials once per request, and sends the request
 * again. A second 401, an authoriser with nothing fresher to offer, or no authoriser at all is a
 * `ResponseError`.
 */
export class UnauthorisedStatusHandler implements StatusHandler {
  readonly statuses: readonly number[] = [401];

  async handle(context: StatusContext): Promise<StatusAction> {
    const { authoriser, state } = context;
    if (authoriser === undefined) throw context.error("and there is no authoriser to ask for credentials");
    if (state.has(this)) throw context.error("again, with credentials that the authoriser had just refreshed");
    state.set(this, true);
    if (!(await authoriser.refresh(context.request))) {
      throw context.error("and the authoriser has no fresh credentials to offer");
    }
    return "retry";
  }
}

/** Options of a {@link RateLimitStatusHandler}. */
export interface RateLimitStatusHandlerOptions {
  /**
   * The longest wait, in milliseconds, that a response may ask for; a longer one is a
   * `ResponseError` that says how long the server asked for.
   * @default the wait timer's ceiling (`waitTimer.final`), or 60_000 without a wait timer
   * @example { maxWait: 5 * 60_000 }
   */
  maxWait?: number;
  /**
   * How many 429 answers in a row one request may get before it fails with a `ResponseError`.
   * @default 10
   * @example { maxRetries: 3 }
   */
  maxRetries?: number;
}

/** The ceiling of rate limit waits when there is neither a `maxWait` nor a wait timer. */
export const DEFAULT_MAX_WAIT = 60_000;

/**
 * 429 Too Many Requests: slows the pace of all requests (increases the wait timer), then waits as the
 * response says (`Retry-After` in seconds or as an HTTP date, `RateLimit-Reset`, `RateLimit`'s `t`,
 * `X-RateLimit-Reset`) and sends again. While it waits, no other request of the handler is sent. A
 * response that does not say how long to wait is left to the retry timer. A wait longer than the
 * ceiling is a `ResponseError`.
 */
export class RateLimitStatusHandler implements StatusHandler {
  readonly statuses: readonly number[] = [429];
  /** The longest wait allowed, or `undefined` for the wait timer's ceiling. */
  readonly maxWait: number | undefined;
  /** How many 429 answers in a row one request may get. */
  readonly maxRetries: number;

  constructor(options: RateLimitStatusHandlerOptions = {}) {
    const { maxWait, maxRetries = 10 } = options;
    if (maxWait !== undefined && (typeof maxWait !== "number" || Number.isNaN(maxWait) || maxWait < 0)) {
      throw new RangeError(`maxWait must be a number of milliseconds, 0 or more, got ${describeValue(maxWait)}`);
    }
    if (typeof maxRetries !== "number" || !Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new RangeError(`maxRetries must be a whole number, 0 or more, got ${describeValue(maxRetries)}`);
    }
    this.maxWait = maxWait;
    this.maxRetries = maxRetries;
  }

  async handle(context: StatusContext): Promise<StatusAction> {
    context.slowDown();
    const answers = ((context.state.get(this) as number | undefined) ?? 0) + 1;
    context.state.set(this, answers);
    if (answers > this.maxRetries) {
      throw context.error(`${answers} times in a row; gave up after ${this.maxRetries} retries`);
    }
    const now = context.clock.now();
    const delay = retryDelay(context.response.headers, now);
    if (delay === undefined) return "backoff";
    const ceiling = this.maxWait ?? context.waitTimer?.final ?? DEFAULT_MAX_WAIT;
    if (delay.ms > ceiling) {
      throw context.error(
        `and asked to wait ${formatWait(delay.ms)} (${delay.source})${until(now + delay.ms)}: ` +
          `longer than the ceiling of ${formatWait(ceiling)}`,
      );
    }
    context.holdUntil(now + delay.ms);
    return "retry";
  }
}

/** Other 4xx client errors: a `ResponseError` with the status, the response and its body text. */
export class ClientErrorStatusHandler implements StatusHandler {
  readonly statuses: readonly number[] = statusRange(400, 499);

  async handle(context: StatusContext): Promise<StatusAction> {
    throw context.error("");
  }
}

/**
 * 5xx server errors: left to the retry timer when the request may be retried (see `retryMethods`; a
 * body that cannot be sent again, such as a stream, is never retried); otherwise a `ResponseError`
 * that says why it was not retried.
 */
export class ServerErrorStatusHandler implements StatusHandler {
  readonly statuses: readonly number[] = statusRange(500, 599);

  async handle(context: StatusContext): Promise<StatusAction> {
    if (context.retryable) return "backoff";
    const why = context.whyNotRetryable ?? `a ${context.request.method} request is not retried (see retryMethods)`;
    throw context.error(`and ${why}`);
  }
}

/**
 * The status handlers that a request handler uses unless told otherwise, in order: 401, 429, other
 * 4xx, 5xx.
 */
export function defaultStatusHandlers(): StatusHandler[] {
  return [
    new UnauthorisedStatusHandler(),
    new RateLimitStatusHandler(),
    new ClientErrorStatusHandler(),
    new ServerErrorStatusHandler(),
  ];
}

/** ", until 2030-01-01T12:00:00.000Z" for a message, or nothing for an instant no date can hold. */
function until(instant: number): string {
  const date = new Date(instant);
  return Number.isNaN(date.getTime()) ? "" : `, until ${date.toISOString()}`;
}

/** A wait for a message: "250 ms", "30 s", "2 min 5 s", "1 h 30 min". */
export function formatWait(ms: number): string {
  if (ms === Number.POSITIVE_INFINITY) return "no limit";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
