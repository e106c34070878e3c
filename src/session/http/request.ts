/** Request directives (RFC 9111 §5.2.1) and `Pragma: no-cache` (§5.4). */
import { type Directives, deltaSeconds, NO_DIRECTIVES, parseCacheControl, splitList } from "./directives.js";
import type { Fields } from "./fields.js";

/** What a request asks of the cache. Durations in milliseconds. */
export interface RequestDirectives {
  /** `no-cache` (§5.2.1.4), or `Pragma: no-cache` without Cache-Control (§5.4): validate before use. */
  readonly noCache: boolean;
  /** `no-store` (§5.2.1.5): neither answered from nor stored in the cache. */
  readonly noStore: boolean;
  /** `max-age` (§5.2.1.1): the oldest response the client accepts. */
  readonly maxAge: number | undefined;
  /** `max-stale` (§5.2.1.2): how stale a response may be; `Infinity` without an argument. */
  readonly maxStale: number | undefined;
  /** `min-fresh` (§5.2.1.3): how long the response must stay fresh. */
  readonly minFresh: number | undefined;
  /** `only-if-cached` (§5.2.1.7): a stored response or a 504. */
  readonly onlyIfCached: boolean;
}

export const NO_REQUEST_DIRECTIVES: RequestDirectives = Object.freeze({
  noCache: false,
  noStore: false,
  maxAge: undefined,
  maxStale: undefined,
  minFresh: undefined,
  onlyIfCached: false,
});

/** The request's directives; a request without Cache-Control or Pragma gets the shared empty set. */
export function requestDirectives(headers: Fields | undefined): RequestDirectives {
  if (headers === undefined) return NO_REQUEST_DIRECTIVES;
  const value = headers.get("cache-control");
  const pragma = value === null ? headers.get("pragma") : null;
  if (value === null && pragma === null) return NO_REQUEST_DIRECTIVES;
  const cc: Directives = value === null ? NO_DIRECTIVES : parseCacheControl(value);
  const pragmaNoCache = pragma !== null && splitList(pragma).some((member) => member.toLowerCase() === "no-cache");
  const seconds = (name: string): number | undefined => {
    if (!cc.has(name)) return undefined;
    const delta = deltaSeconds(cc.get(name));
    return delta === undefined ? undefined : delta * 1000;
  };
  return {
    noCache: cc.has("no-cache") || pragmaNoCache,
    noStore: cc.has("no-store"),
    maxAge: seconds("max-age"),
    maxStale: cc.has("max-stale") ? (cc.get("max-stale") === null ? Infinity : seconds("max-stale")) : undefined,
    minFresh: seconds("min-fresh"),
    onlyIfCached: cc.has("only-if-cached"),
  };
}
