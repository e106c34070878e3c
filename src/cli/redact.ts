/** Query parameters whose values are credentials, lower-cased. */
const CREDENTIAL_PARAMS = new Set([
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
]);

/** Header fields whose values are credentials, lower-cased. */
const CREDENTIAL_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
]);

/** A URL for display: user, password and credential query values replaced with `REDACTED`. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  let changed = false;
  if (parsed.username !== "" || parsed.password !== "") {
    parsed.username = parsed.username === "" ? "" : "REDACTED";
    parsed.password = parsed.password === "" ? "" : "REDACTED";
    changed = true;
  }
  for (const name of new Set(parsed.searchParams.keys())) {
    if (CREDENTIAL_PARAMS.has(name.toLowerCase())) {
      parsed.searchParams.set(name, "REDACTED");
      changed = true;
    }
  }
  return changed ? parsed.href : url;
}

/** Header pairs for display, credential values replaced with `REDACTED`. */
export function redactHeaders(pairs: readonly (readonly [string, string])[]): [string, string][] {
  return pairs.map(([name, value]) => [name, CREDENTIAL_HEADERS.has(name.toLowerCase()) ? "REDACTED" : value]);
}
