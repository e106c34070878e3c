/**
 * The normal form of a URL, for keys: two URLs that name the same resource give the same text.
 *
 * - scheme and host lower-cased, the default port dropped (the WHATWG URL parser does both);
 * - the fragment dropped (it never reaches the origin);
 * - percent-encoding normalised (RFC 3986 §6.2.2): escapes of unreserved characters decoded,
 *   the hex digits of the others upper-cased;
 * - query parameters sorted by name, then value, so their order does not matter (a name given
 *   twice keeps both values); an empty query (`?`) is no query.
 *
 * Parameters named in `drop` (lower-cased) are left out: the credentials that a key must not hold.
 *
 * @example normalizeUrl(new URL("HTTPS://API.example.com:443/a%7eb?b=2&a=1#top")) // "https://api.example.com/a~b?a=1&b=2"
 */
export function normalizeUrl(url: URL, drop?: ReadonlySet<string>): string {
  const path = normalizeEscapes(url.pathname);
  const origin = url.protocol === "file:" ? "file://" : `${url.protocol}//${url.host}`;
  const auth = url.username === "" && url.password === "" ? "" : undefined;
  if (auth === undefined) throw new TypeError("a URL with credentials in it cannot be a key; move them to a header");
  const search = url.search;
  if (search === "" || search === "?") return `${origin}${path}`;
  const pairs: [string, string, string][] = [];
  for (const part of search.slice(1).split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const rawName = equals === -1 ? part : part.slice(0, equals);
    const name = normalizeEscapes(rawName);
    if (drop?.has(decodeName(name).toLowerCase())) continue;
    const value = equals === -1 ? undefined : normalizeEscapes(part.slice(equals + 1));
    pairs.push([name, value ?? "", value === undefined ? name : `${name}=${value}`]);
  }
  if (pairs.length === 0) return `${origin}${path}`;
  pairs.sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]));
  return `${origin}${path}?${pairs.map((pair) => pair[2]).join("&")}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    return name;
  }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes escapes of unreserved characters and upper-cases the hex digits of the others (RFC 3986 §6.2.2). */
function normalizeEscapes(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}
