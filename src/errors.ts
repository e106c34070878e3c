import { credentialPairs, REDACTED, redactRequest, redactResponse, redactUrl } from "./credentials.js";

/**
 * The base of every error that requestful throws on purpose.
 *
 * Catch this to handle any requestful failure; check the subclasses for the specific cause.
 */
export class RequestfulError extends Error {
  override name = "RequestfulError";
}

/** A cache or repository could not do what was asked: a backend failed, a name cannot be stored, a store is closed. */
export class CacheError extends RequestfulError {
  override name = "CacheError";
}

/**
 * A backend's driver package is not installed (`ioredis`, `pg`). A configuration error, not an
 * outage: it does not go away by itself, so it is reported when the cache is made, and a caller
 * should not fail open for it. The message says what to install.
 */
export class MissingDriverError extends CacheError {
  override name = "MissingDriverError";
  /** The package to install. */
  readonly packageName: string;

  constructor(message: string, options: ErrorOptions & { packageName: string }) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.packageName = options.packageName;
  }
}

/** Options of a {@link CacheTimeoutError}. */
export interface CacheTimeoutErrorOptions extends ErrorOptions {
  /**
   * The deadline that passed, in milliseconds.
   * @example 1_000
   */
  timeout: number;
}

/**
 * A backend did not answer within its deadline (the `timeout` option of the Redis and PostgreSQL
 * caches). Unlike a refused connection, it may mean a server that hangs: another call made at once
 * would most likely wait a whole deadline too, so a caller whose read timed out can skip its write.
 */
export class CacheTimeoutError extends CacheError {
  override name = "CacheTimeoutError";
  /** The deadline that passed, in milliseconds. */
  readonly timeout: number;

  constructor(message: string, options: CacheTimeoutErrorOptions) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.timeout = options.timeout;
  }
}

/** A payload handler was given something it cannot serialize or deserialize. */
export class PayloadHandlerError extends RequestfulError {
  override name = "PayloadHandlerError";
}

/** Options of a {@link RequestError}. */
export interface RequestErrorOptions extends ErrorOptions {
  /**
   * The request that failed. The error keeps a redacted copy of it (see {@link RequestError.request}).
   * @default undefined
   * @example new Request("https://api.example.com/v1/tracks/42")
   */
  request?: Request | undefined;
}

/**
 * A request could not get a usable response: the network failed, or retries ran out. `cause` holds
 * the last failure (a network error, or the {@link ResponseError} of the last answer).
 */
export class RequestError extends RequestfulError {
  override name = "RequestError";
  /**
   * The request that failed, as it was sent, but safe to print: its URL and headers have their
   * credentials replaced by `REDACTED` (see `redactUrl` and `redactHeaders`), and it has no body.
   */
  readonly request: Request | undefined;

  constructor(message: string, options: RequestErrorOptions = {}) {
    super(scrub(message, options.request), options.cause === undefined ? {} : { cause: options.cause });
    this.request = options.request === undefined ? undefined : redactRequest(options.request);
  }
}

/** Options of a {@link ResponseError}. */
export interface ResponseErrorOptions extends ErrorOptions {
  /**
   * The request that got the response. The error keeps a redacted copy of it.
   * @default undefined
   * @example new Request("https://api.example.com/v1/tracks/42")
   */
  request?: Request | undefined;
  /**
   * The response, with its body unread so that it can still be read.
   * @example new Response("not found", { status: 404 })
   */
  response: Response;
  /**
   * The text of the response body, as far as it could be read.
   * @example "not found"
   */
  body: string;
}

/**
 * A response that cannot be used: a client error (4xx), a refusal of fresh credentials, a rate limit
 * that asks for a longer wait than allowed. Carries the status, the response and its body text.
 */
export class ResponseError extends RequestfulError {
  override name = "ResponseError";
  /**
   * The request that got the response, safe to print: its URL and headers have their credentials
   * replaced by `REDACTED`, and it has no body.
   */
  readonly request: Request | undefined;
  /**
   * The response; its body is left unread, so `await error.response.json()` works. A response that
   * carries credentials (`Set-Cookie`) is a copy with them replaced by `REDACTED`.
   */
  readonly response: Response;
  /** The HTTP status of the response. */
  readonly status: number;
  /** The text of the response body. */
  readonly body: string;

  constructor(message: string, options: ResponseErrorOptions) {
    super(scrub(message, options.request), options.cause === undefined ? {} : { cause: options.cause });
    this.request = options.request === undefined ? undefined : redactRequest(options.request);
    this.response = redactResponse(options.response);
    this.status = options.response.status;
    this.body = options.body;
  }
}

/** The shortest credential value that a message is searched for (shorter ones would match too much). */
const SHORTEST_SECRET = 6;

/**
 * A message with the credentials of its request taken out, in case it quotes them: the request's
 * URL as written, and the values of its credential headers and parameters.
 */
function scrub(message: string, request: Request | undefined): string {
  if (request === undefined) return message;
  let text = message.replaceAll(request.url, redactUrl(request.url));
  for (const [, value] of credentialPairs(request.headers, new URL(request.url))) {
    const parts = [value, ...value.split(" ").slice(1)];
    for (const part of parts) if (part.length >= SHORTEST_SECRET) text = text.replaceAll(part, REDACTED);
  }
  return text;
}
