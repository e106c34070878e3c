import { randomUUID } from "node:crypto";
import type { Bounds, StoreUsage } from "../../bounds.js";
import { BOUNDS_HEAD, REBUILD_LEASE, REBUILD_PAUSE, script } from "./books.js";
import type { RedisArgument, RedisLink } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import { rebuildBooks, repairBooks } from "./rebuild.js";
import { CLEAR_ENTRIES, WRITE_ENTRIES } from "./scripts.js";

/** Entries at the old end of the use order that every bounded write checks are still there. */
export const REPAIR_SAMPLE = 16;
/** Reads remembered between two writes; more are dropped (the stamps become a sample). */
export const MAX_TOUCHES = 1_024;
/** How often a timer writes remembered reads when nothing writes, in milliseconds. */
export const TOUCH_FLUSH_MS = 1_000;

/** What tells this process's rebuilds from those of other processes. */
const PROCESS_TOKEN = randomUUID();

/**
 * The write of the Redis backend, with the bounds in the same script: first a check that Redis has
 * not evicted the books (a rebuild starts if it has), then the write, the written entries' sizes and
 * use, the reads remembered since the last write, a repair of the oldest entries, and eviction of
 * the least recently used down to the bounds (not while the books are rebuilt). After the entries'
 * own arguments, ARGV holds maxEntries, maxBytes (`inf` for none), `1` when the books must exist
 * (this process wrote within their lifetime), a token for a rebuild, then the ids of entries read
 * since the last write. Returns how many entries it wrote, and the token when the caller must
 * rebuild the books (else an empty string).
 */
export const BOUNDED_WRITE = script(
  "bounded-write",
  `${BOUNDS_HEAD}
local t = clock()
local n = 4 * (#KEYS - 2)
local max_entries, max_bytes = tonumber(ARGV[n + 1]), tonumber(ARGV[n + 2])
local state = books(t, ARGV[n + 3] == '1', ${REPAIR_SAMPLE})
-- Books that miss an entry that exists: a written entry they do not know (among the first ones of
-- the write), or a read one. (An entry that a process without bounds wrote looks the same: such
-- evidence rebuilds at most once a pause.)
local unknown = false
if state == 'whole' then
  for i = 3, math.min(#KEYS, ${REPAIR_SAMPLE + 2}) do
    if redis.call('HEXISTS', sizes, ARGV[(i - 3) * 4 + 1]) == 0 and redis.call('EXISTS', KEYS[i]) == 1 then
      unknown = true
      break
    end
  end
end
for k = n + 5, #ARGV do
  local id = ARGV[k]
  if redis.call('ZADD', used, 'XX', 'CH', t, id) == 0 and state == 'whole' and not unknown
    and not redis.call('ZSCORE', used, id) and redis.call('EXISTS', entries .. id) == 1 then
    unknown = true
  end
end
if unknown and (tonumber(redis.call('HGET', usage, 'rebuilt')) or 0) + ${REBUILD_PAUSE} <= t then state = 'lost' end
local rebuild = ''
if state == 'lost' then
  rebuild = restart(t, ARGV[n + 4])
elseif state == 'stale' then
  rebuild = ARGV[n + 4]
  redis.call('HSET', usage, 'token', rebuild, 'lease', ms(t + ${REBUILD_LEASE}))
end
${WRITE_ENTRIES}
local added, grown = 0, 0
for i = 3, #KEYS do
  local a = (i - 3) * 4
  local id = ARGV[a + 1]
  local size = #ARGV[a + 4] + #id
  local old = tonumber(redis.call('HGET', sizes, id))
  redis.call('HSET', sizes, id, size)
  if old == nil then added = added + 1 end
  grown = grown + size - (old or 0)
  redis.call('ZADD', used, t, id)
end
redis.call('HINCRBY', usage, 'n', added)
redis.call('HINCRBY', usage, 'bytes', grown)
repair(redis.call('ZRANGE', used, 0, ${REPAIR_SAMPLE - 1}))
if state == 'whole' then evict(max_entries, max_bytes) end
for _, set in ipairs({ sizes, used, usage }) do
  if redis.call('PTTL', set) < longest then redis.call('PEXPIRE', set, ms(longest)) end
end
return { #KEYS - 2, rebuild }
`,
);

/** Stamps entries as used (ARGV: their ids). */
export const TOUCH = script(
  "touch",
  `${BOUNDS_HEAD}
local t = clock()
for _, id in ipairs(ARGV) do redis.call('ZADD', used, 'XX', t, id) end
return #ARGV
`,
);

/** Removes entries and their books. KEYS[3..] are their keys, ARGV their ids; returns how many the index held. */
export const BOUNDED_REMOVE = script(
  "bounded-remove",
  `${BOUNDS_HEAD}
prune(clock())
local removed = 0
for i, id in ipairs(ARGV) do
  if redis.call('ZSCORE', index, id) then removed = removed + 1 end
  drop(id)
  redis.call('DEL', KEYS[i + 2])
end
return removed
`,
);

