import type { CacheEntry } from "../cache/entry.js";
import type { CachePolicy } from "../cache/repository.js";
import { answer, type Revalidate, storedPairs } from "./answer.js";
import type { CachedResponse } from "./cached-response.js";
import type { SessionContext } from "./context.js";
import {
  conditionalFields,
  Flag,
  type Freshness,
  type Meta,
  mergeNotModified,
  type Pairs,
  pairFields,
  selects,
  storedFreshness,
} from "./http/index.js";
import { network } from "./network.js";
import type { CachePlan } from "./policy.js";
import type { Routed } from "./route.js";
import { afterNetwork, BACKGROUND, kept, storeDecision } from "./store.js";

/** What a revalidation leaves to the session: to fetch the response whole, joining identical misses or alone. */
export class FetchWhole {
  constructor(readonly coalesce: boolean) {}
}

const JOINING = new FetchWhole(true);
const ALONE = new FetchWhole(false);

/**
 * Validates a stored response with the origin (RFC 9111 §4.3): a conditional request when it has
 * a validator; a 304 freshens it (§4.3.4) and it answers as a 200; any other response answers and
 * is stored as a miss's would be; a network error or a 5xx answers with the stale response where
 * stale-if-error allows (RFC 5861 §4). Without a validator or a stale answer to fall back on, or
 * for a 304 that does not select the stored response, it leaves the request to a miss.
 */
export async function revalidate(
  context: SessionContext,
  routed: Routed,
  plan: CachePlan,
  entry: CacheEntry,
  decision: Revalidate,
): Promise<Response | FetchWhole> {
  const stored = storedPairs(entry);
  const fields = stored === undefined ? [] : conditionalFields(pairFields(stored));
  const staleIfError = allowsStaleIfError(context, routed.repository.policy, decision.meta, decision.freshness);
  if (fields.length === 0 && !staleIfError) return JOINING;
  const { target, repository } = routed;
  // RFC 5861 §4: the stored response, answered stale in place of an error.
  const staleAnswer = (): Response | undefined => {
    const held = { entry, meta: decision.meta, freshness: decision.freshness };
    const stale = answer(context, routed, held, "stale", "stale-if-error");
    return stale.type === "answer" ? stale.response : undefined;
  };
  const requestTime = repository.now();
  let response: Response;
  try {
    response = await network(context, target, routed.counters, fields);
  } catch (error) {
    const stale = staleIfError && !target.signal?.aborted ? staleAnswer() : undefined;
    if (stale !== undefined) return stale;
    throw error;
  }
  if (response.status === 304 && stored !== undefined && fields.length > 0) {
    await discard(response);
    if (selects(pairFields(stored), response.headers)) {
      const refreshed = await refresh(context, routed, entry, stored, response.headers, requestTime);
      if (refreshed !== undefined) return refreshed;
    }
    // A 304 that does not select the stored response (§4.3.4): fetch it whole.
    return ALONE;
  }
  if (staleIfError && response.status >= 500) {
    const stale = staleAnswer();
    if (stale !== undefined) {
      await discard(response);
      return stale;
    }
  }
  context.report.outcome("miss", routed, decision.reason);
  return afterNetwork(context, routed, plan, undefined, response, requestTime);
}

/**
 * Revalidates a stale entry in the background (stale-while-revalidate, RFC 5861 §3), without the
 * caller's signal: a 304 freshens it, any other response is stored as a miss's would be. Rejects
 * with what failed, for the session to report.
 */
export async function revalidateInBackground(
  context: SessionContext,
  routed: Routed,
  entry: CacheEntry,
): Promise<void> {
  const stored = storedPairs(entry);
  const fields = stored === undefined ? [] : conditionalFields(pairFields(stored));
  const requestTime = routed.repository.now();
  const background: Routed = { ...routed, target: { ...routed.target, signal: undefined } };
  const response = await network(context, background.target, routed.counters, fields, true);
  if (response.status === 304 && stored !== undefined && fields.length > 0) {
    await discard(response);
    if (!selects(pairFields(stored), response.headers)) return;
    const merged = mergeNotModified(stored, response.headers);
    const repository = routed.repository;
    const now = repository.now();
    const decision = storeDecision(context, routed, entry.status ?? 200, pairFields(merged), requestTime, now);
    if (!decision.store) {
      await repository.deleteResponse(entry.key);
      return;
    }
    const refreshed: CacheEntry = {
      ...entry,
      headers: JSON.stringify(merged),
      cachedAt: now,
      ...kept(routed, decision, now),
    };
    await repository.saveEntries([refreshed]);
    return;
  }
  const answer = await afterNetwork(context, background, BACKGROUND, undefined, response, requestTime);
  await discard(answer);
}

/**
 * Freshens a stored response with a 304's header fields (RFC 9111 §3.2, §4.3.4), stores it with
 * new metadata and expiry, body untouched, and answers with it; `undefined` when it cannot.
 */
async function refresh(
  context: SessionContext,
  routed: Routed,
  entry: CacheEntry,
  stored: Pairs,
  notModified: Headers,
  requestTime: number,
): Promise<CachedResponse | undefined> {
  const { target, repository } = routed;
  const merged = mergeNotModified(stored, notModified);
  const now = repository.now();
  const decision = storeDecision(context, routed, entry.status ?? 200, pairFields(merged), requestTime, now);
  const refreshed: CacheEntry = { ...entry, headers: JSON.stringify(merged), cachedAt: now };
  if (decision.store) Object.assign(refreshed, kept(routed, decision, now));
  if (routed.usable && context.options.persist) {
    try {
      if (decision.store) await repository.saveEntries([refreshed]);
      else await repository.deleteResponse(entry.key);
    } catch (error) {
      context.report.failed("write", error, target, repository, routed.counters);
    }
  }
  const meta = decision.store ? decision.meta : undefined;
  const freshness = storedFreshness(repository.policy, refreshed, meta, now);
  const answered = answer(context, routed, { entry: refreshed, meta, freshness }, "revalidated", undefined);
  return answered.type === "answer" ? answered.response : undefined;
}

/** Whether a stale response may answer for an origin that fails (RFC 5861 §4, or the session's option). */
function allowsStaleIfError(
  context: SessionContext,
  policy: CachePolicy,
  meta: Meta | undefined,
  freshness: Freshness,
): boolean {
  const window = Math.max(meta?.e ?? 0, context.options.staleIfError);
  if (window <= 0) return false;
  if (policy === "http" && (freshness.flags & (Flag.MustRevalidate | Flag.NoCache)) !== 0) return false;
  return freshness.age - freshness.lifetime <= window;
}

/** Drops a response's body without reading it. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to keep from a body no one reads.
  }
}
