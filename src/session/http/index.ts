/**
 * The HTTP caching rules (RFC 9111, RFC 9110 §5.6, RFC 5861, RFC 9211) as pure functions over
 * message heads, stored metadata and a clock. No I/O: the session drives them.
 */
export { CACHE_NAME, type CacheStatusKind, cacheStatus } from "./cache-status.js";
export { formatHttpDate, parseHttpDate } from "./date.js";
export {
  type Directives,
  deltaSeconds,
  fieldNames,
  parseCacheControl,
  parseCdnCacheControl,
  splitList,
} from "./directives.js";
export { type Fields, type Pairs, pairFields } from "./fields.js";
export { invalidationTargets, isUnsafeMethod } from "./invalidation.js";
export { decodeMeta, encodeMeta, Flag, type Meta } from "./meta.js";
export { type ByteRange, byteRange, contentRange } from "./range.js";
export { NO_REQUEST_DIRECTIVES, type RequestDirectives, requestDirectives } from "./request.js";
export {
  ageValue,
  type CachePolicy,
  correctedInitialAge,
  decideStore,
  freshnessLifetime,
  type NotStorableReason,
  type StoreDecision,
  type StoreInput,
} from "./response.js";
export { answersFresh, currentAge, storedFreshness } from "./stored.js";
export { conditionalFields, mergeNotModified, NOT_MODIFIED_FIELDS, notModified, selects } from "./validation.js";
export { normaliseField, type VaryValues, varyMatches, varyValues } from "./vary.js";
export { type Freshness, judge, type RevalidateReason, type Verdict } from "./verdict.js";
