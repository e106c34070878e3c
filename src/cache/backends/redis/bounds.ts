import { createHash } from "node:crypto";
import type { Bounds, StoreUsage } from "../../bounds.js";
import type { RedisLink } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import { WRITE } from "./scripts.js";

/** Entries at the old end of the use order that every bounded write checks are still there. */
export const REPAIR_SAMPLE = 16;
/** Ids per step of a full repair (before `count`). */
const REPAIR_CHUNK = 1_000;
/** Reads remembered between two writes; more are dropped (the stamps become a sample). */
export const MAX_TOUCHES = 1_024;
/** How often a timer writes remembered reads when nothing writes, in milliseconds. */
export const TOUCH_FLUSH_MS = 1_000;

/**
 * What keeps one repository within its bounds, in its own hash slot, beside the index (`x`) and the
 * drop times (`g`): `s`, a hash of each entry's size; `a`, a sorted set of ids by last use (server
 * time); `u`, a hash whose `bytes` field is the total of `s`. The keys are found from the index's
 * name, so that every key stays in the repository's slot.
 */
const BOOKKEEPING = `
local base = string.sub(index, 1, -2)
local sizes, used, usage, entries = base .. 's', base .. 'a', base .. 'u', base .. 'e:'

local function drop(id)
  local size = tonumber(redis.call('HGET', sizes, id)) or 0
  redis.call('HDEL', sizes, id)
  redis.call('ZREM', used, id)
  redis.call('ZREM', index, id)
  redis.call('ZREM', gone, id)
  if size ~= 0 then redis.call('HINCRBY', usage, 'bytes', -size) end
  return size
end

-- Entries that Redis dropped by itself (expired, or evicted under maxmemory) leave the books; an
-- entry that the index lost (Redis evicted the index itself) is removed, since nothing can count it.
local function repair(ids)
  local dropped = 0
  for _, id in ipairs(ids) do
    if redis.call('EXISTS', entries .. id) == 0 or not redis.call('ZSCORE', index, id) then
      drop(id)
      redis.call('DEL', entries .. id)
      dropped = dropped + 1
    end
  end
  return dropped
end
`;

function script(name: string, source: string) {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * The write of the Redis backend, followed in the same script by the bounds: the written entries'
 * sizes and use, the reads remembered since the last write, a repair of the oldest entries, and
 * eviction of the least recently used down to the bounds. After the entries' own arguments, ARGV
 * holds maxEntries, maxBytes (`inf` for none), then the ids of entries read since the last write.
 */
export const BOUNDED_WRITE = script(
  "bounded-write",
  `${WRITE.source.replace(/return #KEYS - 2\s*$/, "")}
${BOOKKEEPING}
local t = clock()
local n = 4 * (#KEYS - 2)
local max_entries, max_bytes = tonumber(ARGV[n + 1]), tonumber(ARGV[n + 2])
for k = n + 3, #ARGV do redis.call('ZADD', used, 'XX', t, ARGV[k]) end
for i = 3, #KEYS do
  local a = (i - 3) * 4
  local id = ARGV[a + 1]
  local size = #ARGV[a + 4] + #id
  local old = tonumber(redis.call('HGET', sizes, id)) or 0
  redis.call('HSET', sizes, id, size)
  redis.call('HINCRBY', usage, 'bytes', size - old)
  redis.call('ZADD', used, t, id)
end
repair(redis.call('ZRANGE', used, 0, ${REPAIR_SAMPLE - 1}))
local bytes = tonumber(redis.call('HGET', usage, 'bytes')) or 0
while redis.call('ZCARD', index) > max_entries or bytes > max_bytes do
  local first = redis.call('ZRANGE', used, 0, 0)
  if #first == 0 then break end
  bytes = bytes - drop(first[1])
  redis.call('DEL', entries .. first[1])
end
for _, set in ipairs({ sizes, used, usage }) do
  if redis.call('PTTL', set) < longest then redis.call('PEXPIRE', set, ms(longest)) end
end
return #KEYS - 2
`,
);

/** Stamps entries as used (ARGV: their ids). */
export const TOUCH = script(
  "touch",
  `${WRITE.source.slice(0, WRITE.source.indexOf("local now = prune"))}
${BOOKKEEPING}
local t = clock()
for _, id in ipairs(ARGV) do redis.call('ZADD', used, 'XX', t, id) end
return #ARGV
`,
);

/** Checks that the given ids (ARGV) still have their entries, dropping those Redis removed; returns how many. */
export const REPAIR = script(
  "repair",
  `${WRITE.source.slice(0, WRITE.source.indexOf("local now = prune"))}
${BOOKKEEPING}
prune(clock())
return repair(ARGV)
`,
);

/** The entries and bytes of one repository (ARGV: none). */
export const USAGE = script(
  "usage",
  `${WRITE.source.slice(0, WRITE.source.indexOf("local now = prune"))}
${BOOKKEEPING}
prune(clock())
return { redis.call('ZCARD', index), tonumber(redis.call('HGET', usage, 'bytes')) or 0 }
`,
);

/**
 * The bounds of one Redis repository: the arguments its writes carry, the reads it remembers, and
 * the repair of an index that points at entries the server evicted.
 */
export class RedisBounds {
  readonly bounds: Bounds;
  readonly #link: RedisLink;
  readonly #keys: KeyLayout;
  #touches = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(bounds: Bounds, link: RedisLink, keys: KeyLayout) {
    this.bounds = bounds;
    this.#link = link;
    this.#keys = keys;
  }

  /** Whether an entry of this many bytes (its stored value and id) fits the bound at all. */
  accepts(size: number): boolean {
    return size <= this.bounds.maxBytes;
  }

  /** The arguments that follow the entries' own in {@link BOUNDED_WRITE}; takes the remembered reads. */
  takeArguments(): string[] {
    const { maxEntries, maxBytes } = this.bounds;
    const touched = [...this.#touches];
    this.#touches.clear();
    const limit = (bound: number) => String(Number.isFinite(bound) ? bound : Number.MAX_SAFE_INTEGER);
    return [limit(maxEntries), limit(maxBytes), ...touched];
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
    let dropped = 0;
    for (const set of [`${this.#keys.base}a`, this.#keys.index]) {
      for (let start = 0; ; ) {
        const ids = await this.#link.run((client) => client.zrange(set, start, start + REPAIR_CHUNK - 1));
        if (ids.length === 0) break;
        const gone = Number(await this.#link.script(REPAIR, [this.#keys.index, this.#keys.gone], ids));
        dropped += gone;
        start += ids.length - gone;
        if (ids.length < REPAIR_CHUNK) break;
      }
    }
    return dropped;
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
