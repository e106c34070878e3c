import { createHash } from "node:crypto";

/** A Lua script run with EVALSHA, sent in full only when the server does not know it yet. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** A script of this whole source. */
export function luaScript(name: string, source: string): Script {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/** A script of {@link PRELUDE} and then `body`. */
function script(name: string, body: string): Script {
  return luaScript(name, `${PRELUDE}\n${body}`);
}

/**
 * What every script starts with. KEYS[1] is the index (entry ids scored by `expiresAt`), KEYS[2]
 * the set of entry ids scored by the server time at which Redis drops the entry; `prune` takes out
 * of both the ids whose entries Redis has expired, so that the index never counts them.
 */
export const PRELUDE = `
-- Redis before 5.0 refuses writes after TIME unless the script replicates its effects.
if redis.replicate_commands then redis.replicate_commands() end

local index, gone = KEYS[1], KEYS[2]
local CHUNK = 4000

local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ms(number)
  return string.format('%.0f', number)
end

local function in_chunks(list, first, call)
  for i = first, #list, CHUNK do
    call(i, math.min(i + CHUNK - 1, #list))
  end
end

-- Takes an entry's id out of the index and the drop times (scripts of a bounded repository take
-- it out of the books too: see books.ts).
local function forget(id)
  redis.call('ZREM', index, id)
  redis.call('ZREM', gone, id)
end

local function prune(now)
  local dead = redis.call('ZRANGEBYSCORE', gone, '-inf', '(' .. ms(now))
  in_chunks(dead, 1, function(i, j)
    redis.call('ZREM', index, unpack(dead, i, j))
    redis.call('ZREM', gone, unpack(dead, i, j))
  end)
  return now
end
`;

/**
 * Writes entries, all in one step. KEYS[3..] are the entries' keys; ARGV holds four values per
 * entry: its id, its time to live in Redis (ms), its expiresAt, and its stored value. The two sorted
 * sets live at least as long as the longest-lived entry written.
 */
export const WRITE_ENTRIES = `
local now = prune(clock())
local by_expiry, by_drop = {}, {}
local longest = 0
for i = 3, #KEYS do
  local a = (i - 3) * 4
  local id, ttl = ARGV[a + 1], tonumber(ARGV[a + 2])
  redis.call('SET', KEYS[i], ARGV[a + 4], 'PX', ARGV[a + 2])
  by_expiry[#by_expiry + 1] = ARGV[a + 3]
  by_expiry[#by_expiry + 1] = id
  by_drop[#by_drop + 1] = ms(now + ttl)
  by_drop[#by_drop + 1] = id
  if ttl > longest then longest = ttl end
end
in_chunks(by_expiry, 1, function(i, j) redis.call('ZADD', index, unpack(by_expiry, i, j)) end)
in_chunks(by_drop, 1, function(i, j) redis.call('ZADD', gone, unpack(by_drop, i, j)) end)
for _, set in ipairs({ index, gone }) do
  if redis.call('PTTL', set) < longest then redis.call('PEXPIRE', set, ms(longest)) end
end
`;

/** {@link WRITE_ENTRIES}; returns how many entries it wrote. */
export const WRITE = script("write", `${WRITE_ENTRIES}\nreturn #KEYS - 2\n`);

/** Removes entries. KEYS[3..] are their keys, ARGV their ids; returns how many the index held. */
export const REMOVE = script(
  "remove",
  `
prune(clock())
local removed = 0
in_chunks(ARGV, 1, function(i, j)
  removed = removed + redis.call('ZREM', index, unpack(ARGV, i, j))
  redis.call('ZREM', gone, unpack(ARGV, i, j))
  redis.call('DEL', unpack(KEYS, i + 2, j + 2))
end)
return removed
`,
);

/** Counts entries: all of them when ARGV[1] is empty, else those with expiresAt > ARGV[1]. */
export const COUNT = script(
  "count",
  `
prune(clock())
if ARGV[1] == '' then return redis.call('ZCARD', index) end
return redis.call('ZCOUNT', index, '(' .. ARGV[1], '+inf')
`,
);

/**
 * Removes the given entries (KEYS[3..] their keys, ARGV[2..] their ids) that the index still holds:
 * all of them when ARGV[1] is empty, else those with expiresAt <= ARGV[1] (one saved again since
 * it was listed is kept). Returns how many it removed.
 */
export const CLEAR_ENTRIES = `
prune(clock())
local limit = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', index, ARGV[i])
  if score and (limit == nil or tonumber(score) <= limit) then
    forget(ARGV[i])
    redis.call('DEL', KEYS[i + 1])
    removed = removed + 1
  end
end
return removed
`;
export const CLEAR = script("clear", CLEAR_ENTRIES);
