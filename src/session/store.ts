import { expiryAdder, MAX_EXPIRE } from "../duration.js";
import { PayloadHandlerError } from "../errors.js";
import { takeCheckedJson } from "../payload/json.js";
import type { SessionContext } from "./context.js";
import type { NotStoredReason } from "./events.js";
import { callerInit, type Flight, Shared } from "./flight.js";
import { decideStore, encodeMeta, type Fields, Flag, type StoreDecision } from "./http/index.js";
import { NetworkResponse } from "./network-response.js";
import { type CachePlan, declaredLength, readResponseFields } from "./policy.js";
import { type Recorded, Recording, recordBody } from "./recording.js";
import type { Routed } from "./route.js";

/** The plan of a background revalidation: no read, the response stored. Its body is the session's own to read. */
export const BACKGROUND: CachePlan = Object.freeze({ read: "none", onMiss: "network", store: true, coalesce: false });

/** A decision to store, with what a hit will need. */
export type Storing = StoreDecision & { store: true };

/**
 * Stores a network response when the plan allows and the repository's policy finds it storable.
 * The body is read once, within `maxEntrySize`, and the caller gets a response over the same
 * bytes; waiters of the flight get their own. A response that is not stored and that no one
 * waits for is returned as the network gave it.
 */
export async function afterNetwork(
  context: SessionContext,
  routed: Routed,
  plan: CachePlan,
  flight: Flight | undefined,
  response: Response,
  requestTime: number,
): Promise<Response> {
  const { target } = routed;
  const { options, report } = context;
  const limit = options.maxEntrySize;
  const body = response.body as { getReader?: unknown } | null;
  const readable = body === null || typeof body.getReader === "function";
  const store = plan.store && routed.usable && !routed.head;
  // The header fields, read once for the decision, the caller's response and the stored copy.
  const head = store && readable ? readResponseFields(response.headers) : undefined;
  const fields = head?.fields ?? response.headers;
  const tooLarge = (declaredLength(fields) ?? 0) > limit;
  let decision: StoreDecision | undefined;
  let reason: NotStoredReason | undefined;
  if (store) {
    if (!readable || head === undefined) reason = "unreadable";
    else {
      const now = routed.repository.now();
      decision = storeDecision(context, routed, response.status, head.fields, requestTime, now);
      if (!decision.store) reason = decision.reason;
      else if (tooLarge) reason = "too-large";
    }
  }
  // A stream of events has no end: never stored, never shared (RFC 9111 leaves it storable, but a
  // response that never completes can be neither).
  const eventStream = isEventStream(fields);
  if (store && reason === undefined && eventStream) reason = "event-stream";
  const storing = store && reason === undefined;
  const waited = flight !== undefined && flight.waiters > 0 && !eventStream;
  if (!readable || tooLarge || !(storing || waited)) {
    if (reason !== undefined) report.notStored(routed, reason);
    return response;
  }

  // Fetch resolves at the head: so does the session. The caller streams the body while it is
  // recorded; once it ends, it is handed to the waiters and stored, before the caller's stream closes.
  let storeError: unknown;
  let recording: Recording | undefined;
  const settle = async (recorded: Recorded): Promise<void> => {
    if (!recorded.complete) {
      flight?.settle(undefined); // the waiters make their own requests
      if (storing) report.notStored(routed, recorded.reason === "too-large" ? "too-large" : "incomplete");
      return;
    }
    const shared = new Shared(response, recorded.bytes, target.url.href, head?.kept);
    flight?.settle(shared);
    try {
      if (storing && decision?.store === true) await save(context, routed, shared, decision);
      else if (reason !== undefined) report.notStored(routed, reason);
    } catch (error) {
      storeError = error; // a strict session's cache error
    }
    // A JSON payload handler parsed the body to check it: the caller's json() takes that value.
    if (recording !== undefined) recording.parsedJson = takeCheckedJson(recorded.bytes);
  };
  let recorded!: () => void;
  const done = new Promise<void>((resolve) => (recorded = resolve));
  if (flight !== undefined) flight.recording = done;
  const onEnd = (result: Recorded) => settle(result).finally(recorded);
  // The caller's body: the recording, whose stream is made only if the caller streams it.
  if (response.body !== null) recording = new Recording(response.body, limit, onEnd);
  const callerBody = recording ?? recordBody(null, limit, onEnd);
  context.owed.record(recording, done, plan !== BACKGROUND);
  // A strict session rejects on a cache error: it waits for the store before it answers.
  if (options.strict && storing) {
    await done;
    if (storeError !== undefined) throw storeError;
  }
  const init = callerInit(response, head?.kept);
  return new NetworkResponse(callerBody, init, response.url || target.url.href, response.redirected);
}

