/**
 * How long a response asks the client to wait before it sends again, from its headers: pure
 * functions of the headers and the time.
 */

/** Where a wait was read from, for messages. */
export interface RetryDelay {
  /** The wait, in milliseconds (0 or more). */
  readonly ms: number;
  /** The header that said so, with its value. */
  readonly source: string;
}

/** A number of seconds: digits, with an optional fraction. */
const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;

/** Above this, an `X-RateLimit-Reset` number is an instant in epoch seconds, not a number of seconds to wait. */
const EPOCH_SECONDS = 1e9;
/** Above this, it is an instant in epoch milliseconds. */
const EPOCH_MILLISECONDS = 1e12;

/**
 * The wait that a response asks for, from the first of these headers that it carries in a form that
 * can be read:
 *
 * 1. `Retry-After` (RFC 9110 §10.2.3): seconds, or an HTTP date.
 * 2. `RateLimit-Reset` (the IETF rate limit fields, first drafts): seconds.
 * 3. `RateLimit` (the same, later drafts): the `t` parameter, in seconds (`"default";r=0;t=30`).
 * 4. `X-RateLimit-Reset`: seconds to wait, or, for a number that large, the instant of the reset in
 *    epoch seconds (as GitHub sends it) or epoch milliseconds.
 *
 * A date or instant in the past asks for no wait. Returns `undefined` when no header says.
 */
export function retryDelay(headers: Headers, now: number): RetryDelay | undefined {
  const retryAfter = headers.get("retry-after");
  if (retryAfter !== null) {
    const seconds = SECONDS.exec(retryAfter);
    if (seconds !== null) return { ms: Number(seconds[1]) * 1000, source: `Retry-After: ${retryAfter}` };
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return { ms: Math.max(0, date - now), source: `Retry-After: ${retryAfter}` };
  }
  const reset = headers.get("ratelimit-reset");
  if (reset !== null) {
    const seconds = SECONDS.exec(reset);
    if (seconds !== null) return { ms: Number(seconds[1]) * 1000, source: `RateLimit-Reset: ${reset}` };
  }
  const rateLimit = headers.get("ratelimit");
  if (rateLimit !== null) {
    const t = /(?:^|;)\s*t\s*=\s*(\d+)\s*(?:;|,|$)/.exec(rateLimit);
    if (t !== null) return { ms: Number(t[1]) * 1000, source: `RateLimit: ${rateLimit}` };
  }
  const xReset = headers.get("x-ratelimit-reset");
  if (xReset !== null) {
    const match = SECONDS.exec(xReset);
    if (match !== null) {
      const value = Number(match[1]);
      const source = `X-RateLimit-Reset: ${xReset}`;
      if (value >= EPOCH_MILLISECONDS) return { ms: Math.max(0, value - now), source };
      if (value >= EPOCH_SECONDS) return { ms: Math.max(0, value * 1000 - now), source };
      return { ms: value * 1000, source };
    }
  }
  return undefined;
}
