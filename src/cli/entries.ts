import type { CacheEntry } from "../cache/entry.js";
import { redactUrl } from "../credentials.js";

/** The size of an entry's payload in bytes. */
export function payloadSize(entry: CacheEntry): number {
  return typeof entry.payload === "string" ? Buffer.byteLength(entry.payload) : entry.payload.byteLength;
}

/** An entry as one JSON object of a listing: no payload, URL redacted. */
export function entrySummary(repository: string, entry: CacheEntry, now: number): Record<string, unknown> {
  return {
    repository,
    key: entry.key,
    name: entry.name,
    status: entry.status,
    size: payloadSize(entry),
    cachedAt: new Date(entry.cachedAt).toISOString(),
    expiresAt: new Date(entry.expiresAt).toISOString(),
    expired: entry.expiresAt <= now,
    url: entry.url === null ? null : redactUrl(entry.url),
  };
}
