/** Storing a response (RFC 9111 §3), its age (§4.2.3) and its freshness lifetime (§4.2.1, §4.2.2). */
import type { CachePolicy } from "../../cache/repository.js";

import { parseHttpDate } from "./date.js";
import { type Directives, deltaSeconds, parseCacheControl, parseCdnCacheControl, splitList } from "./directives.js";
import type { Fields } from "./fields.js";
import { Flag, type Meta } from "./meta.js";
import { varyValues } from "./vary.js";

export type { CachePolicy };

/** Why a response is not stored. */
export type NotStorableReason =
  /** A status that the policy does not store. */
  | "status"
  /** `no-store` in the response (RFC 9111 §5.2.2.5) or in the request (§5.2.1.5). */
  | "no-store"
  /** `private` in a shared cache (§5.2.2.7). */
  | "private"
  /** A request with `Authorization` in a shared cache, without a directive that allows it (§3.5). */
  | "authorization"
  /** `must-understand` on a status the cache does not understand (§5.2.2.3). */
  | "must-understand"
  /** `Vary: *`: no later request can match it (§4.1). */
  | "vary"
  /** Nothing makes the response reusable: no explicit lifetime, no heuristic (§3). */
  | "no-freshness";

/** What the rules need to decide on storing a response. */
export interface StoreInput {
  readonly policy: CachePolicy;
  /** Whether the cache is shared (RFC 9111 §1). */
  readonly shared: boolean;
  readonly method: string;
  readonly status: number;
  readonly request: Fields | undefined;
  readonly response: Fields;
  /** When the request was sent (request_time, §4.2.3), epoch milliseconds. */
  readonly requestTime: number;
  /** When the response arrived (response_time, §4.2.3), epoch milliseconds. */
  readonly responseTime: number;
  /** In the "expire" policy, the statuses stored. */
  readonly storesStatus: (status: number) => boolean;
  /** In the "expire" policy, whether `no-store` responses are stored all the same. */
  readonly ignoreNoStore: boolean;
}

export type StoreDecision =
  | { readonly store: true; readonly meta: Meta; readonly freshUntil: number }
  | { readonly store: false; readonly reason: NotStorableReason };

/** Statuses whose semantics the cache implements, for `must-understand` (RFC 9111 §5.2.2.3). */
const UNDERSTOOD: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Statuses that are heuristically cacheable (RFC 9110 §15.1). */
const HEURISTIC: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The fraction of the time since Last-Modified taken as heuristic lifetime (RFC 9111 §4.2.2). */
export const HEURISTIC_FRACTION = 0.1;
/** The longest heuristic lifetime: one day. */
export const HEURISTIC_LIMIT = 86_400_000;

/**
 * The Age field's value in seconds (RFC 9111 §5.1): the first member of the list when it is
 * delta-seconds, else no Age at all (a value that is not digits is ignored).
 */
export function ageValue(value: string | null): number {
  if (value === null) return 0;
  return deltaSeconds(splitList(value)[0]) ?? 0;
}

/**
 * corrected_initial_age (RFC 9111 §4.2.3), in milliseconds: the larger of the apparent age (from
 * Date) and the Age field plus the time the response took.
 */
export function correctedInitialAge(response: Fields, requestTime: number, responseTime: number): number {
  const date = parseHttpDate(response.get("date"));
  // The RFC's arithmetic is in whole seconds, as Date is: a response that arrives within the second
  // its Date names has an apparent age of 0, not the part of a second the clock has run on.
  const apparent = date === undefined ? 0 : Math.max(0, Math.floor(responseTime / 1000) * 1000 - date);
  const corrected = ageValue(response.get("age")) * 1000 + Math.max(0, responseTime - requestTime);
  return Math.max(apparent, corrected);
}

/** The freshness lifetime (RFC 9111 §4.2.1) in milliseconds, and whether it is heuristic (§4.2.2). */
export function freshnessLifetime(
  status: number,
  cc: Directives,
  response: Fields,
  shared: boolean,
  responseTime: number,
): { lifetime: number; heuristic: boolean } | undefined {
  // §5.2.2.10: s-maxage, in shared caches only; a value that is not delta-seconds makes it stale.
  if (shared && cc.has("s-maxage"))
    return { lifetime: (deltaSeconds(cc.get("s-maxage")) ?? 0) * 1000, heuristic: false };
  // §5.2.2.1: max-age.
  if (cc.has("max-age")) return { lifetime: (deltaSeconds(cc.get("max-age")) ?? 0) * 1000, heuristic: false };
  // §5.3: Expires − Date; an invalid Expires means already expired.
  const expiresValue = response.get("expires");
  if (expiresValue !== null) {
    const expires = parseHttpDate(expiresValue);
    if (expires === undefined) return { lifetime: 0, heuristic: false };
    const date = parseHttpDate(response.get("date")) ?? responseTime;
    return { lifetime: Math.max(0, expires - date), heuristic: false };
  }
  // §4.2.2: heuristic freshness, for heuristically cacheable statuses or `public` responses.
  if (!HEURISTIC.has(status) && !cc.has("public")) return undefined;
  const lastModified = parseHttpDate(response.get("last-modified"));
  if (lastModified === undefined) return undefined;
  const date = parseHttpDate(response.get("date")) ?? responseTime;
  const since = date - lastModified;
  if (since <= 0) return undefined;
  return { lifetime: Math.min(Math.floor(since * HEURISTIC_FRACTION), HEURISTIC_LIMIT), heuristic: true };
}

