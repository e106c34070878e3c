/**
 * A stored entry against a request: its current age, its freshness under the repository's
 * policy, and whether it answers the request as a fresh hit. One definition for the session and for
 * the request handler's direct cache reads, so that both answer alike.
 */
import type { CacheEntry } from "../../cache/entry.js";
import type { Fields } from "./fields.js";
import { decodeMeta, Flag, type Meta } from "./meta.js";
import type { RequestDirectives } from "./request.js";
import type { CachePolicy } from "./response.js";
import { varyMatches } from "./vary.js";
import { type Freshness, judge } from "./verdict.js";

/** The stored response's current age (RFC 9111 §4.2.3), in milliseconds. */
export function currentAge(entry: CacheEntry, meta: Meta | undefined, now: number): number {
  return meta === undefined ? Math.max(0, now - entry.cachedAt) : Math.max(0, meta.a + now - meta.r);
}

/**
 * The freshness of a stored entry: in the `"http"` policy, what the origin's headers said (unless
 * a URL rule or the request's own expiry overrode them); otherwise the entry's own expiry.
 */
export function storedFreshness(
  policy: CachePolicy,
  entry: CacheEntry,
  meta: Meta | undefined,
  now: number,
): Freshness {
  if (policy === "http" && meta !== undefined && (meta.f & Flag.Override) === 0) {
    return { age: currentAge(entry, meta, now), lifetime: meta.l, flags: meta.f, staleWhileRevalidate: meta.w };
  }
  return {
    age: currentAge(entry, undefined, now),
    lifetime: entry.expiresAt - entry.cachedAt,
    flags: (meta?.f ?? 0) & Flag.Validator,
    staleWhileRevalidate: meta?.w ?? 0,
  };
}

/**
 * Whether a stored entry answers a request as a fresh hit, with nothing to validate and nothing
 * served stale: the request's Vary fields match those it was stored for (RFC 9111 §4.1), and it is
 * fresh for the request's directives (§4.2, §5.2.1).
 */
export function answersFresh(
  policy: CachePolicy,
  entry: CacheEntry,
  request: Fields | undefined,
  directives: RequestDirectives,
  now: number,
): boolean {
  const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
  if (meta?.y != null && !varyMatches(meta.y, request)) return false;
  return judge(storedFreshness(policy, entry, meta, now), directives).type === "fresh";
}
