import type { AnyRepository } from "../cache/cache.js";
import { keyId } from "../cache/key.js";
import type { RequestDescriptor } from "../types.js";

/** The request headers that carry a user's credentials. */
const CREDENTIAL_HEADERS = ["authorization", "cookie"] as const;

/** Whether a request carries credentials: an `Authorization` or a `Cookie` header. */
export function isCredentialed(headers: Headers): boolean {
  return headers.has("authorization") || headers.has("cookie");
}

/**
 * Whether a repository's key tells apart requests that differ only in their credentials: the key of
 * the request with its own credentials differs from the key with other credentials in their place.
 * Settings that leave the request uncached keep nothing apart (there is nothing to share).
 */
export function keysCredentialsApart(
  repository: AnyRepository,
  request: RequestDescriptor & { headers: Headers },
): boolean {
  const key = repository.getKeyFromRequest(request);
  if (key === undefined) return false;
  const other = new Headers(request.headers);
  for (const name of CREDENTIAL_HEADERS) {
    const value = other.get(name);
    if (value !== null) other.set(name, `${value}-other`);
  }
  const otherKey = repository.getKeyFromRequest({ method: request.method, url: request.url, headers: other });
  return otherKey === undefined || keyId(otherKey) !== keyId(key);
}