/** {@link CLEAR} of scripts.ts for a bounded repository: the removed entries leave the books too. */
export const BOUNDED_CLEAR = script(
  "bounded-clear",
  `${BOUNDS_HEAD}
${CLEAR_ENTRIES}`,
);

/** The entries and bytes of one repository (ARGV: none). */
export const USAGE = script(
  "usage",
  `${BOUNDS_HEAD}
prune(clock())
return { redis.call('ZCARD', index), tonumber(redis.call('HGET', usage, 'bytes')) or 0 }
`,
);

/**
 * The bounds of one Redis repository: the arguments its writes carry, the reads it remembers, the
 * repair of an index that points at entries the server evicted, and the rebuild of books that the
 * server evicted.
 */
export class RedisBounds {
  readonly bounds: Bounds;
  readonly #link: RedisLink;
  readonly #keys: KeyLayout;
  #touches = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** Until when (this process's clock) the books must exist, since this process wrote entries that live that long. */
  #booksUntil = 0;
  #rebuilds = 0;
  #rebuilding: Promise<void> | undefined;

  constructor(bounds: Bounds, link: RedisLink, keys: KeyLayout) {
    this.bounds = bounds;
    this.#link = link;
    this.#keys = keys;
  }

  /** Whether an entry of this many bytes (its stored value and id) fits the bound at all. */
  accepts(size: number): boolean {
    return size <= this.bounds.maxBytes;
  }

  /**
   * Runs {@link BOUNDED_WRITE} for entries (`redisKeys` and `args` as for the plain write; `longest`
   * their longest time to live in Redis, in ms), with the bounds and the remembered reads. When the
   * script finds that Redis evicted the books, the write resolves once they are rebuilt.
   */
  async write(redisKeys: readonly string[], args: readonly RedisArgument[], longest: number): Promise<void> {
    const { maxEntries, maxBytes } = this.bounds;
    const touched = [...this.#touches];
    this.#touches.clear();
    const limit = (bound: number) => String(Number.isFinite(bound) ? bound : Number.MAX_SAFE_INTEGER);
    const sent = Date.now();
    const expect = sent < this.#booksUntil ? "1" : "0";
    const token = `${PROCESS_TOKEN}:${++this.#rebuilds}`;
    const reply = (await this.#link.script(BOUNDED_WRITE, redisKeys, [
      ...args,
      limit(maxEntries),
      limit(maxBytes),
      expect,
      token,
      ...touched,
    ])) as [number, string];
    // The books live at least as long as the entries just written: until then, no books means lost books.
    this.#booksUntil = Math.max(this.#booksUntil, sent + longest);
    const rebuild = String(reply[1]);
    if (rebuild !== "") await this.rebuild(rebuild);
  }

  /** Rebuilds the books under `token` (see rebuild.ts); other callers wait for the same rebuild. */
  rebuild(token: string): Promise<void> {
    const running = this.#rebuilding;
    const next = (async () => {
      await running?.catch(() => {});
      await rebuildBooks(this.#link, this.#keys, this.bounds, token);
    })();
    this.#rebuilding = next;
    return next.finally(() => {
      if (this.#rebuilding === next) this.#rebuilding = undefined;
    });
  }

  /** Remembers a read, to stamp the entry as used with the next write (or within {@link TOUCH_FLUSH_MS}). */
  touch(id: string): void {
    if (!this.bounds.trackAccess || this.#touches.size >= MAX_TOUCHES) return;
    this.#touches.add(id);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush().catch(() => {});
      }, TOUCH_FLUSH_MS);
      this.#timer.unref();
    }
  }

  /** Writes the remembered reads. */
  async flush(): Promise<void> {
    if (this.#touches.size === 0 || !this.#link.open) return;
    const ids = [...this.#touches];
    this.#touches.clear();
    await this.#link.script(TOUCH, [this.#keys.index, this.#keys.gone], ids);
  }

  /**
   * Drops from the books every entry that Redis removed by itself (expired, or evicted under
   * `maxmemory`), walking the use order and the index in steps; resolves to how many.
   */
  async repairAll(): Promise<number> {
    await this.#rebuilding?.catch(() => {});
    return repairBooks(this.#link, this.#keys);
  }

  /** What the repository holds, after a full repair, so that entries Redis dropped are not counted. */
  async usage(): Promise<StoreUsage> {
    await this.repairAll();
    const [entries, bytes] = (await this.#link.script(USAGE, [this.#keys.index, this.#keys.gone], [])) as [
      number,
      number,
    ];
    return { entries: Number(entries), bytes: Number(bytes) };
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
