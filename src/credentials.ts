/**
 * Credentials in requests: which headers and query parameters carry them, and copies of URLs and
 * headers with their values replaced by `REDACTED`, for errors, log lines and events.
 *
 * Names are matched without regard to case. A header or parameter not named here is shown as it
 * is; name your own with a {@link CredentialNames} where a function takes one.
 */

/** What a credential's value is replaced with. */
export const REDACTED = "REDACTED";

/**
 * The request headers that carry credentials, lower-cased: the standard ones (`Authorization`,
 * `Proxy-Authorization`, `Cookie`), the response's `Set-Cookie`, and the API key and token headers
 * in common use.
 */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
  "x-amz-security-token",
  "x-goog-api-key",
  "private-token",
]);

/**
 * The query parameters that carry credentials, lower-cased: API keys, OAuth tokens and secrets,
 * signatures of signed URLs, and passwords.
 */
export const DEFAULT_CREDENTIAL_PARAMS: readonly string[] = Object.freeze([
  "api_key",
  "apikey",
  "api-key",
  "access_token",
  "refresh_token",
  "id_token",
  "auth_token",
  "token",
  "key",
  "sig",
  "signature",
  "client_secret",
  "secret",
  "password",
  "passwd",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "x-goog-signature",
  "x-goog-credential",
]);

/**
 * The names of the headers and query parameters that carry credentials. A field left out takes its
 * default.
 *
 * @example
 * const names: CredentialNames = {
 *   headers: [...DEFAULT_CREDENTIAL_HEADERS, "x-tenant-secret"],
 *   params: [...DEFAULT_CREDENTIAL_PARAMS, "session"],
 * };
 */
export interface CredentialNames {
  /**
   * Header names, matched without regard to case.
   * @default DEFAULT_CREDENTIAL_HEADERS
   * @example { headers: ["authorization", "x-api-key"] }
   */
  readonly headers: readonly string[];
  /**
   * Query parameter names, matched without regard to case.
   * @default DEFAULT_CREDENTIAL_PARAMS
   * @example { params: ["api_key"] }
   */
  readonly params: readonly string[];
}

/** Headers whose value is a URL, which may carry credentials in its query. */
const URL_HEADERS = new Set(["referer", "location", "content-location"]);

/** The names as two lower-cased sets, cached per names object. */
const resolved = new WeakMap<object, { headers: ReadonlySet<string>; params: ReadonlySet<string> }>();
const defaults = {
  headers: new Set(DEFAULT_CREDENTIAL_HEADERS),
  params: new Set(DEFAULT_CREDENTIAL_PARAMS),
};

function resolve(names: Partial<CredentialNames> | undefined): {
  headers: ReadonlySet<string>;
  params: ReadonlySet<string>;
} {
  if (names === undefined) return defaults;
  let sets = resolved.get(names);
  if (sets === undefined) {
    sets = {
      headers:
        names.headers === undefined ? defaults.headers : new Set(names.headers.map((name) => name.toLowerCase())),
      params: names.params === undefined ? defaults.params : new Set(names.params.map((name) => name.toLowerCase())),
    };
    resolved.set(names, sets);
  }
  return sets;
}

