import type { AnyRepository } from "../cache/cache.js";
import type { CacheEntry } from "../cache/entry.js";
import type { CachePolicy } from "../cache/repository.js";
import { BytesPayloadHandler } from "../payload/bytes.js";
import { JSONPayloadHandler } from "../payload/json.js";
import { StringPayloadHandler } from "../payload/string.js";
import type { Key } from "../types.js";
import { CachedResponse, type CachedResponseInit } from "./cached-response.js";
import type { SessionContext } from "./context.js";
import type { MissReason } from "./events.js";
import {
  byteRange,
  type CacheStatusKind,
  cacheStatus,
  contentRange,
  currentAge,
  decodeMeta,
  Flag,
  type Freshness,
  judge,
  type Meta,
  NOT_MODIFIED_FIELDS,
  notModified,
  type Pairs,
  pairFields,
  parseHttpDate,
  type RequestDirectives,
  type RevalidateReason,
  storedFreshness,
  varyMatches,
} from "./http/index.js";
import { NetworkResponse } from "./network-response.js";
import type { FetchCacheMode } from "./policy.js";
import type { Routed } from "./route.js";

/** What a stored entry does for a request. */
export type Decision =
  | { readonly type: "answer"; readonly response: CachedResponse }
  /** A stale answer (stale-while-revalidate, RFC 5861 §3): the entry is to be revalidated in the background. */
  | { readonly type: "answer-and-revalidate"; readonly response: CachedResponse }
  | { readonly type: "miss"; readonly reason: MissReason }
  | Revalidate;

export interface Revalidate {
  readonly type: "revalidate";
  readonly reason: RevalidateReason;
  readonly meta: Meta | undefined;
  readonly freshness: Freshness;
}

/** A stored entry with its metadata and its freshness now: what an answer is made from. */
export interface Stored {
  readonly entry: CacheEntry;
  readonly meta: Meta | undefined;
  readonly freshness: Freshness;
}

/** A stored complete response that is fresh and selected for a request. */
export interface FreshStored extends Stored {
  readonly now: number;
}

const MISS_VARY: Decision = { type: "miss", reason: "vary" };
const MISS_NO_ENTRY: Decision = { type: "miss", reason: "no-entry" };

/**
 * What a stored entry does for a request (RFC 9111 §4): it answers (fresh, or stale where that is
 * allowed), it is not selected (Vary), or it must be validated first. Synchronous: a hit costs no
 * more than reading the entry's metadata.
 */
export function decide(
  context: SessionContext,
  routed: Routed,
  mode: FetchCacheMode,
  directives: RequestDirectives,
  entry: CacheEntry,
): Decision {
  const repository = routed.repository;
  const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
  // RFC 9111 §4.1: a response is used only for requests whose Vary fields match.
  if (meta?.y != null && !varyMatches(meta.y, routed.target.headers)) return MISS_VARY;
  const now = repository.now();
  const policy: CachePolicy = repository.policy;
  const freshness = storedFreshness(policy, entry, meta, now);
  const stored: Stored = { entry, meta, freshness };
  if (mode === "force-cache" || mode === "only-if-cached") {
    // Fetch standard: these modes take any stored response, stale or not.
    const fresh = freshness.lifetime > freshness.age;
    return answer(context, routed, stored, fresh ? "hit" : "stale", fresh ? undefined : mode);
  }
  // RFC 8246 §2.1: a fresh immutable response needs no validation on a reload.
  const immutable = (freshness.flags & Flag.Immutable) !== 0 && freshness.lifetime > freshness.age;
  const verdict = judge(freshness, directives, mode === "no-cache" && !immutable);
  switch (verdict.type) {
    case "fresh":
      return answer(context, routed, stored, "hit", undefined);
    case "stale": {
      const revalidate = verdict.reason === "stale-while-revalidate";
      return answer(context, routed, stored, "stale", verdict.reason, revalidate);
    }
    case "revalidate":
      return { type: "revalidate", reason: verdict.reason, meta, freshness };
    default: {
      const never: never = verdict;
      throw new TypeError(`unknown verdict ${String(never)}`);
    }
  }
}

/**
 * An answer from a stored entry, with its Age and Cache-Status, counted and reported; `revalidate`
 * when the entry is to be revalidated in the background too.
 */
export function answer(
  context: SessionContext,
  routed: Routed,
  stored: Stored,
  status: CacheStatusKind,
  reason: string | undefined,
  revalidate = false,
): Decision {
  const response = respond(context, routed, stored, status, reason);
  if (response === undefined) return MISS_NO_ENTRY;
  context.report.hit(routed, { policy: routed.repository.policy, status, reason }, status === "stale");
  return { type: revalidate ? "answer-and-revalidate" : "answer", response };
}

/** The response for a stored entry, or `undefined`, reported, when the entry cannot make one. */
export function respond(
  context: SessionContext,
  routed: Routed,
  stored: Stored,
  status: CacheStatusKind,
  reason: string | undefined,
): CachedResponse | undefined {
  const { target, repository } = routed;
  const { entry, meta, freshness } = stored;
  const now = repository.now();
  // RFC 9111 §5.1: the Age of the answer is the response's current age (§4.2.3).
  const age = currentAge(entry, meta, now);
  const headers: [string, string][] = [
    ["age", String(Math.floor(age / 1000))],
    ["cache-status", cacheStatus(status, freshness.lifetime - freshness.age, reason)],
  ];
  try {
    const contentType = entry.headers === null ? contentTypeOf(repository) : null;
    // The stored URL has its credentials redacted: the caller gets the URL it asked for.
    const url = target.url.href;
    let shown =
      entry.url !== null && entry.url !== url && entry.url === context.report.show(target) ? { ...entry, url } : entry;
    if (routed.head) shown = { ...shown, key: ["HEAD", ...shown.key.slice(1)] as Key };
    const init: CachedResponseInit = { url, contentType, now, headers, stale: status === "stale" };
    let parsedJson: { value: unknown } | undefined;
    try {
      parsedJson = checkPayload(repository, entry);
    } catch (error) {
      // A payload that no longer deserializes is no answer: a miss, whose response replaces it.
      context.report.failed("payload", error, target, repository, routed.counters);
      return undefined;
    }
    return new CachedResponse(shown, parsedJson === undefined ? init : { ...init, parsedJson });
  } catch (error) {
    context.report.failed("entry", error, target, repository, routed.counters);
    return undefined;
  }
}

