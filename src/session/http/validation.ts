/** Validating a stored response (RFC 9111 §4.3) and freshening it with a 304 (§3.2, §4.3.4). */
import { splitList } from "./directives.js";
import type { Fields, Pairs } from "./fields.js";

/**
 * The conditional fields that validate a stored response (RFC 9111 §4.3.1): `If-None-Match` with
 * its entity tag, and `If-Modified-Since` with its `Last-Modified`. Empty when it has neither.
 */
export function conditionalFields(stored: Fields): [string, string][] {
  const fields: [string, string][] = [];
  const etag = stored.get("etag");
  if (etag !== null) fields.push(["if-none-match", etag]);
  const lastModified = stored.get("last-modified");
  if (lastModified !== null) fields.push(["if-modified-since", lastModified]);
  return fields;
}

/**
 * Fields of a 304 that never replace stored ones (RFC 9111 §3.2): Content-Length, the fields that
 * describe the stored body as the session decoded it (Content-Encoding), and those of the connection.
 */
const NOT_UPDATED: ReadonlySet<string> = new Set([
  "content-length",
  "content-encoding",
  "content-range",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "set-cookie",
]);

/**
 * Whether a 304 selects the stored response (RFC 9111 §4.3.4): its strong ETag, or its
 * Last-Modified when neither carries an ETag. A 304 without validators selects it too.
 */
export function selects(stored: Fields, notModified: Fields): boolean {
  const etag = notModified.get("etag");
  if (etag !== null) {
    const storedEtag = stored.get("etag");
    return storedEtag !== null && weakCompare(etag, storedEtag);
  }
  const lastModified = notModified.get("last-modified");
  if (lastModified !== null && stored.get("etag") === null) {
    const storedLastModified = stored.get("last-modified");
    return storedLastModified === null || storedLastModified === lastModified;
  }
  return true;
}

/**
 * Whether a stored response satisfies a request's own conditions as "not modified" (RFC 9111
 * §4.3.2, RFC 9110 §13.1.2, §13.1.3): an If-None-Match that names its entity tag (weak comparison)
 * or `*`; without If-None-Match, an If-Modified-Since no earlier than its Last-Modified (or Date).
 */
export function notModified(
  request: Fields,
  stored: Fields,
  parseDate: (value: string | null) => number | undefined,
): boolean {
  const ifNoneMatch = request.get("if-none-match");
  if (ifNoneMatch !== null) {
    const etag = stored.get("etag");
    if (etag === null) return false;
    return splitList(ifNoneMatch).some((tag) => tag === "*" || weakCompare(tag, etag));
  }
  const since = parseDate(request.get("if-modified-since"));
  if (since === undefined) return false;
  const modified = parseDate(stored.get("last-modified")) ?? parseDate(stored.get("date"));
  return modified !== undefined && modified <= since;
}

/** The stored fields a 304 answer carries (RFC 9110 §15.4.5). */
export const NOT_MODIFIED_FIELDS: readonly string[] = [
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "last-modified",
  "vary",
];

/** Weak comparison of entity tags (RFC 9110 §8.8.3.2). */
function weakCompare(a: string, b: string): boolean {
  const strip = (tag: string) => (tag.trim().startsWith("W/") ? tag.trim().slice(2) : tag.trim());
  return strip(a) === strip(b);
}

/**
 * The stored header fields freshened with a 304's (RFC 9111 §3.2): each field of the 304 replaces
 * the stored lines of that name, or is added, except the fields in {@link NOT_UPDATED}.
 */
export function mergeNotModified(stored: Pairs, notModified: Iterable<readonly [string, string]>): [string, string][] {
  const updates = new Map<string, [string, string][]>();
  for (const [name, value] of notModified) {
    const lower = name.toLowerCase();
    if (NOT_UPDATED.has(lower)) continue;
    let lines = updates.get(lower);
    if (lines === undefined) {
      lines = [];
      updates.set(lower, lines);
    }
    lines.push([lower, value]);
  }
  const merged: [string, string][] = [];
  for (const [name, value] of stored) if (!updates.has(name.toLowerCase())) merged.push([name, value]);
  for (const lines of updates.values()) merged.push(...lines);
  return merged;
}