/** A query parameter name as it is compared: decoded (`+` as a space) and lower-cased. */
function paramName(pair: string): string {
  const raw = pair.split("=", 1)[0] ?? "";
  try {
    return decodeURIComponent(raw.replaceAll("+", " ")).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** `a=1&api_key=x` with the values of credential parameters replaced, the rest left byte for byte. */
function redactQuery(query: string, params: ReadonlySet<string>): string {
  return query
    .split("&")
    .map((pair) => {
      if (!params.has(paramName(pair))) return pair;
      const equals = pair.indexOf("=");
      return `${equals === -1 ? pair : pair.slice(0, equals)}=${REDACTED}`;
    })
    .join("&");
}

/**
 * A URL with its credentials replaced by `REDACTED`: the user name and password, and the values of
 * credential query parameters (in the fragment too, where OAuth puts tokens). Everything else is
 * kept as it was written. A string that is not a URL is redacted as far as it can be read
 * (`user:password@` and `name=value` pairs).
 *
 * @example
 * redactUrl("https://user:pw@api.example.com/v1/tracks?api_key=abc&page=2");
 * // "https://REDACTED:REDACTED@api.example.com/v1/tracks?api_key=REDACTED&page=2"
 */
export function redactUrl(url: string | URL, names?: Partial<CredentialNames>): string {
  const { params } = resolve(names);
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : new URL(url.href);
  } catch {
    return redactText(String(url), params);
  }
  if (parsed.username !== "") parsed.username = REDACTED;
  if (parsed.password !== "") parsed.password = REDACTED;
  if (parsed.search.length > 1) parsed.search = redactQuery(parsed.search.slice(1), params);
  if (parsed.hash.length > 1 && parsed.hash.includes("=")) parsed.hash = redactQuery(parsed.hash.slice(1), params);
  return parsed.href;
}

/** Best effort on text that is not a URL: userinfo before an `@`, and `name=value` pairs. */
function redactText(text: string, params: ReadonlySet<string>): string {
  return text
    .replace(/(\/\/)[^/?#@\s]*@/g, `$1${REDACTED}@`)
    .replace(/([?&#;]|^)([^=&?#;\s]+)=([^&#;\s]*)/g, (pair, lead: string, name: string) =>
      params.has(paramName(name)) ? `${lead}${name}=${REDACTED}` : pair,
    );
}

/** Anything `new Headers()` takes, or a list of pairs. */
export type HeaderSource = Headers | Iterable<readonly [string, string]> | Record<string, string>;

function pairsOf(headers: HeaderSource): [string, string][] {
  if (headers instanceof Headers) return [...headers];
  if (Symbol.iterator in headers) {
    return [...(headers as Iterable<readonly [string, string]>)].map(([name, value]) => [name.toLowerCase(), value]);
  }
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]);
}

/**
 * Headers as lower-cased `[name, value]` pairs, with the values of credential headers replaced by
 * `REDACTED`, and URLs in `Referer`, `Location` and `Content-Location` redacted with
 * {@link redactUrl}.
 *
 * @example
 * redactHeaders(new Headers({ authorization: "Bearer abc", accept: "application/json" }));
 * // [["accept", "application/json"], ["authorization", "REDACTED"]]
 */
export function redactHeaders(headers: HeaderSource, names?: Partial<CredentialNames>): [string, string][] {
  const sets = resolve(names);
  return pairsOf(headers).map(([name, value]) => {
    if (sets.headers.has(name)) return [name, REDACTED];
    if (URL_HEADERS.has(name)) return [name, redactUrl(value, names)];
    return [name, value];
  });
}

/** Whether any header is a credential header. */
export function hasCredentialHeaders(headers: HeaderSource, names?: Partial<CredentialNames>): boolean {
  const sets = resolve(names);
  return pairsOf(headers).some(([name]) => sets.headers.has(name));
}

/**
 * Whether a request carries credentials: a credential header, a user name or password in its URL,
 * or a credential query parameter.
 *
 * @example hasCredentials(new Headers({ cookie: "session=1" }), new URL("https://example.com/")); // true
 */
export function hasCredentials(headers: Headers | undefined, url: URL, names?: Partial<CredentialNames>): boolean {
  return credentialPairs(headers, url, names).length > 0;
}

/**
 * The credentials of a request, the values a partition of a cache is told apart by: sorted
 * `[name, value]` pairs with lower-cased names — a header as its name (`"authorization"`), a query
 * parameter as `?` and its name (`"?api_key"`), the URL's user name and password as `"@userinfo"`.
 * A parameter given twice gives two pairs, in the order of the URL.
 *
 * @example
 * credentialPairs(new Headers({ authorization: "Bearer abc" }), new URL("https://example.com/?api_key=k&page=2"));
 * // [["?api_key", "k"], ["authorization", "Bearer abc"]]
 */
export function credentialPairs(
  headers: Headers | undefined,
  url: URL,
  names?: Partial<CredentialNames>,
): [string, string][] {
  const sets = resolve(names);
  const pairs: [string, string][] = [];
  if (headers !== undefined) {
    for (const [name, value] of headers) if (sets.headers.has(name)) pairs.push([name, value]);
  }
  if (url.username !== "" || url.password !== "") pairs.push(["@userinfo", `${url.username}:${url.password}`]);
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase();
    if (sets.params.has(lower)) pairs.push([`?${lower}`, value]);
  }
  // A stable sort: by name only, so that repeated parameters keep their order.
  return pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A copy of a request that is safe to show: same method, its URL redacted, its headers redacted,
 * and no body. User name and password are dropped from the URL (a `Request` cannot hold them).
 */
export function redactRequest(request: Request, names?: Partial<CredentialNames>): Request {
  const url = new URL(redactUrl(request.url, names));
  url.username = "";
  url.password = "";
  return new Request(url, { method: request.method, headers: redactHeaders(request.headers, names) });
}

/**
 * A copy of a response that is safe to show, or the response itself when it carries no credential
 * header (`Set-Cookie`...). The copy keeps the status, the headers (redacted), the body (unread) and
 * the URL.
 */
export function redactResponse(response: Response, names?: Partial<CredentialNames>): Response {
  if (!hasCredentialHeaders(response.headers, names) && redactUrl(response.url, names) === response.url) {
    return response;
  }
  const copy = new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: redactHeaders(response.headers, names),
  });
  const url = response.url === "" ? "" : redactUrl(response.url, names);
  Object.defineProperty(copy, "url", { value: url, enumerable: false });
  Object.defineProperty(copy, "redirected", { value: response.redirected, enumerable: false });
  return copy;
}
