import type { RequestDescriptor } from "../types.js";
import { type CachedRequestInit, checkRequestExpire } from "./options.js";
import { type FetchCacheMode, isFetchCacheMode } from "./policy.js";
import type { UrlExpire } from "./url-rules.js";

/** A request to `session.fetch`, checked as fetch checks it, in the forms the session needs. */
export interface Target {
  /** The input to hand the network fetch, and its init. */
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
  readonly url: URL;
  /** What the settings read to make the key, and what the repository saves with the response. */
  readonly keyRequest: RequestDescriptor;
  /** The request headers; `undefined` for a bare URL, which has none. */
  readonly headers: Headers | undefined;
  readonly mode: FetchCacheMode;
  readonly signal: AbortSignal | undefined;
  /** The request's own `expire`, if it gave one. */
  readonly expire: UrlExpire | undefined;
}

/**
 * Reads the arguments of `session.fetch` as `fetch` does, throwing the `TypeError` that `fetch`
 * would reject with (a URL that does not parse, credentials in the URL, a bad init member).
 *
 * A bare absolute URL (a string or `URL` without init) is the common case, and it needs no
 * `Request`: it has no headers, no body and no signal. Anything else becomes a `Request`, whose
 * constructor does every check. A bare URL that does not parse as an absolute URL without
 * credentials also goes through the constructor, so that its error is exactly fetch's.
 */
export function toTarget(input: string | URL | Request, init: CachedRequestInit | undefined): Target {
  if (init === undefined) {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : undefined;
    const url = href === undefined ? undefined : plainUrl(href);
    if (url !== undefined) {
      return {
        input,
        init,
        url,
        keyRequest: { method: "GET", url },
        headers: undefined,
        mode: "default",
        signal: undefined,
        expire: undefined,
      };
    }
  }
  // Fetch refuses `only-if-cached` outside same-origin mode, which Node has no use for: the session
  // honours it itself, and checks the rest of init as usual.
  const onlyIfCached = init?.cache === "only-if-cached";
  const checkedInit = onlyIfCached ? (Object.create(init, { cache: { value: "default" } }) as RequestInit) : init;
  const request = new Request(input, checkedInit);
  const mode = onlyIfCached ? "only-if-cached" : isFetchCacheMode(request.cache) ? request.cache : "default";
  const url = new URL(request.url);
  const forwarded = request.body !== null;
  return {
    // A body can be read once: the request built here owns it now, so it is the one sent.
    input: forwarded ? request : input,
    init: forwarded ? undefined : init,
    url,
    keyRequest: { method: request.method, url, headers: request.headers },
    headers: request.headers,
    mode,
    signal: request.signal,
    expire: init?.expire === undefined ? undefined : checkRequestExpire(init.expire),
  };
}

function plainUrl(href: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  return url.username === "" && url.password === "" ? url : undefined;
}
