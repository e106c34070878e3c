import { describeValue } from "../describe.js";
import { addExpire, type Expire, validateExpire } from "../duration.js";
import type { CacheEntry } from "./entry.js";

/** Size and clean-up options of a persistent cache (SQLite, Redis, PostgreSQL). */
/** The names of the bounds options, which SQLite, Redis and PostgreSQL caches take. */
export const BOUNDS_OPTIONS: readonly string[] = ["maxEntries", "maxBytes", "trackAccess", "retention"];

export interface BoundsOptions {
  /**
   * The most entries the store holds, across every repository of the cache; the least recently
   * used go first. Unbounded when left out.
   * @default undefined (no bound)
   * @example { maxEntries: 100_000 }
   */
  maxEntries?: number;
  /**
   * The most bytes the store holds (see {@link entrySize}), across every repository of the cache;
   * the least recently used go first. An entry larger than this on its own is not stored, and
   * evicts nothing. Unbounded when left out.
   * @default undefined (no bound)
   * @example { maxBytes: 512 * 1024 * 1024 }
   */
  maxBytes?: number;
  /**
   * Whether reads count as uses for eviction. On, a read is recorded in memory and written to the
   * store with the next write, or within `accessFlushInterval`; off, entries leave in the order they
   * were written. Only bounded caches track reads.
   * @default true
   * @example { trackAccess: false }
   */
  trackAccess?: boolean;
  /**
   * How long an expired entry is kept (for revalidation, or `includeExpired` reads) before the
   * store removes it by itself, in batches during writes and on a timer. `null` keeps expired
   * entries until `clear(true)`.
   * @default { weeks: 1 }
   * @example { retention: { days: 1 } }
   */
  retention?: Expire | null;
}

/** The resolved bounds of a cache. */
export interface Bounds {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly bounded: boolean;
  readonly trackAccess: boolean;
  readonly retention: Expire | null;
}

/** What a store holds, as counted against its bounds. */
export interface StoreUsage {
  entries: number;
  bytes: number;
}

/** The default retention of expired entries in a persistent store. */
export const DEFAULT_RETENTION: Expire = { weeks: 1 };

/** Bytes counted for each entry on top of its key, payload, headers, URL and name. */
export const ENTRY_OVERHEAD = 64;

/** Checks the bounds options of a persistent cache, with a `RangeError` or `TypeError` naming the option. */
export function resolveBounds(options: BoundsOptions): Bounds {
  const { maxEntries, maxBytes, trackAccess = true, retention = DEFAULT_RETENTION } = options;
  if (maxEntries !== undefined && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
    throw new RangeError(`maxEntries must be a whole number of 1 or more, got ${describeValue(maxEntries)}`);
  }
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
    throw new RangeError(`maxBytes must be a whole number of bytes, 1 or more, got ${describeValue(maxBytes)}`);
  }
  if (typeof trackAccess !== "boolean") {
    throw new TypeError(`trackAccess must be true or false, got ${describeValue(trackAccess)}`);
  }
  return {
    maxEntries: maxEntries ?? Number.POSITIVE_INFINITY,
    maxBytes: maxBytes ?? Number.POSITIVE_INFINITY,
    bounded: maxEntries !== undefined || maxBytes !== undefined,
    trackAccess,
    retention: retention === null ? null : validateExpire(retention, "retention"),
  };
}

/** The instant before which an entry's expiry makes it past its retention. */
export function retentionCutoff(now: number, retention: Expire): number {
  return now - (addExpire(now, retention) - now);
}

const encoder = new TextEncoder();

function byteLength(text: string): number {
  // Exact UTF-8 length without encoding: most text is ASCII.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return encoder.encode(text).byteLength;
  }
  return text.length;
}

/**
 * The bytes an entry counts for against `maxBytes`: the UTF-8 bytes of its key parts (numbers as
 * their decimal text), payload, headers, URL, name and HTTP metadata, plus {@link ENTRY_OVERHEAD}.
 */
export function entrySize(entry: CacheEntry): number {
  let size = ENTRY_OVERHEAD;
  for (const part of entry.key) size += byteLength(String(part));
  const { payload } = entry;
  size += typeof payload === "string" ? byteLength(payload) : payload.byteLength;
  if (entry.headers !== null) size += byteLength(entry.headers);
  if (entry.url !== null) size += byteLength(entry.url);
  if (entry.name !== null) size += byteLength(entry.name);
  if (entry.meta !== null && entry.meta !== undefined) size += byteLength(entry.meta);
  return size;
}
