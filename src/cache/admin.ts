import { describeValue } from "../describe.js";
import type { Key } from "../types.js";
import type { CacheEntry } from "./entry.js";
import { globToRegExp } from "./glob.js";

/** Which entries a listing, count or purge takes. Every condition given must hold. */
export interface EntryFilter {
  /**
   * Live entries (`now < expiresAt`), expired ones, or both.
   * @default "all"
   * @example "expired"
   */
  state?: "all" | "live" | "expired";
  /**
   * A glob that the whole stored URL must match: `*` for any run of characters, `?` for one.
   * Entries saved without a URL never match.
   * @default undefined (every URL)
   * @example "https://api.example.com/v1/tracks/*"
   */
  match?: string;
  /**
   * Only entries cached before this instant (epoch milliseconds).
   * @default undefined (any instant)
   * @example Date.now() - 86_400_000
   */
  cachedBefore?: number;
}

/** Options of a listing. */
export interface ListOptions extends EntryFilter {
  /**
   * The most entries to list.
   * @default Infinity
   * @example 20
   */
  limit?: number;
}

/** How far long work has gone: `done` of `total` (when known). */
export interface Progress {
  done: number;
  total: number | undefined;
}

/** Options of work that runs in batches. */
export interface BatchOptions {
  /**
   * Entries per batch; each batch is one statement, transaction or pipeline.
   * @default 1_000
   * @example 10_000
   */
  batchSize?: number;
  /**
   * Stops the work between two batches; what was done stays done, nothing is half-written.
   * @default undefined (runs to its end)
   * @example AbortSignal.timeout(60_000)
   */
  signal?: AbortSignal;
  /**
   * Told after every batch how far the work has gone.
   * @default undefined
   * @example ({ done, total }) => console.log(`${done}/${total}`)
   */
  onProgress?: (progress: Progress) => void;
}

/** Options of {@link ResponseRepository.verify}. */
export interface VerifyOptions extends BatchOptions {
  /**
   * Removes the entries that fail.
   * @default false
   * @example { fix: true }
   */
  fix?: boolean;
}

/** An entry that failed verification. */
export interface BrokenEntry<K extends Key = Key> {
  key: K;
  url: string | null;
  /** What was wrong with it. */
  reason: string;
}

/** What {@link ResponseRepository.verify} found. */
export interface VerifyReport<K extends Key = Key> {
  /** How many entries were read. */
  checked: number;
  /** The entries whose payload or headers could not be read back. */
  broken: BrokenEntry<K>[];
  /** How many of them were removed (with `fix`). */
  removed: number;
  /** Whether the work stopped early on the signal. */
  aborted: boolean;
}

/** The size of a repository. Instants are epoch milliseconds; `null` where there are no entries. */
export interface RepositoryStats {
  entries: number;
  live: number;
  expired: number;
  /** Bytes of payload: UTF-8 bytes of text payloads, length of byte payloads. */
  payloadBytes: number;
  /** The earliest `cachedAt`. */
  oldest: number | null;
  /** The latest `cachedAt`. */
  newest: number | null;
}

/** A filter checked and resolved against one instant, as backends receive it. */
export interface ResolvedFilter {
  state: "all" | "live" | "expired";
  match: string | undefined;
  cachedBefore: number | undefined;
  now: number;
}

/** The earliest instant every backend stores (0001-01-01T00:00:00Z): scanning from it reads every entry. */
export const ALL_TIME = -62_135_596_800_000;

/** Checks a filter given by a user. */
export function resolveFilter(filter: EntryFilter | undefined, now: number): ResolvedFilter {
  if (filter !== undefined && (typeof filter !== "object" || filter === null)) {
    throw new TypeError(`a filter must be an object, got ${describeValue(filter)}`);
  }
  const state = filter?.state ?? "all";
  if (state !== "all" && state !== "live" && state !== "expired") {
    throw new RangeError(`filter.state must be "all", "live" or "expired", got ${describeValue(state)}`);
  }
  const match = filter?.match;
  if (match !== undefined && typeof match !== "string") {
    throw new TypeError(`filter.match must be a URL glob, got ${describeValue(match)}`);
  }
  const cachedBefore = filter?.cachedBefore;
  if (cachedBefore !== undefined && !Number.isFinite(cachedBefore)) {
    throw new RangeError(
      `filter.cachedBefore must be an instant in epoch milliseconds, got ${describeValue(cachedBefore)}`,
    );
  }
  return { state, match, cachedBefore, now };
}

/** A test of one entry against a resolved filter, for backends that filter as they scan. */
export function entryTest(filter: ResolvedFilter): (entry: CacheEntry) => boolean {
  const pattern = filter.match === undefined ? undefined : globToRegExp(filter.match);
  const { state, cachedBefore, now } = filter;
  return (entry) =>
    (state === "all" || (state === "live" ? now < entry.expiresAt : entry.expiresAt <= now)) &&
    (cachedBefore === undefined || entry.cachedAt < cachedBefore) &&
    (pattern === undefined || (entry.url !== null && pattern.test(entry.url)));
}

/** Checks the batch size option. */
export function batchSizeOf(options: BatchOptions | undefined): number {
  const size = options?.batchSize ?? 1_000;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batchSize must be a whole number of 1 or more, got ${describeValue(options?.batchSize)}`);
  }
  return size;
}
