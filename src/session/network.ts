import type { AnyRepository } from "../cache/cache.js";
import type { SessionContext } from "./context.js";
import type { SessionCounters } from "./events.js";
import type { BypassReason } from "./policy.js";
import type { Target } from "./target.js";

/**
 * Sends a request to the origin, counted: the caller's request as it is, or, with `conditional`,
 * with the validators of a stored response. A `detached` request (a background revalidation) has
 * no caller to abort it: the session's own signal does, when it closes.
 */
export function network(
  context: SessionContext,
  target: Target,
  counters: SessionCounters | undefined,
  conditional?: readonly (readonly [string, string])[],
  detached = false,
): Promise<Response> {
  context.report.network(counters);
  const fetch = context.options.fetch ?? globalThis.fetch;
  if ((conditional === undefined || conditional.length === 0) && !detached) {
    return target.init === undefined ? fetch(target.input) : fetch(target.input, target.init);
  }
  // RFC 9111 §4.3.1: the caller's request, with the validators of the stored response.
  const headers = new Headers(target.headers);
  for (const [name, value] of conditional ?? []) headers.set(name, value);
  if (target.input instanceof Request) {
    const init: RequestInit = { headers };
    if (detached) init.signal = context.owed.signal;
    return fetch(new Request(target.input, init));
  }
  const init: RequestInit = { ...target.init, headers };
  if (detached) init.signal = context.owed.signal;
  return fetch(target.input, init);
}

/** Sends a request that the cache does not read to the origin, counted and reported with why. */
export function bypass(
  context: SessionContext,
  target: Target,
  reason: BypassReason,
  repository: AnyRepository | undefined,
  counters: SessionCounters | undefined,
): Promise<Response> {
  context.report.bypass(target, reason, repository, counters);
  return network(context, target, counters);
}