/** A stored entry when it is a complete (200) response, fresh and selected for the request, else `undefined`. */
export function freshComplete(
  routed: Routed,
  directives: RequestDirectives,
  entry: CacheEntry | undefined,
): FreshStored | undefined {
  if (entry === undefined || (entry.status ?? 200) !== 200) return undefined;
  const { target, repository } = routed;
  const meta = entry.meta === null ? undefined : decodeMeta(entry.meta);
  if (meta?.y != null && !varyMatches(meta.y, target.headers)) return undefined;
  const now = repository.now();
  const freshness = storedFreshness(repository.policy, entry, meta, now);
  if (judge(freshness, directives).type !== "fresh") return undefined;
  return { entry, meta, freshness, now };
}

/**
 * A byte range answered from a fresh stored complete response (RFC 9111 §3.4, RFC 9110 §14.2):
 * a 206 with the part and the stored header fields, or `undefined` to leave the request to the
 * origin (a range the cache does not serve).
 */
export function rangeFrom(
  context: SessionContext,
  routed: Routed,
  stored: FreshStored,
  range: string,
): Response | undefined {
  const { entry, meta, freshness, now } = stored;
  const { target, repository } = routed;
  const bytes = typeof entry.payload === "string" ? new TextEncoder().encode(entry.payload) : entry.payload;
  const part = byteRange(range, bytes.byteLength);
  if (part === undefined) return undefined;
  const age = currentAge(entry, meta, now);
  const headers: [string, string][] = [
    ["content-range", contentRange(part, bytes.byteLength)],
    ["content-length", String(part.end - part.start + 1)],
    ["age", String(Math.floor(age / 1000))],
    ["cache-status", cacheStatus("hit", freshness.lifetime - freshness.age, undefined)],
  ];
  const partial: CacheEntry = { ...entry, status: 206, payload: bytes.slice(part.start, part.end + 1) };
  let response: CachedResponse;
  try {
    response = new CachedResponse(partial, { url: target.url.href, now, headers, stale: false });
  } catch (error) {
    context.report.failed("entry", error, target, repository, routed.counters);
    return undefined;
  }
  context.report.hit(routed, { policy: repository.policy, status: "hit", reason: "range" }, false);
  return response;
}

/**
 * A shared cache's answer to a client's own conditional request (RFC 9111 §4.3.2): a 304 from a
 * fresh stored response that satisfies it, or `undefined` to pass the request on untouched.
 */
export function notModifiedFrom(context: SessionContext, routed: Routed, stored: FreshStored): Response | undefined {
  const headers = routed.target.headers;
  if (headers === undefined) return undefined;
  const pairs = storedPairs(stored.entry);
  if (pairs === undefined) return undefined;
  const fields = pairFields(pairs);
  if (!notModified(headers, fields, (value) => parseHttpDate(value))) return undefined;
  const { meta, freshness, now, entry } = stored;
  const answer = new Headers();
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = fields.get(name);
    if (value !== null) answer.set(name, value);
  }
  const age = currentAge(entry, meta, now);
  answer.set("age", String(Math.floor(age / 1000)));
  answer.set("cache-status", cacheStatus("hit", freshness.lifetime - freshness.age, undefined));
  context.report.hit(routed, { policy: routed.repository.policy, status: "hit", reason: "not-modified" }, false);
  const init = { status: 304, statusText: "Not Modified", headers: answer };
  return new NetworkResponse(null, init, routed.target.url.href);
}

/** The stored header pairs of an entry, or `undefined` when it has none or they do not parse. */
export function storedPairs(entry: CacheEntry): Pairs | undefined {
  if (entry.headers === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(entry.headers);
    return Array.isArray(parsed) ? (parsed as Pairs) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a stored payload through its repository's payload handler before it answers, and gives the
 * JSON value where the handler parsed one, so that the caller's `json()` does not parse it again.
 * Bytes need no check; a handler without a synchronous form is trusted.
 */
function checkPayload(repository: AnyRepository, entry: CacheEntry): { value: unknown } | undefined {
  const handler = repository.settings.payloadHandler;
  if (handler instanceof BytesPayloadHandler || handler.deserializeSync === undefined) return undefined;
  if (typeof entry.payload !== "string" && !(entry.payload instanceof Uint8Array)) return undefined; // the response says
  const value: unknown = handler.deserializeSync(entry.payload);
  return handler instanceof JSONPayloadHandler ? { value } : undefined;
}

/** The Content-Type of an entry saved as a pair, which has no stored headers, from its payload handler. */
function contentTypeOf(repository: AnyRepository): string | null {
  const handler = repository.settings.payloadHandler;
  if (handler instanceof JSONPayloadHandler) return "application/json";
  if (handler instanceof StringPayloadHandler) return "text/plain;charset=UTF-8";
  return null;
}
