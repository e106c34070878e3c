/**
 * The Lua that every script of the bounds of a Redis repository shares: where the books are, and
 * how they change. bounds.ts writes with them; rebuild.ts rebuilds them when Redis evicted them.
 */
import { PRELUDE } from "./scripts.js";

/** How long a rebuild of the books may go without a step before another process takes it over, in ms. */
export const REBUILD_LEASE = 10_000;
/**
 * How long after a rebuild an entry that the books do not know starts no other, in ms (a process
 * without bounds that writes to the repository would otherwise start one with every write).
 */
export const REBUILD_PAUSE = 60_000;

/**
 * What keeps one repository within its bounds, in its own hash slot, beside the index (`x`) and the
 * drop times (`g`): `s`, a hash of each entry's size; `a`, a sorted set of ids by last use (server
 * time); `u`, a hash whose `bytes` field is the total of `s` and whose `n` field is the number of
 * ids in `s` (and in `a`). While the books are rebuilt (see rebuild.ts), `u` also holds the
 * rebuild's `token` and the server time at which its `lease` ends; after one, `rebuilt` is the server
 * time at which it ended. The keys are found from the
 * index's name, so that every key stays in the repository's slot.
 */
export const BOOKKEEPING = `
local base = string.sub(index, 1, -2)
local sizes, used, usage, entries = base .. 's', base .. 'a', base .. 'u', base .. 'e:'

local function drop(id)
  local size = tonumber(redis.call('HGET', sizes, id)) or 0
  if redis.call('HDEL', sizes, id) == 1 then redis.call('HINCRBY', usage, 'n', -1) end
  redis.call('ZREM', used, id)
  redis.call('ZREM', index, id)
  redis.call('ZREM', gone, id)
  if size ~= 0 then redis.call('HINCRBY', usage, 'bytes', -size) end
  return size
end
-- Scripts shared with an unbounded repository (CLEAR_ENTRIES) take entries out of the books too.
forget = drop

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

-- Evicts the least recently used entries down to the bounds; returns the bytes left.
local function evict(max_entries, max_bytes)
  local bytes = tonumber(redis.call('HGET', usage, 'bytes')) or 0
  while redis.call('ZCARD', index) > max_entries or bytes > max_bytes do
    local first = redis.call('ZRANGE', used, 0, 0)
    if #first == 0 then break end
    bytes = bytes - drop(first[1])
    redis.call('DEL', entries .. first[1])
  end
  return bytes
end

-- The books, as they stand before a write: 'whole', 'rebuilding' (a rebuild holds a live lease),
-- 'stale' (a rebuild whose lease ran out) or 'lost' (Redis evicted some of them, rebuilt or not).
-- Each check is O(1): the keys that must be there together, and n against the sizes and the use
-- order (and, without an index, the oldest ids of the sample).
local function books(t, expect, sample)
  if redis.call('EXISTS', usage) == 0 then
    if expect or redis.call('EXISTS', index, sizes, used) > 0 then return 'lost' end
    return 'whole'
  end
  local state = redis.call('HMGET', usage, 'n', 'token', 'lease')
  local counted, token, lease = tonumber(state[1]), state[2], tonumber(state[3])
  if counted == nil or redis.call('HLEN', sizes) ~= counted or redis.call('ZCARD', used) ~= counted then
    return 'lost'
  end
  -- No index while the books count entries: lost if one of the oldest still has its entry (else
  -- they all went, and the write's repair drops them).
  if counted > 0 and redis.call('EXISTS', index) == 0 then
    for _, id in ipairs(redis.call('ZRANGE', used, 0, sample - 1)) do
      if redis.call('EXISTS', entries .. id) == 1 then return 'lost' end
    end
  end
  if token then
    if lease and lease > t then return 'rebuilding' end
    return 'stale'
  end
  return 'whole'
end

-- Whether the books agree with themselves: n against the sizes and the use order.
local function consistent()
  local counted = tonumber(redis.call('HGET', usage, 'n'))
  return counted ~= nil and redis.call('HLEN', sizes) == counted and redis.call('ZCARD', used) == counted
end

-- Starts a rebuild: fresh, empty books that say so, and a lease. Returns the rebuild's token.
local function restart(t, token)
  redis.call('UNLINK', sizes, used)
  redis.call('DEL', usage)
  redis.call('HSET', usage, 'bytes', 0, 'n', 0, 'token', token, 'lease', ms(t + ${REBUILD_LEASE}))
  return token
end
`;

export { luaScript as script } from "./scripts.js";

/** What every script of the bounds starts with: the prelude of scripts.ts, then {@link BOOKKEEPING}. */
export const BOUNDS_HEAD = `${PRELUDE}
${BOOKKEEPING}`;