/**
 * Decides whether a response is stored (RFC 9111 §3) and computes what a hit needs later.
 *
 * In the "http" policy: a final status, neither `no-store` (unless `must-understand` on an
 * understood status, §5.2.2.3) nor, in a shared cache, `private` (§5.2.2.7) or a request with
 * `Authorization` without `public`, `must-revalidate` or `s-maxage` (§3.5); and something that makes
 * it reusable (an explicit lifetime, a heuristically cacheable status, `public`, `private` in a
 * private cache, or a validator, §3). In the "expire" policy, the repository's statuses and
 * `no-store` (unless ignored) decide.
 */
export function decideStore(input: StoreInput): StoreDecision {
  const { policy, shared, status, request, response } = input;
  // RFC 9213 §2.1: a shared cache that honours CDN-Cache-Control uses it instead of Cache-Control.
  const cdn = shared ? parseCdnCacheControl(response.get("cdn-cache-control")) : undefined;
  const cc = cdn ?? parseCacheControl(response.get("cache-control"));
  const requestCc = request === undefined ? undefined : parseCacheControl(request.get("cache-control"));
  const noStore = cc.has("no-store") || requestCc?.has("no-store") === true;
  switch (policy) {
    case "http": {
      if (status < 200 || status === 206 || status === 304) return { store: false, reason: "status" };
      if (cc.has("must-understand")) {
        if (!UNDERSTOOD.has(status)) return { store: false, reason: "must-understand" };
        if (requestCc?.has("no-store") === true) return { store: false, reason: "no-store" };
      } else if (noStore) {
        return { store: false, reason: "no-store" };
      }
      // The qualified form (`private="field"`) is treated as unqualified: the whole response is private.
      if (shared && cc.has("private")) return { store: false, reason: "private" };
      if (
        shared &&
        request?.get("authorization") != null &&
        !cc.has("public") &&
        !cc.has("must-revalidate") &&
        !cc.has("s-maxage")
      ) {
        return { store: false, reason: "authorization" };
      }
      break;
    }
    case "expire":
      if (!input.storesStatus(status)) return { store: false, reason: "status" };
      if (noStore && !input.ignoreNoStore) return { store: false, reason: "no-store" };
      break;
    default: {
      const never: never = policy;
      throw new TypeError(`unknown cache policy ${String(never)}`);
    }
  }
  const vary = varyValues(response.get("vary"), request);
  if (vary === "*") return { store: false, reason: "vary" };

  const freshness = freshnessLifetime(status, cc, response, shared, input.responseTime);
  const validator = response.get("etag") !== null || response.get("last-modified") !== null;
  if (
    policy === "http" &&
    freshness === undefined &&
    !validator &&
    !cc.has("public") &&
    !(cc.has("private") && !shared)
  ) {
    return { store: false, reason: "no-freshness" };
  }
  const lifetime = freshness?.lifetime ?? 0;
  const age = correctedInitialAge(response, input.requestTime, input.responseTime);
  let flags = 0;
  // §5.2.2.4: the qualified form (`no-cache="field"`) is treated as unqualified.
  if (cc.has("no-cache")) flags |= Flag.NoCache;
  if (cc.has("must-revalidate") || (shared && (cc.has("proxy-revalidate") || cc.has("s-maxage")))) {
    flags |= Flag.MustRevalidate;
  }
  if (cc.has("immutable")) flags |= Flag.Immutable;
  if (validator) flags |= Flag.Validator;
  if (freshness?.heuristic === true) flags |= Flag.Heuristic;
  const meta: Meta = {
    v: 1,
    r: input.responseTime,
    a: age,
    l: lifetime,
    f: flags,
    w: (deltaSeconds(cc.get("stale-while-revalidate")) ?? 0) * 1000,
    e: (deltaSeconds(cc.get("stale-if-error")) ?? 0) * 1000,
    y: vary ?? null,
  };
  return { store: true, meta, freshUntil: input.responseTime + lifetime - age };
}