/** Whether the repository's policy stores a response (RFC 9111 §3), and what a hit will need. */
export function storeDecision(
  context: SessionContext,
  routed: Routed,
  status: number,
  response: Fields,
  requestTime: number,
  responseTime: number,
): StoreDecision {
  const repository = routed.repository;
  return decideStore({
    // A URL rule or the request's own expire overrides the origin: the repository's expiry rules apply.
    policy: routed.expire === undefined ? repository.policy : "expire",
    shared: context.options.shared,
    method: routed.target.keyRequest.method,
    status,
    request: routed.target.headers,
    response,
    requestTime,
    responseTime,
    storesStatus: (code) => repository.statuses.has(code),
    ignoreNoStore: repository.ignoreNoStore,
  });
}

/** The metadata and the expiry that a stored response is kept with. */
export function kept(routed: Routed, decision: Storing, now: number): { meta: string; expiresAt: number } {
  const meta = routed.expire === undefined ? decision.meta : { ...decision.meta, f: decision.meta.f | Flag.Override };
  return { meta: encodeMeta(meta), expiresAt: expiresAt(routed, decision, now) };
}

/**
 * When a stored response expires: in `"http"`, the later of its HTTP freshness and the
 * repository's `expire` (kept that long for validation and stale answers); in `"expire"`, the
 * repository's `expire`. A URL rule or the request's own `expire` overrides both.
 */
function expiresAt(routed: Routed, decision: Storing, now: number): number {
  const { repository, expire } = routed;
  if (expire !== undefined && expire !== false) {
    return expire === "never" ? now + MAX_EXPIRE : expiryAdder(expire)(now);
  }
  const retained = repository.expiresAtFrom(now);
  return repository.policy === "http" ? Math.max(decision.freshUntil, retained) : retained;
}

/**
 * Stores a recorded response, counted and reported; a failure is reported (and thrown in a strict
 * session). Resolves once the entry can be read: where a write becomes durable after that (SQLite
 * with `synchronous: "full"` syncs its log after the commit), the rest is owed work that `close()`
 * waits for, and a strict session waits for it here.
 */
async function save(context: SessionContext, routed: Routed, shared: Shared, decision: Storing): Promise<void> {
  const { target, repository, counters } = routed;
  const report = context.report;
  let readable!: () => void;
  const visible = new Promise<void>((resolve) => (readable = resolve));
  const onVisible = () => {
    context.breaker?.success();
    report.stored(routed, shared.bytes.byteLength);
    readable();
  };
  const write = (async () => {
    try {
      const now = repository.now();
      const options = kept(routed, decision, now);
      const url = shared.head.url;
      // The request's own URL, parsed already, needs no second parse when it has nothing to redact.
      const head = {
        ...shared.head,
        url: url === target.url.href && bare(target.url) ? url : report.show(target, url),
      };
      await repository.saveResponseBytes(routed.key, head, shared.bytes, { ...options, onVisible });
    } catch (error) {
      report.failed(error instanceof PayloadHandlerError ? "payload" : "write", error, target, repository, counters);
    }
  })();
  if (context.options.strict) return write;
  context.owed.track(write);
  await Promise.race([visible, write]);
}

/** Whether a URL has nothing that a redaction removes: no userinfo, query or fragment. */
function bare(url: URL): boolean {
  return url.username === "" && url.password === "" && url.search.length <= 1 && url.hash.length <= 1;
}

/** Whether a response is a stream of server-sent events (`text/event-stream`). */
function isEventStream(headers: Fields): boolean {
  return headers.get("content-type")?.trim().toLowerCase().startsWith("text/event-stream") === true;
}
