import type { AnyRepository } from "../cache/cache.js";
import { keyId } from "../cache/key.js";
import { type CredentialNames, credentialPairs } from "../credentials.js";
import type { CredentialsMode } from "./options.js";

/** A request as the credential rules see it. */
export interface CredentialedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers | undefined;
}

/**
 * Whether a request may read and write its repository under the key that the repository's settings
 * give it, as far as its credentials go: it carries none; the mode is `"share"`; the repository's
 * responses are `public`; or, in `"partition"` mode, the repository's key tells apart requests that
 * differ only in their credentials. (The default HTTP repository keys credentials apart by a
 * partition that the session adds to the request: without it, this says no.)
 */
export function cachesCredentials(
  mode: CredentialsMode,
  repository: AnyRepository | undefined,
  request: CredentialedRequest,
  names?: Partial<CredentialNames>,
): boolean {
  if (mode === "share" || repository?.settings.public === true) return true;
  const pairs = credentialPairs(request.headers, request.url, names);
  if (pairs.length === 0) return true;
  if (mode === "bypass" || repository === undefined) return false;
  return keysApart(repository, request, pairs);
}

/**
 * Whether a repository's key tells apart requests that differ only in their credentials: the key
 * with other values in place of the credentials differs from the request's own key. Settings that
 * leave the request uncached keep nothing apart: there is nothing to share.
 */
export function keysApart(
  repository: AnyRepository,
  request: CredentialedRequest,
  pairs: readonly (readonly [string, string])[],
): boolean {
  const own = repository.getKeyFromRequest({ method: request.method, url: request.url, headers: request.headers });
  if (own === undefined) return true;
  const headers = new Headers(request.headers);
  const url = new URL(request.url);
  for (const [name] of pairs) {
    if (name.startsWith("?")) {
      for (const param of new Set(url.searchParams.keys())) {
        if (param.toLowerCase() === name.slice(1)) url.searchParams.set(param, `${url.searchParams.get(param)}-other`);
      }
    } else if (name === "@userinfo") url.username = `${url.username}-other`;
    else headers.set(name, `${headers.get(name)}-other`);
  }
  const other = repository.getKeyFromRequest({ method: request.method, url, headers });
  return other === undefined || keyId(other) !== keyId(own);
}
