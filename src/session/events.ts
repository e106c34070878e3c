import type { CachePolicy } from "../cache/repository.js";
import type { Key } from "../types.js";
import type { BreakerState, BreakerStats } from "./breaker.js";
import type { CacheStatusKind } from "./http/cache-status.js";
import type { NotStorableReason } from "./http/response.js";
import type { RevalidateReason } from "./http/verdict.js";
import type { BypassReason } from "./policy.js";

/** What went wrong with the cache; every kind fails open unless the session is strict. */
export type CacheErrorKind =
  /** The cache could not connect. */
  | "connect"
  /** The repository getter or the settings' `getKey` threw. */
  | "route"
  /** The backend failed to read. */
  | "read"
  /** The lock that makes one fetch per missed key across processes failed (the request went on without it). */
  | "lock"
  /** A stored entry could not be turned into a response (corrupt status, headers or payload). */
  | "entry"
  /** The backend failed to write. */
  | "write"
  /** The payload handler refused the body (for example a body that is not JSON under a JSON handler). */
  | "payload"
  /** A background revalidation (stale-while-revalidate) failed. */
  | "revalidate";

/** Why a network response was not stored, when the request allowed storing it. */
export type NotStoredReason =
  /**
   * What the repository's policy refuses: a status it does not store (`status`), `no-store`,
   * `private` or `Authorization` in a shared cache, `must-understand`, `Vary: *`, or (in `"http"`)
   * nothing that makes the response reusable (`no-freshness`).
   */
  | NotStorableReason
  /** The body is larger than `maxEntrySize` (declared, or found while reading). */
  | "too-large"
  /** The body failed part way, or had not ended when the session closed. */
  | "incomplete"
  /** The response has no readable WHATWG body stream (a custom `fetch` returned something else). */
  | "unreadable"
  /** A stream of events (`text/event-stream`), which has no end to store. */
  | "event-stream";

interface Base {
  /** The URL of the request. */
  readonly url: string;
}

interface Routed extends Base {
  /** The name of the repository that the request belongs to. */
  readonly repository: string;
  /** The request's key in that repository. */
  readonly key: Key;
}

/** Why a request was not answered from a stored response. */
export type MissReason =
  /** No entry is stored for the key. */
  | "no-entry"
  /** The stored response varies on request fields whose values differ (RFC 9111 §4.1). */
  | "vary"
  /** The stored response had to be validated and could not be (no validator), or the origin sent a new one. */
  | RevalidateReason;

/** What decided an answer from the cache. */
export interface HitDecision {
  /** The repository's policy. */
  readonly policy: CachePolicy;
  /** `hit` (fresh), `stale` (served stale) or `revalidated` (confirmed by a 304). */
  readonly status: CacheStatusKind;
  /**
   * Why a stale response was served (`max-stale`, `stale-while-revalidate`, `stale-if-error`,
   * `force-cache`, `only-if-cached`), or why it was revalidated.
   */
  readonly reason: string | undefined;
}

/**
 * What happened to one request or one response, for your own metrics and logs. Each request gets
 * exactly one of `hit`, `miss`, `coalesced` or `bypass`; `store`, `not-stored` and `error` come on
 * top.
 */
export type SessionEvent =
  /** Answered from the cache; `stale` when the response was served stale; which rule decided. */
  | (Routed & HitDecision & { readonly type: "hit"; readonly stale: boolean })
  /** No entry answered: the request went to the network (or got a 504 under `only-if-cached`). */
  | (Routed & { readonly type: "miss"; readonly policy: CachePolicy; readonly reason: MissReason })
  /** No entry answered, and the request shared the network request of an identical one in flight. */
  | (Routed & { readonly type: "coalesced" })
  /** The cache was not read: the request went straight to the network. */
  | (Base & { readonly type: "bypass"; readonly repository: string | undefined; readonly reason: BypassReason })
  /** A network response was stored. */
  | (Routed & { readonly type: "store"; readonly bytes: number })
  /** A network response that the request allowed to store was not stored. */
  | (Routed & { readonly type: "not-stored"; readonly reason: NotStoredReason })
  /** The cache failed; the request went on without it (or threw, in a strict session). */
  /** The circuit breaker over the cache changed state: `open` skips the cache, `half-open` probes it, `closed` uses it. */
  | { readonly type: "breaker"; readonly state: BreakerState }
  | (Base & {
      readonly type: "error";
      readonly repository: string | undefined;
      readonly kind: CacheErrorKind;
      readonly error: unknown;
    });

/** The type of a {@link SessionEvent}. */
export type SessionEventType = SessionEvent["type"];

/** What a session counts, in total and per repository. */
export interface SessionCounters {
  /** Requests made through `session.fetch` (invalid input not counted). */
  requests: number;
  /** Requests answered from the cache. */
  hits: number;
  /** Requests that found no entry and made a network request of their own (or got a 504 under `only-if-cached`). */
  misses: number;
  /** Requests that found no entry and shared the network request of an identical request in flight. */
  coalesced: number;
  /** Requests that did not read the cache (no repository, no key, credentials, `no-store`, `reload`, ...). */
  bypassed: number;
  /** Network requests made. */
  network: number;
  /** Responses stored. */
  stores: number;
  /** Cache errors (each one also reaches `onError`). */
  errors: number;
}

/** A snapshot of a session's counters. */
export interface SessionStats {
  /** Every request. */
  readonly total: Readonly<SessionCounters>;
  /** The requests that a repository's settings could key, by repository name. */
  readonly repositories: Readonly<Record<string, Readonly<SessionCounters>>>;
  /** The circuit breaker over the cache, or `null` when the session has none. */
  readonly breaker: BreakerStats | null;
}

/** Where a cache error came from, as given to `onError`. */
export interface CacheErrorContext {
  readonly kind: CacheErrorKind;
  readonly url: string;
  readonly repository: string | undefined;
}

export function newCounters(): SessionCounters {
  return { requests: 0, hits: 0, misses: 0, coalesced: 0, bypassed: 0, network: 0, stores: 0, errors: 0 };
}
