/** Whether a stored response can answer a request (RFC 9111 §4, §4.2, §5.2.1, RFC 5861). */
import { Flag } from "./meta.js";
import type { RequestDirectives } from "./request.js";

/** A stored response's age and lifetime at the time of the request. Milliseconds. */
export interface Freshness {
  /** current_age (RFC 9111 §4.2.3). */
  readonly age: number;
  /** The freshness lifetime (§4.2.1). */
  readonly lifetime: number;
  /** {@link Flag} bits that apply in the policy. */
  readonly flags: number;
  /** stale-while-revalidate window (RFC 5861 §3). */
  readonly staleWhileRevalidate: number;
}

/** Why a stored response is validated before it is used. */
export type RevalidateReason =
  /** It is stale (§4.2). */
  | "stale"
  /** The response said `no-cache` (§5.2.2.4). */
  | "no-cache"
  /** The request said `no-cache` or `Pragma: no-cache`, or fetch's cache mode was `no-cache` (§5.2.1.4). */
  | "request-no-cache"
  /** The request's `max-age` or `min-fresh` refuses it (§5.2.1.1, §5.2.1.3). */
  | "request-freshness";

/** What to do with a stored response that matches a request. */
export type Verdict =
  /** Fresh: it answers (§4.2). */
  | { readonly type: "fresh" }
  /** Stale, and served stale: the request allows it (`max-stale`, §5.2.1.2). */
  | { readonly type: "stale"; readonly reason: "max-stale" }
  /** Stale within `stale-while-revalidate`: it answers, and a revalidation runs in the background. */
  | { readonly type: "stale"; readonly reason: "stale-while-revalidate" }
  /** It must be validated first (§4.3). */
  | { readonly type: "revalidate"; readonly reason: RevalidateReason };

const FRESH: Verdict = { type: "fresh" };

/** Judges a stored response against a request's directives. */
export function judge(freshness: Freshness, request: RequestDirectives, forceNoCache = false): Verdict {
  const { age, lifetime, flags } = freshness;
  if (forceNoCache || request.noCache) return { type: "revalidate", reason: "request-no-cache" };
  if ((flags & Flag.NoCache) !== 0) return { type: "revalidate", reason: "no-cache" };
  const remaining = lifetime - age;
  if (remaining > 0) {
    if (request.maxAge !== undefined && age > request.maxAge)
      return { type: "revalidate", reason: "request-freshness" };
    if (request.minFresh !== undefined && remaining < request.minFresh) {
      return { type: "revalidate", reason: "request-freshness" };
    }
    return FRESH;
  }
  // Stale (§4.2.4): served only when allowed, and never under must-revalidate (§5.2.2.2).
  if ((flags & Flag.MustRevalidate) !== 0) return { type: "revalidate", reason: "stale" };
  const staleness = -remaining;
  if (request.maxStale !== undefined && staleness <= request.maxStale) {
    if (request.maxAge === undefined || age <= request.maxAge) return { type: "stale", reason: "max-stale" };
  }
  if (staleness < freshness.staleWhileRevalidate && request.maxAge === undefined && request.minFresh === undefined) {
    return { type: "stale", reason: "stale-while-revalidate" };
  }
  return { type: "revalidate", reason: "stale" };
}
