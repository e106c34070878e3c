export type { BreakerOptions, BreakerState, BreakerStats } from "./breaker.js";
export { CachedResponse, type CachedResponseFromInit, type CachedResponseInit } from "./cached-response.js";
export type {
  CacheErrorContext,
  CacheErrorKind,
  HitDecision,
  MissReason,
  NotStoredReason,
  SessionCounters,
  SessionEvent,
  SessionEventType,
  SessionStats,
} from "./events.js";
export type { CacheStatusKind } from "./http/cache-status.js";
export type { NotStorableReason } from "./http/response.js";
export type { RevalidateReason } from "./http/verdict.js";
export {
  type CachedRequestInit,
  type CachedSessionOptions,
  type CredentialsMode,
  DEFAULT_MAX_ENTRY_SIZE,
  type FetchFunction,
  type SessionLogger,
} from "./options.js";
export type { BypassReason, FetchCacheMode } from "./policy.js";
export { CachedSession } from "./session.js";
export { type UrlExpire, UrlRules } from "./url-rules.js";
