/** Invalidation after an unsafe request (RFC 9111 §4.4). */
import type { Fields } from "./fields.js";

/** Methods defined as safe (RFC 9110 §9.2.1). */
const SAFE: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export function isUnsafeMethod(method: string): boolean {
  return !SAFE.has(method.toUpperCase());
}

/**
 * The URLs whose stored responses an unsafe request's response invalidates (RFC 9111 §4.4): none
 * for a safe method or an error status (4xx, 5xx); otherwise the request URL, and the `Location`
 * and `Content-Location` URLs when they have the request's origin.
 */
export function invalidationTargets(method: string, status: number, url: URL, response: Fields): URL[] {
  if (!isUnsafeMethod(method) || status < 200 || status >= 400) return [];
  const targets = [url];
  for (const name of ["location", "content-location"]) {
    const value = response.get(name);
    if (value === null) continue;
    let target: URL;
    try {
      target = new URL(value, url);
    } catch {
      continue;
    }
    if (target.origin === url.origin && !targets.some((known) => known.href === target.href)) targets.push(target);
  }
  return targets;
}
