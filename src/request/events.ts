/**
 * What a request handler tells its `onRetry` and `onWait` hooks. URLs are redacted: credentials in
 * the query or user info read `REDACTED`.
 */

/** A request is about to be sent again. */
export interface RetryEvent {
  /** The method of the request. */
  readonly method: string;
  /** The URL of the request, redacted. */
  readonly url: string;
  /** The send that failed: 1 for the first. The next send is `attempt + 1`. */
  readonly attempt: number;
  /**
   * Why: `"status"` for a response that a status handler asked to retry or back off from (401 with
   * fresh credentials, 429, 5xx), `"network"` for a network failure.
   */
  readonly reason: "status" | "network";
  /** The status of the response, for `"status"`. */
  readonly status: number | undefined;
  /** What happened, for people: `"503 Service Unavailable"`, `"fetch failed (connect ECONNREFUSED …)"`. */
  readonly message: string;
  /** How long the handler waits before the next send, in milliseconds, as far as it is known now. */
  readonly delay: number;
}

/** The handler is about to wait before a send. */
export interface WaitEvent {
  /** The method of the request that waits. */
  readonly method: string;
  /** The URL of the request that waits, redacted. */
  readonly url: string;
  /**
   * The send that waits: 1 for the first. `undefined` for a wait of the pace of a request with a
   * body sent through the handler's cache, which the handler cannot tell apart from the others.
   */
  readonly attempt: number | undefined;
  /**
   * Why: `"pace"` for the spacing of the wait timer, `"hold"` for a wait that a status handler asked
   * for (a 429's `Retry-After`, `RateLimit-Reset`...), `"backoff"` for the retry timer between retries.
   */
  readonly reason: "pace" | "hold" | "backoff";
  /** How long the wait lasts, in milliseconds. */
  readonly delay: number;
}
