/**
 * The multi-process conformance test on Redis, and what only Redis can tell afterwards: the index,
 * the expiry set and the entries agree, key for key.
 */
import { Redis } from "ioredis";
import { expect } from "vitest";
import type { RedisRepository } from "../../src/index.js";
import { describeProcessConformance } from "../conformance/processes.js";
import { keysUnder, pingRedis, REDIS_URL, removePrefix, uniquePrefix } from "../helpers/redis.js";

const unavailable = await pingRedis();
if (unavailable !== undefined && process.env.CI) {
  throw new Error(`Redis must answer at ${REDIS_URL} in CI: ${unavailable}`);
}

const prefix = uniquePrefix();

describeProcessConformance({
  name: "redis",
  skip: unavailable === undefined ? undefined : `no Redis at ${REDIS_URL} (${unavailable})`,
  location: async () => ({ value: REDIS_URL, options: { prefix, timeout: 10_000 } }),
  cleanup: async () => {
    await removePrefix(prefix);
  },
  verify: async (cache, expected) => {
    const repo = cache.get("shared") as RedisRepository;
    const raw = new Redis(REDIS_URL);
    try {
      const keys = await keysUnder(raw, prefix);
      const entries = keys.filter((key) => key.startsWith(`${repo.keys.base}e:`));
      expect(entries).toHaveLength(expected);
      expect(keys).toHaveLength(expected + 3); // two sorted sets and the hash of repository records
      const indexed = await raw.zrange(repo.keys.index, 0, -1);
      expect(new Set(indexed.map((id) => repo.keys.entry(id)))).toEqual(new Set(entries));
      expect(await raw.zcard(repo.keys.gone)).toBe(expected);
    } finally {
      raw.disconnect();
    }
  },
});
