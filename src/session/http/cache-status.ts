/** The Cache-Status field (RFC 9211) that every cached answer carries. */

/** The cache's name in Cache-Status. */
export const CACHE_NAME = "requestful";

/** How a cached answer was made. */
export type CacheStatusKind =
  /** A stored response answered, fresh. */
  | "hit"
  /** A stored response answered, stale (max-stale, stale-while-revalidate, stale-if-error, force-cache). */
  | "stale"
  /** A stored response answered after the origin confirmed it with a 304. */
  | "revalidated";

/**
 * The Cache-Status value (RFC 9211 §2): `requestful; hit; ttl=N` for a fresh hit, `requestful;
 * hit; ttl=-N` (RFC 9211 §2.5: negative when stale) with a `detail` for a stale one, and
 * `requestful; fwd=stale; fwd-status=304` for a revalidated one. `ttl` is the remaining freshness
 * in seconds.
 */
export function cacheStatus(kind: CacheStatusKind, ttlMs: number, detail?: string): string {
  const ttl = Math.trunc(ttlMs / 1000);
  switch (kind) {
    case "hit":
      return `${CACHE_NAME}; hit; ttl=${ttl}`;
    case "stale":
      return `${CACHE_NAME}; hit; ttl=${ttl}${detail === undefined ? "" : `; detail=${detail}`}`;
    case "revalidated":
      return `${CACHE_NAME}; fwd=stale; fwd-status=304; ttl=${ttl}`;
    default: {
      const never: never = kind;
      throw new TypeError(`unknown cache status ${String(never)}`);
    }
  }
}
