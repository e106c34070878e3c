import { createHash, createHmac } from "node:crypto";
import type { AnyRepository, ResponseCache } from "../cache/cache.js";
import { HttpRepositorySettings } from "../cache/http-settings.js";
import { UrlRoutes } from "../cache/url-routes.js";
import { credentialPairs } from "../credentials.js";
import type { Key } from "../types.js";
import type { SessionContext } from "./context.js";
import { keysApart } from "./credential-rules.js";
import type { SessionCounters } from "./events.js";
import type { BypassReason } from "./policy.js";
import type { Target } from "./target.js";
import type { UrlExpire } from "./url-rules.js";

/** A request that the cache does not read: why, and the repository it belongs to, if any. */
export interface Unrouted {
  readonly key: undefined;
  readonly bypass: BypassReason;
  readonly repository: AnyRepository | undefined;
  readonly counters: SessionCounters | undefined;
}

/** A request that a repository can key: where the session keeps what it learnt while routing it. */
export interface Routed {
  readonly target: Target;
  readonly repository: AnyRepository;
  readonly key: Key;
  readonly counters: SessionCounters;
  /** A HEAD request answered from the entry of the same GET: never stored. */
  readonly head: boolean;
  /** What a URL rule or the request's own `expire` says, if any. */
  readonly expire: UrlExpire | undefined;
  /** False once the cache failed to connect for this request: nothing is stored then. */
  usable: boolean;
}

/**
 * Finds the repository and the key of a request, or why it has none: no repository, a URL rule
 * that says not to cache, no key, a router or settings that threw, or credentials that the session
 * does not cache. A HEAD request is keyed as the GET of the same URL. Routing waits only where it
 * must: for a digest of a keyed body, or for the store's secret to partition credentials.
 */
export function route(
  context: SessionContext,
  target: Target,
  cache: ResponseCache,
  fallback: AnyRepository | undefined,
): Routed | Unrouted | Promise<Routed | Unrouted> {
  let repository: AnyRepository | undefined;
  let counters: SessionCounters | undefined;
  try {
    repository = cache.getRepositoryFromUrl(target.url) ?? fallback;
    if (repository === undefined) return unrouted("no-repository", undefined, undefined);
    const counted = context.report.countersOf(repository);
    counters = counted;
    const options = context.options;
    const expire = target.expire ?? options.rules?.match(target.url);
    if (expire === false) return unrouted("expire-rule", repository, counters);
    const settings = repository.settings;
    const method = target.keyRequest.method;
    const head = method === "HEAD";
    if (!settings.methods.has(method)) return unrouted("no-key", repository, counters);
    let partition: Promise<string> | undefined;
    const credentials = options.credentials;
    if (credentials !== "share" && !settings.public) {
      const pairs = credentialPairs(target.headers, target.url, options.credentialNames);
      if (pairs.length > 0) {
        if (credentials === "bypass") return unrouted("credentials", repository, counters);
        if (settings instanceof HttpRepositorySettings) partition = partitionOf(cache, pairs);
        else if (!keysApart(repository, { ...target.keyRequest, url: target.url, headers: target.headers }, pairs)) {
          return unrouted("credentials", repository, counters);
        }
      }
    }
    const keyed = !head && method !== "GET" && target.input instanceof Request && target.input.body !== null;
    const digest = keyed ? bodyDigest(target.input as Request) : undefined;
    if (digest === undefined && partition === undefined) {
      return routedTo(target, repository, counted, expire, undefined, undefined);
    }
    const found = repository;
    return Promise.all([digest, partition]).then(
      ([bodyDigest, partition]) => routedTo(target, found, counted, expire, bodyDigest, partition),
      (error: unknown) => routeFailed(context, error, target, found, counted),
    );
  } catch (error) {
    return routeFailed(context, error, target, repository, counters);
  }
}

/** The credential partition: a keyed digest (HMAC-SHA-256 with the store's secret) of the credential values. */
export async function partitionOf(
  cache: ResponseCache,
  pairs: readonly (readonly [string, string])[],
): Promise<string> {
  const secret = await cache.partitionSecret();
  const hmac = createHmac("sha256", secret);
  for (const [name, value] of pairs) hmac.update(`${name}\0${value}\0`);
  return hmac.digest("base64url");
}

function routeFailed(
  context: SessionContext,
  error: unknown,
  target: Target,
  repository: AnyRepository | undefined,
  counters: SessionCounters | undefined,
): Unrouted {
  context.report.failed("route", error, target, repository, counters);
  return unrouted("error", repository, counters);
}

/** The repository and key of a request (a HEAD keyed as the GET of its URL), or why it has no key. */
function routedTo(
  target: Target,
  repository: AnyRepository,
  counters: SessionCounters,
  expire: Routed["expire"],
  bodyDigest: string | undefined,
  partition: string | undefined,
): Routed | Unrouted {
  const base = target.keyRequest;
  const head = base.method === "HEAD";
  const keyRequest = {
    method: head ? "GET" : base.method,
    url: target.url,
    headers: base.headers,
    bodyDigest,
    partition,
  };
  const key = repository.getKeyFromRequest(keyRequest);
  if (key === undefined) return unrouted("no-key", repository, counters);
  return { target, repository, key, counters, head, expire, usable: true };
}

function unrouted(
  bypass: BypassReason,
  repository: AnyRepository | undefined,
  counters: SessionCounters | undefined,
): Unrouted {
  return { key: undefined, bypass, repository, counters };
}

/** What is remembered of a route: all of it but what is each request's own (its counters, `usable`). */
type RouteOf = Omit<Routed, "usable" | "counters">;

/**
 * Where plain GETs of a URL string were routed (`session.fetch(url)` with no init: no headers, no
 * body, no signal), so that a repeated one skips parsing the URL, finding its repository and
 * making its key ({@link UrlRoutes}: valid while the cache routes as it did). A route that involved
 * credentials (in the URL's query, say) is never remembered.
 */
export class RememberedRoutes {
  readonly #routes = new UrlRoutes<RouteOf>();

  /** The route of a URL string routed before, for a new request (counted as routing counts it), or `undefined`. */
  get(context: SessionContext, href: string, cache: ResponseCache): Routed | undefined {
    const known = this.#routes.get(href, cache);
    if (known === undefined) return undefined;
    // Built field by field: a spread of the remembered object cost more than the routing it saves.
    const { target, repository, key, head, expire } = known;
    return { target, repository, key, counters: context.report.countersOf(repository), head, expire, usable: true };
  }

  /** Remembers the route of a plain GET of a URL string, if nothing but the URL decided it. */
  remember(context: SessionContext, href: string, cache: ResponseCache, routed: Routed): void {
    const { target } = routed;
    if (target.input !== href || target.init !== undefined || target.headers !== undefined || routed.head) return;
    if (target.expire !== undefined) return;
    if (credentialPairs(undefined, target.url, context.options.credentialNames).length > 0) return;
    // Shared by every request of the URL from now on: nothing may change it.
    const key = Object.freeze(routed.key);
    this.#routes.set(href, cache, { target, repository: routed.repository, key, head: false, expire: routed.expire });
  }
}

/** A digest of a request body, for methods whose body is part of the key. The request's body is left unread. */
async function bodyDigest(request: Request): Promise<string> {
  const bytes = new Uint8Array(await request.clone().arrayBuffer());
  return createHash("sha256").update(bytes).digest("base64url");
}
