/**
 * Repairs of the books of a bounded Redis repository: dropping the ids whose entries Redis removed,
 * and rebuilding the books from the entries that exist when Redis evicted the books themselves.
 */
import type { Bounds } from "../../bounds.js";
import { BOUNDS_HEAD, REBUILD_LEASE, script } from "./books.js";
import type { RedisClient, RedisLink } from "./connection.js";
import { escapePattern, type KeyLayout } from "./keys.js";

/** Ids per step of a full repair. */
const REPAIR_CHUNK = 1_000;
/** Keys that one step of a rebuild asks SCAN for. */
const SCAN_COUNT = 1_000;
/** Bytes at the start of a stored value that hold `cachedAt` and `expiresAt` (see codec.ts). */
const HEAD_BYTES = 64;

/** Checks that the given ids (ARGV) still have their entries, dropping those Redis removed; returns how many. */
export const REPAIR = script(
  "repair",
  `${BOUNDS_HEAD}
prune(clock())
return repair(ARGV)
`,
);

/**
 * One step of a rebuild (ARGV: the rebuild's token, then ids of entries that a SCAN found): puts
 * back in the books each entry that exists and that they do not hold yet, with its size, its cached
 * time as its last use (or now, if later), its `expiresAt` in the index and its drop time. Re-adding
 * is idempotent (an id the books hold is left as it is), so steps may repeat ids and interleave with
 * writes. Returns how many it added, or -1 when the rebuild is no longer the one under way (or
 * Redis evicted the books again: the next write starts another).
 */
export const REBUILD_STEP = script(
  "rebuild-step",
  `${BOUNDS_HEAD}
local t = clock()
if redis.call('HGET', usage, 'token') ~= ARGV[1] or not consistent() then return -1 end
redis.call('HSET', usage, 'lease', ms(t + ${REBUILD_LEASE}))
local added, longest = 0, 0
for k = 2, #ARGV do
  local id = ARGV[k]
  local key = entries .. id
  if redis.call('HEXISTS', sizes, id) == 0 then
    local cached, expires = string.match(redis.call('GETRANGE', key, 0, ${HEAD_BYTES - 1}), '^[TB]([^,]+),([^,\\n]+)')
    local ttl = redis.call('PTTL', key)
    if expires and tonumber(expires) and ttl > 0 then
      local size = redis.call('STRLEN', key) + #id
      local last = tonumber(cached)
      if last == nil or last > t then last = t end
      redis.call('HSET', sizes, id, size)
      redis.call('HINCRBY', usage, 'bytes', size)
      redis.call('HINCRBY', usage, 'n', 1)
      redis.call('ZADD', used, 'NX', ms(last), id)
      redis.call('ZADD', index, 'NX', expires, id)
      redis.call('ZADD', gone, 'NX', ms(t + ttl), id)
      if ttl > longest then longest = ttl end
      added = added + 1
    end
  end
end
for _, set in ipairs({ index, gone, sizes, used, usage }) do
  if redis.call('PTTL', set) < longest then redis.call('PEXPIRE', set, ms(longest)) end
end
return added
`,
);

/**
 * The end of a rebuild (ARGV: its token, maxEntries, maxBytes): the books are whole again, the
 * rebuild's mark leaves them, and the least recently used entries are evicted down to the bounds.
 * Returns -1 when the rebuild is no longer the one under way.
 */
export const REBUILD_END = script(
  "rebuild-end",
  `${BOUNDS_HEAD}
prune(clock())
if redis.call('HGET', usage, 'token') ~= ARGV[1] or not consistent() then return -1 end
redis.call('HDEL', usage, 'token', 'lease')
redis.call('HSET', usage, 'rebuilt', clock())
evict(tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`,
);

/**
 * Drops from the books every entry that Redis removed by itself (expired, or evicted under
 * `maxmemory`), walking the use order and the index in steps; resolves to how many.
 */
export async function repairBooks(link: RedisLink, keys: KeyLayout): Promise<number> {
  let dropped = 0;
  for (const set of [`${keys.base}a`, keys.index]) {
    for (let start = 0; ; ) {
      const ids = await link.run((client) => client.zrange(set, start, start + REPAIR_CHUNK - 1));
      if (ids.length === 0) break;
      const gone = Number(await link.script(REPAIR, [keys.index, keys.gone], ids));
      dropped += gone;
      start += ids.length - gone;
      if (ids.length < REPAIR_CHUNK) break;
    }
  }
  return dropped;
}

/**
 * Rebuilds the books of a repository whose books Redis evicted, under the token that the write
 * which found them lost (or whose last rebuild stopped) put in them. The write left fresh books that
 * say a rebuild is under way, so that every writer keeps them exact for what it writes and none
 * starts another; this SCANs the repository's entry keys in steps, puts back those the books do not
 * hold (each step one script), drops ids whose entries are gone, then ends the rebuild and evicts
 * down to the bounds. It stops early when another process took the rebuild over.
 */
export async function rebuildBooks(link: RedisLink, keys: KeyLayout, bounds: Bounds, token: string): Promise<void> {
  const start = keys.entry("");
  const pattern = `${escapePattern(start)}*`;
  const limit = (bound: number) => String(Number.isFinite(bound) ? bound : Number.MAX_SAFE_INTEGER);
  for (const node of await scanNodes(link)) {
    let cursor = "0";
    do {
      const [next, found] = (await link.run(() =>
        node.call("SCAN", [cursor, "MATCH", pattern, "COUNT", SCAN_COUNT]),
      )) as [string, string[]];
      cursor = next;
      const ids = found.map((key) => key.slice(start.length));
      const added = Number(await link.script(REBUILD_STEP, [keys.index, keys.gone], [token, ...ids]));
      if (added < 0) return;
    } while (cursor !== "0");
  }
  await repairBooks(link, keys);
  await link.script(REBUILD_END, [keys.index, keys.gone], [token, limit(bounds.maxEntries), limit(bounds.maxBytes)]);
}

/** The servers to SCAN: the one server, or every master of a cluster (only one holds the slot). */
async function scanNodes(link: RedisLink): Promise<RedisClient[]> {
  const client = link.client as RedisClient & { isCluster?: boolean; nodes?(role: string): RedisClient[] };
  if (client.isCluster === true && client.nodes !== undefined) return client.nodes("master");
  return [client];
}
