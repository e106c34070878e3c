import { randomBytes } from "node:crypto";
import { describeValue } from "../describe.js";
import type { Key } from "../types.js";
import type { CacheEntry } from "./entry.js";
import { keyId } from "./key.js";
import type { ResponseRepository } from "./repository.js";

/**
 * Locks per key that every process sharing a store sees: what a backend implements for
 * {@link ResponseCache.fill}. Leases are in wall-clock milliseconds.
 */
export interface StoreLocks {
  /** Takes the lock on `id` for `lease` milliseconds; resolves to `true` if it was free (or its lease was over). */
  acquire(id: string, token: string, lease: number): Promise<boolean>;
  /** Releases the lock on `id` if `token` still holds it, and wakes those who wait for it. */
  release(id: string, token: string): Promise<void>;
  /**
   * Waits until the lock on `id` is released or its lease is over (resolves to `true`), or until
   * `until` (epoch milliseconds) comes first (resolves to `false`); rejects with the signal's
   * reason when it aborts.
   */
  waitForRelease(id: string, until: number, signal: AbortSignal | undefined): Promise<boolean>;
}

/** Options of {@link ResponseCache.fill}. */
export interface FillOptions<K extends Key = Key> {
  /**
   * How long the fetching process holds the key, in milliseconds: past it, those waiting fetch
   * for themselves, and another process may take the lock.
   * @default 10_000
   * @example { lease: 30_000 }
   */
  lease?: number;
  /**
   * The longest a process waits for another one's entry, in milliseconds.
   * @default the lease
   * @example { wait: 5_000 }
   */
  wait?: number;
  /**
   * Stops waiting: `fill` rejects with the signal's reason.
   * @default undefined
   * @example { signal: AbortSignal.timeout(2_000) }
   */
  signal?: AbortSignal | undefined;
  /**
   * Whether a stored entry answers the caller's request: an entry it refuses (another variant, a
   * stale one) counts as no entry, so the caller fetches (holding the lock) or keeps waiting.
   * @default every live entry answers
   * @example { accept: (entry) => entry.cachedAt > missedAt }
   */
  accept?: ((entry: CacheEntry<K>) => boolean) | undefined;
  /**
   * Called with an error of the lock (the store failed): `fill` then fails open, as if there were no lock.
   * @default undefined
   * @example { onError: (error) => log.warn(error) }
   */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * What {@link ResponseCache.fill} found: the entry another process stored while this one waited
 * (`filled`), or the go-ahead to fetch and store (`fetch`), after which the caller calls
 * `release()` — `locked` says whether other processes wait for it meanwhile.
 */
export type FillTicket<K extends Key = Key> =
  | { readonly state: "filled"; readonly entry: CacheEntry<K> }
  | { readonly state: "fetch"; readonly locked: boolean; release(): Promise<void> };

/** The default lease of a fill lock. */
export const DEFAULT_FILL_LEASE = 10_000;

const UNLOCKED: FillTicket<never> = Object.freeze({ state: "fetch", locked: false, release: async () => {} });

/** What makes this process's lock tokens unlike any other process's: random, drawn once. */
const PROCESS_TOKEN = randomBytes(12).toString("base64url");
let tokens = 0;

/**
 * A token no other holder has: this process's random part and a count (drawing random bytes for
 * each miss cost more than the lock's own write).
 */
function newToken(): string {
  return `${PROCESS_TOKEN}.${(tokens++).toString(36)}`;
}

/** The lock id of a key: the repository's name and the key's id. */
export function fillId(repository: string, key: Key): string {
  return `${repository}\0${keyId(key)}`;
}

/** {@link ResponseCache.fill}, over a backend's locks. */
export async function fillEntry<K extends Key>(
  locks: StoreLocks | undefined,
  repository: ResponseRepository<K>,
  key: K,
  options: FillOptions<K> = {},
): Promise<FillTicket<K>> {
  const { lease = DEFAULT_FILL_LEASE, signal, onError, accept } = options;
  const wait = options.wait ?? lease;
  if (!Number.isSafeInteger(lease) || lease < 1) {
    throw new RangeError(`lease must be a whole number of milliseconds, 1 or more, got ${describeValue(lease)}`);
  }
  if (!Number.isSafeInteger(wait) || wait < 0) {
    throw new RangeError(`wait must be a whole number of milliseconds, 0 or more, got ${describeValue(wait)}`);
  }
  if (signal?.aborted) throw signal.reason;
  if (locks === undefined) return UNLOCKED;
  const id = fillId(repository.name, key);
  const token = newToken();
  const failed = (error: unknown): FillTicket<K> => {
    onError?.(error);
    return UNLOCKED;
  };
  let acquired: boolean;
  try {
    acquired = await locks.acquire(id, token, lease);
  } catch (error) {
    return failed(error);
  }
  const release = () => locks.release(id, token).catch((error: unknown) => onError?.(error));
  if (acquired) {
    // The last holder may have stored the entry and let go between this process's miss and now.
    const entry = await readQuietly(repository, key, onError, accept);
    if (entry !== undefined) {
      await release();
      return { state: "filled", entry };
    }
    return { state: "fetch", locked: true, release };
  }
  // Woken by the release; and in case the news of it is lost (a dropped connection, a message that
  // never came), the entry is looked for after growing pauses too: a lost release costs at most one
  // pause, not the rest of the lease.
  const giveUpAt = Date.now() + wait;
  for (let pause = FIRST_LOOK_MS; ; pause = Math.min(pause * 2, MAX_LOOK_MS)) {
    let released: boolean;
    try {
      released = await locks.waitForRelease(id, Math.min(giveUpAt, Date.now() + pause), signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return failed(error);
    }
    const entry = await readQuietly(repository, key, onError, accept);
    if (entry !== undefined) return { state: "filled", entry };
    // Released with nothing stored (the response was not storable, or the fetch failed), a lease
    // that ran out, or a wait that did: this process fetches for itself, without making others wait.
    if (released || Date.now() >= giveUpAt) return UNLOCKED;
  }
}

/** The first pause after which a waiter looks for the entry without news of the release, doubled up to {@link MAX_LOOK_MS}. */
export const FIRST_LOOK_MS = 100;
export const MAX_LOOK_MS = 1_000;

/** The live entry of `key` if `accept` takes it; a read that fails is reported and counts as none. */
async function readQuietly<K extends Key>(
  repository: ResponseRepository<K>,
  key: K,
  onError: ((error: unknown) => void) | undefined,
  accept: ((entry: CacheEntry<K>) => boolean) | undefined,
): Promise<CacheEntry<K> | undefined> {
  try {
    const entry = await repository.getEntry(key);
    return entry === undefined || accept === undefined || accept(entry) ? entry : undefined;
  } catch (error) {
    onError?.(error);
    return undefined;
  }
}
